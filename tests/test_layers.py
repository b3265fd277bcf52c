"""The layers of the code base: what each package may import, checked on the real tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from painsign.research.signtype_model import SignTypeModel

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """Run lint-imports on the ``painsign`` package and ``pyproject.toml`` under ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_signal_imports_without_scikit_learn():
    # The run-time signal layer (smoothing, windows, sign types, stream) is needed by
    # analyze and the monitor; scikit-learn (about 1 s to import) only by research.
    t0 = time.perf_counter()
    r = _python(
        "import sys, painsign.signal\n"
        "heavy = [m for m in ('sklearn', 'threadpoolctl', 'matplotlib', 'scipy')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    elapsed = time.perf_counter() - t0
    assert r.returncode == 0, f"{r.stderr}\n(python -c 'import painsign.signal': {elapsed:.2f} s)"


def test_a_learned_sign_type_model_loads_without_scikit_learn(tmp_path):
    # `painsign cluster` writes the model with scikit-learn; analyze and monitor
    # --sign-types read and apply it with numpy only, and the CLI starts without it.
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(c, 0.2, (15, 2)) for c in [(0.5, 0.2), (2.2, 2.6), (2.6, 7)]])
    model = SignTypeModel(random_state=0).fit(x)
    path = tmp_path / "sign_types.json"
    model.save(path)
    r = _python(
        "import sys\n"
        "import painsign.cli\n"
        "from painsign.signal import load_sign_types\n"
        f"m = load_sign_types({str(path)!r})\n"
        "print(m.classify(0.5, 0), m.classify(2.6, 7), m.classify(2.2, 2.6))\n"
        "assert 'sklearn' not in sys.modules, 'sklearn imported'\n"
    )
    assert r.returncode == 0, r.stderr
    expected = [model.classify(0.5, 0), model.classify(2.6, 7), model.classify(2.2, 2.6)]
    assert r.stdout.split() == ["stable", "unstable", "irregular"] == expected


def test_import_contracts_hold_on_this_tree():
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 3 kept, 0 broken." in r.stdout


def _copy_tree(dst: Path) -> Path:
    shutil.copytree(
        ROOT / "painsign",
        dst / "painsign",
        ignore=shutil.ignore_patterns("__pycache__", "_models", "_assets"),
    )
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


@pytest.mark.parametrize(
    "line, contract, chain",
    [
        (
            "from PySide6 import QtCore",
            "Qt (PySide6, pyqtgraph) only in painsign.gui",
            "painsign.signal.smoothing -> PySide6",
        ),
        (
            "import pyqtgraph",
            "Qt (PySide6, pyqtgraph) only in painsign.gui",
            "painsign.signal.smoothing -> pyqtgraph",
        ),
        (
            "from painsign.monitor.engine import MonitorEngine",
            "Layers",
            "painsign.signal.smoothing -> painsign.monitor.engine",
        ),
    ],
)
def test_an_import_across_the_layers_breaks_a_contract(tmp_path, line, contract, chain):
    tree = _copy_tree(tmp_path)
    smoothing = tree / "painsign" / "signal" / "smoothing.py"
    smoothing.write_text(smoothing.read_text() + f"\n{line}  # noqa\n")
    r = _lint_imports(tree)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert f"{contract}" in out and "BROKEN" in out
    broken = [ln for ln in out.splitlines() if ln.endswith("BROKEN")]
    assert len(broken) == 1 and broken[0].startswith(contract), out
    assert chain in out, out


def test_each_colour_is_written_once():
    # Figure colours live in painsign/colours.py and alarm colours in alarms/model.py
    # (gui/theme.py derives its list from Priority); nobody keeps a copy of either.
    from painsign.alarms.model import Priority
    from painsign.colours import ACTION_COLOURS, FIGURE_COLOURS, SIGN_TYPE_COLOURS
    from painsign.gui import theme

    assert theme.ALARM_COLOURS == tuple(
        p.colour for p in (Priority.HIGH, Priority.MEDIUM, Priority.LOW)
    )
    figure = {*FIGURE_COLOURS, *SIGN_TYPE_COLOURS.values(), *ACTION_COLOURS.values()}
    alarm = {p.colour for p in Priority}
    sources = {
        p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8").lower()
        for p in (ROOT / "painsign").rglob("*.py")
    }
    for colour in figure | alarm:
        homes = {"painsign/colours.py"} if colour in figure else set()
        homes |= {"painsign/alarms/model.py"} if colour in alarm else set()
        found = {path for path, text in sources.items() if f'"{colour.lower()}"' in text}
        assert found == homes, colour
