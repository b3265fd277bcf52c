"""Research tools: sign types re-learnt from summaries, --sign-types, scorers compared."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from painsign_cli import run_painsign
from scipy.stats import pearsonr
from synthetic import render_video

from painsign.cli import analyze_cmd, cluster_cmd, compare_cmd, monitor_cmd
from painsign.errors import InputError
from painsign.monitor.engine import MonitorEngine
from painsign.research.cluster import (
    fit_sign_types,
    gather_windows,
    load_sign_types,
)
from painsign.research.compare import compare_scorers
from painsign.signal import LearnedSignTypes, NearestCentroidSignTypes

#: Three well-separated (entropy, crossings per 20 s) groups, near the paper's Table 3.
GROUPS = {"stable": (0.4, 0.2), "irregular": (2.0, 2.6), "unstable": (2.8, 8.5)}


def parser_with(*modules) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="painsign")
    parser.add_argument("--models", default=None)
    parser.add_argument("--debug", action="store_true")
    sub = parser.add_subparsers(dest="command")
    for module in modules:
        module.register(sub)
    return parser


def window(t0, entropy, crossings, sign_type="stable", length=20.0):
    return {
        "t0": t0,
        "t1": t0 + length,
        "mean": 0.3,
        "entropy": entropy,
        "crossings": crossings,
        "sign_type": sign_type,
    }


def write_summary(path: Path, scorers: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"video": "x.mp4", "fps": 10.0, "scorers": scorers}))
    return path


def group_windows(rng, centres: dict, per_group: int, t_start=0.0):
    """Windows drawn around each centre (integer crossings) and their true labels."""
    windows, truth = [], []
    for name, (e, c) in centres.items():
        for _ in range(per_group):
            entropy = float(np.clip(rng.normal(e, 0.12), 0.0, 3.3))
            crossings = int(max(0, round(rng.normal(c, 0.45))))
            windows.append(window(t_start + len(windows), round(entropy, 4), crossings))
            truth.append(name)
    return windows, truth


@pytest.fixture(scope="module")
def grouped_summaries(tmp_path_factory):
    """Three summary.json files, windows around GROUPS, plus unusable windows."""
    tmp = tmp_path_factory.mktemp("summaries")
    rng = np.random.default_rng(3)
    paths, truth = [], []
    for k in range(3):
        nfcs, labels = group_windows(rng, GROUPS, 12)
        vgg, labels_vgg = group_windows(rng, GROUPS, 4)
        # no face in the window (entropy null), and a window too short to type
        nfcs += [window(99.0, None, 0), window(120.0, 0.5, 1, length=3.0)]
        paths.append(
            write_summary(
                tmp / f"video{k}" / "summary.json",
                {
                    "nfcs": {"threshold": 0.5, "windows": nfcs},
                    "vgg": {"threshold": 0.494, "windows": vgg},
                },
            )
        )
        truth += labels + labels_vgg
    return paths, truth


def test_gather_windows_reads_every_file_and_skips_unusable_windows(grouped_summaries):
    paths, truth = grouped_summaries
    x, meta = gather_windows(paths)
    assert x.shape == (len(truth), 2) and len(meta) == len(truth)
    assert {m["scorer"] for m in meta} == {"nfcs", "vgg"}
    assert meta[0]["file"] == str(paths[0]) and meta[0]["t1"] - meta[0]["t0"] == 20.0
    x_nfcs, meta_nfcs = gather_windows(paths, scorer="nfcs")
    assert len(x_nfcs) == 3 * 36 and all(m["scorer"] == "nfcs" for m in meta_nfcs)
    # 10-s windows: crossings counted per 20 s
    p = write_summary(
        paths[0].parent.parent / "short" / "summary.json",
        {"a": {"windows": [window(0.0, 1.0, 3, length=10.0)]}},
    )
    assert gather_windows([p])[0].tolist() == [[1.0, 6.0]]
    # sliding windows 1 s apart overlap; non_overlapping keeps every 20th
    overlapping = [window(float(t0), 0.2, 0) for t0 in range(45)]
    p = write_summary(
        paths[0].parent.parent / "slide" / "summary.json", {"a": {"windows": overlapping}}
    )
    _, kept = gather_windows([p], non_overlapping=True)
    assert [m["t0"] for m in kept] == [0.0, 20.0, 40.0]


def test_cluster_finds_three_named_types_and_writes_a_model(grouped_summaries, tmp_path, capsys):
    paths, truth = grouped_summaries
    x, _ = gather_windows(paths)
    model = fit_sign_types(x)
    assert model.k_ == 3 and model.silhouette_ > 0.6
    names = [str(n) for n in model.names_[model.predict(x)]]
    assert names == truth
    args = parser_with(cluster_cmd).parse_args(
        ["cluster", *map(str, paths), "--out", str(tmp_path / "c")]
    )
    assert cluster_cmd.run(args) == 0
    printed = capsys.readouterr().out
    assert "k = 3" in printed and f"{len(truth)} windows from 3 file(s)" in printed
    for name in GROUPS:
        assert f"  {name}: {truth.count(name)} windows" in printed
    loaded = load_sign_types(tmp_path / "c" / "sign_types.json")
    assert isinstance(loaded, LearnedSignTypes) and loaded.k_ == 3
    np.testing.assert_allclose(loaded.centroids_, model.centroids_)
    assert [str(n) for n in loaded.names_[loaded.predict(x)]] == truth
    png = tmp_path / "c" / "clusters.png"
    assert png.stat().st_size > 20_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_cluster_errors_name_the_problem(grouped_summaries, tmp_path):
    paths, _ = grouped_summaries
    bad = tmp_path / "bad" / "summary.json"
    bad.parent.mkdir()
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"bad[/\\]summary\.json is not a JSON"):
        gather_windows([paths[0], bad])
    with pytest.raises(InputError, match=r"cannot read .*missing.json"):
        gather_windows([tmp_path / "missing.json"])
    with pytest.raises(InputError, match=r"no scorer 'vit'.*nfcs, vgg"):
        gather_windows(paths, scorer="vit")
    empty = write_summary(
        tmp_path / "empty" / "summary.json", {"nfcs": {"windows": [window(0.0, None, 0)]}}
    )
    with pytest.raises(InputError, match=r"no usable window"):
        gather_windows([empty])
    with pytest.raises(InputError, match=r"too few windows"):
        fit_sign_types([[0.1, 0.0], [2.0, 3.0]])
    with pytest.raises(InputError, match=r"no windows"):
        fit_sign_types(np.empty((0, 2)))
    args = parser_with(cluster_cmd).parse_args(["cluster", str(empty), "--out", str(tmp_path)])
    with pytest.raises(InputError, match=r"no usable window"):
        cluster_cmd.run(args)


@pytest.fixture(scope="module")
def odd_model(tmp_path_factory) -> Path:
    """A model in which a calm sign (entropy ~0, no crossings) is *not* stable.

    Its clusters: low entropy with 4 crossings (named indeterminate), high entropy with
    no crossings (stable: the lowest entropy + crossings of the rest) and high entropy with
    many crossings. A flat sign (entropy below about 1.2 bits) is nearest the first:
    indeterminate, where the paper's centroids say stable.
    """
    rng = np.random.default_rng(0)
    x = np.vstack(
        [
            np.column_stack([rng.normal(0.2, 0.05, 20), np.full(20, 4.0)]),
            rng.normal((3.25, 0.0), 0.03, (20, 2)),
            rng.normal((3.0, 12.0), 0.1, (20, 2)),
        ]
    )
    model = fit_sign_types(x)
    assert sorted(map(str, model.names_)) == ["indeterminate", "stable", "unstable"]
    assert model.classify(0.0, 0) == "indeterminate"
    assert NearestCentroidSignTypes().classify(0.0, 0) == "stable"
    path = tmp_path_factory.mktemp("model") / "odd.json"
    model.save(path)
    return path


def test_analyze_uses_the_sign_type_model(tmp_path, odd_model):
    video = tmp_path / "rest.mp4"
    render_video(video, [], 8.0, 10.0)
    out = tmp_path / "out"
    r = run_painsign(
        "analyze", video, "--out", out, "--quiet", "--no-figure", "--sign-types", odd_model
    )
    assert r.returncode == 0, r.stderr
    nfcs = json.loads((out / "summary.json").read_text())["scorers"]["nfcs"]
    duration = nfcs["windows"][0]["t1"] - nfcs["windows"][0]["t0"]
    # the default would call this sign stable; the model calls it indeterminate
    default = NearestCentroidSignTypes().classify(nfcs["entropy"], nfcs["crossings"], duration)
    assert default == "stable"
    assert nfcs["sign_type"] == "indeterminate" and nfcs["action"] == "human review"
    assert [w["sign_type"] for w in nfcs["windows"]] == ["indeterminate"]


def test_monitor_engine_types_windows_with_the_model(odd_model):
    model = load_sign_types(odd_model)
    source = SimpleNamespace(info=SimpleNamespace(fps=10.0), live=True)
    analyzer = SimpleNamespace(scorers=[SimpleNamespace(name="nfcs", threshold=0.5)])
    engine = MonitorEngine(source, analyzer, classifier=model)
    stream = engine._tracks[0].stream
    assert stream.classifier is model and engine._classifier is model
    for k in range(220):
        stream.push(k / 10.0, 0.15)
    assert [str(w.sign_type) for w in stream.new_windows()][:1] == ["indeterminate"]
    default = MonitorEngine(source, analyzer)._tracks[0].stream.classifier
    assert isinstance(default, NearestCentroidSignTypes)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, r"sign-type model .*nope\.json not found"),
        ("{broken", "bad sign-type model .*model.json"),
        ('{"format": "something else"}', "bad sign-type model .*model.json.*not a painsign"),
        (
            '{"format": "painsign.signtypes.SignTypeModel", "version": 1, "params": {}}',
            "bad sign-type model .*model.json: missing or bad field",
        ),
    ],
)
def test_bad_sign_type_model_is_an_input_error(tmp_path, content, message):
    path = tmp_path / ("nope.json" if content is None else "model.json")
    if content is not None:
        path.write_text(content)
    video = tmp_path / "v.mp4"
    args = parser_with(analyze_cmd, monitor_cmd).parse_args(
        ["analyze", str(video), "--sign-types", str(path)]
    )
    with pytest.raises(InputError, match=message) as info:
        analyze_cmd.run(args)
    assert info.value.exit_code == 2
    args = parser_with(analyze_cmd, monitor_cmd).parse_args(
        ["monitor", "--video", str(video), "--sign-types", str(path), "--no-record"]
    )
    with pytest.raises(InputError, match=message):
        monitor_cmd.build_engine(args)


# -- compare ---------------------------------------------------------------------------


def write_analysis(folder: Path, signs: dict, windows: dict, types: dict) -> Path:
    """summary.json + frames.csv with the given smoothed signs ``p_NAME``."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(next(iter(signs.values())))
    t = np.arange(n) / 10.0
    with open(folder / "frames.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["frame", "t", "face", *(c for s in signs for c in (f"p_raw_{s}", f"p_{s}"))])
        for i in range(n):
            face = int(all(np.isfinite(p[i]) for p in signs.values()))
            w.writerow(
                [
                    i,
                    f"{t[i]:.4f}",
                    face,
                    *(f"{v:.4f}" for p in signs.values() for v in (p[i], p[i])),
                ]
            )
    scorers = {
        name: {
            "display_name": name.upper(),
            "threshold": 0.5,
            "mean": 0.4,
            "prediction": False,
            "sign_type": types[name],
            "action": "no action",
            "windows": windows[name],
        }
        for name in signs
    }
    return write_summary(folder / "summary.json", scorers)


def test_compare_correlation_and_agreement(tmp_path, capsys):
    rng = np.random.default_rng(7)
    n = 400
    a = np.clip(0.5 + 0.4 * np.sin(np.arange(n) / 15.0) + rng.normal(0, 0.02, n), 0, 1)
    a[50:60] = np.nan  # no face
    b = 1.0 - a
    c = np.clip(0.6 * a + 0.4 * rng.random(n), 0, 1)
    c[300:320] = np.nan
    kinds = ["stable", "irregular", "unstable"]
    wa = [window(float(k), 1.0, 2, kinds[k % 3]) for k in range(10)]
    wb = [window(float(k), 1.0, 2, kinds[k % 3] if k < 7 else "indeterminate") for k in range(10)]
    wb.append(window(10.0, 1.0, 2, "stable"))  # no partner window in a
    wc = [window(float(k) + 0.5, 1.0, 2) for k in range(5)]  # no shared t0 at all
    summary = write_analysis(
        tmp_path / "run",
        {"a": a, "b": b, "c": c},
        {"a": wa, "b": wb, "c": wc},
        {"a": "irregular", "b": "irregular", "c": "stable"},
    )
    result = compare_scorers(summary)
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    assert list(pairs) == [("a", "b"), ("a", "c"), ("b", "c")]
    ab, ac, bc = pairs["a", "b"], pairs["a", "c"], pairs["b", "c"]
    # the CSV holds 4 decimals; 1 - a is still exactly anti-correlated
    assert ab["pearson_r"] == pytest.approx(-1.0, abs=1e-9) and ab["n_samples"] == n - 10
    a4, c4 = np.round(a, 4), np.round(c, 4)
    ok = np.isfinite(a4) & np.isfinite(c4)
    assert ac["n_samples"] == int(ok.sum()) == n - 30
    assert ac["pearson_r"] == pytest.approx(np.corrcoef(a4[ok], c4[ok])[0, 1], abs=1e-12)
    assert ac["pearson_r"] == pytest.approx(pearsonr(a4[ok], c4[ok])[0], abs=1e-12)
    assert bc["pearson_r"] == pytest.approx(-ac["pearson_r"], abs=1e-3)
    assert ab["window_agreement"] == pytest.approx(0.7) and ab["n_windows"] == 10
    assert ac["window_agreement"] is None and ac["n_windows"] == 0
    assert ab["same_type"] and not ac["same_type"]
    assert (ac["sign_type_a"], ac["sign_type_b"]) == ("irregular", "stable")
    assert result["scorers"]["c"]["display_name"] == "C"

    args = parser_with(compare_cmd).parse_args(
        ["compare", str(summary), "--out", str(tmp_path / "cmp")]
    )
    assert compare_cmd.run(args) == 0
    printed = capsys.readouterr().out
    assert "-1.000" in printed and "70% of 10" in printed
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert saved["pairs"][0]["pearson_r"] == pytest.approx(-1.0)
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_identical_signs_correlate_perfectly_and_constant_ones_are_undefined(tmp_path):
    p = np.linspace(0.1, 0.9, 50)
    summary = write_analysis(
        tmp_path,
        {"x": p, "y": p.copy(), "z": np.full(50, 0.3)},
        {"x": [], "y": [], "z": []},
        {"x": "stable", "y": "stable", "z": "stable"},
    )
    pairs = compare_scorers(summary)["pairs"]
    assert pairs[0]["pearson_r"] == pytest.approx(1.0)
    assert pairs[1]["pearson_r"] is None and pairs[2]["pearson_r"] is None


def test_compare_errors(tmp_path):
    one = write_analysis(
        tmp_path / "one", {"nfcs": np.full(20, 0.2)}, {"nfcs": []}, {"nfcs": "stable"}
    )
    with pytest.raises(InputError, match=r"1 scorer.*nfcs.*two or more"):
        compare_scorers(one)
    two = write_analysis(
        tmp_path / "two",
        {"a": np.full(9, 0.2), "b": np.full(9, 0.3)},
        {"a": [], "b": []},
        {"a": "stable", "b": "stable"},
    )
    (tmp_path / "two" / "frames.csv").unlink()
    with pytest.raises(InputError, match=r"cannot read .*two[/\\]frames\.csv"):
        compare_scorers(two)
    (tmp_path / "two" / "frames.csv").write_text("frame,t,p_a\n0,0.0,0.2\n")
    with pytest.raises(InputError, match=r"frames.csv lacks column.*p_b"):
        compare_scorers(two)
    garbage = tmp_path / "garbage" / "summary.json"
    garbage.parent.mkdir()
    garbage.write_bytes(b"\xff\xfe\x00 not json")
    with pytest.raises(InputError, match=r"garbage[/\\]summary\.json is not a JSON"):
        compare_scorers(garbage)
    args = parser_with(compare_cmd).parse_args(["compare", str(tmp_path / "none.json")])
    with pytest.raises(InputError, match=r"cannot read .*none.json"):
        compare_cmd.run(args)
