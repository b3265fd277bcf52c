"""Qt is the optional ``gui`` extra: without it painsign works headless and says how to get
the window.

The child Python runs without ``site`` (``-S``) on a copy of the virtual environment's
site-packages that leaves out PySide6, shiboken6 and pyqtgraph: Qt is really not
installed there, as after ``pip install painsign`` without ``[gui]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo_grimace.mp4"
QT_PARTS = ("pyside6", "shiboken6", "pyqtgraph")


@pytest.fixture(scope="module")
def no_qt_env(tmp_path_factory) -> dict[str, str]:
    """Environment for a child Python whose only packages are this venv's minus Qt."""
    site = Path(sysconfig.get_paths()["purelib"])
    shadow = tmp_path_factory.mktemp("site-without-qt")
    for entry in site.iterdir():
        if entry.name.lower().startswith(QT_PARTS) or entry.suffix == ".pth":
            continue
        (shadow / entry.name).symlink_to(entry)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(shadow)])
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def painsign_without_qt(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-S", "-m", "painsign", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_child_really_has_no_qt(no_qt_env, tmp_path):
    r = subprocess.run(
        [sys.executable, "-S", "-c", "import PySide6"],
        env=no_qt_env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode != 0 and "No module named 'PySide6'" in r.stderr


def test_the_window_without_qt_says_how_to_get_it(no_qt_env, tmp_path):
    r = painsign_without_qt(
        no_qt_env,
        "monitor",
        "--video",
        str(DEMO),
        "--no-record",
        "--screenshot",
        str(tmp_path / "shot.png"),
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("painsign: error:"), r.stderr
    assert "pip install 'painsign[gui]'" in lines[0] and "--headless" in lines[0]
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_headless_monitor_and_the_command_line_work_without_qt(no_qt_env, tmp_path):
    r = painsign_without_qt(
        no_qt_env,
        "monitor",
        "--video",
        str(DEMO),
        "--headless",
        "--no-record",
        "--speed",
        "4",
        "--exit-after",
        "3",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "monitoring" in r.stdout
    r = painsign_without_qt(no_qt_env, "models", "--verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
