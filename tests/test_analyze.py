"""`painsign analyze` end to end on real video files the tests render."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from painsign_cli import painsign_argv, run_painsign
from synthetic import neutral_animator, render, render_video, write_vfr_video

from painsign.scoring.nfcs import ACTIONS
from painsign.synth.animator import Segment, write_video

FPS = 15.0
THREE = {"brow_bulge": 0.9, "eye_squeeze": 0.9, "open_lips": 0.9, "vertical_stretch": 0.6}
REPO = Path(__file__).resolve().parent.parent


def analyze(video, out, *extra):
    return run_painsign("analyze", video, "--out", out, *extra)


def read_frames(out):
    with open(out / "frames.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def procedure(tmp_path_factory):
    """Rest, a 3-action grimace from 4 s, rest, a hand over the face 9-10 s, rest."""
    tmp = tmp_path_factory.mktemp("procedure")
    segments = [Segment(4.0, 7.0, THREE, ramp_s=0.2), Segment(9.0, 10.0, occluded=True, ramp_s=0.0)]
    video = tmp / "procedure.mp4"
    render_video(video, segments, 12.0, FPS, neutral_animator())
    out = tmp / "report"
    result = analyze(video, out, "--quiet")
    assert result.returncode == 0, result.stderr
    return video, out, result


def test_report_files_columns_and_keys(procedure):
    _, out, result = procedure
    assert {p.name for p in out.iterdir()} == {"frames.csv", "summary.json", "sign.png"}
    rows = read_frames(out)
    assert list(rows[0]) == [
        "frame",
        "t",
        "face",
        "x1",
        "y1",
        "x2",
        "y2",
        *ACTIONS,
        "own_baseline",
        "decoded",
        "p_raw_pain",
        "p_pain",
        "p_raw_expression",
        "p_expression",
        "p_raw_nfcs",
        "p_nfcs",
    ]
    assert len(rows) == 180
    summary = json.loads((out / "summary.json").read_text())
    for key in ("video", "fps", "frames", "frames_with_face", "scorers"):
        assert key in summary
    assert summary["frames"] == 180 and abs(summary["fps"] - FPS) < 0.01
    nfcs = summary["scorers"]["nfcs"]
    for key in (
        "threshold",
        "mean",
        "prediction",
        "entropy",
        "crossings",
        "sign_type",
        "action",
        "events",
        "windows",
    ):
        assert key in nfcs
    assert nfcs["windows"][0].keys() >= {"t0", "t1", "mean", "entropy", "crossings", "sign_type"}
    png = cv2.imread(str(out / "sign.png"))
    assert png is not None and png.shape[1] > 1000
    assert "nfcs" in result.stdout


def test_grimace_is_a_peak_and_a_surge(procedure):
    _, out, _ = procedure
    rows = read_frames(out)
    t = np.array([float(r["t"]) for r in rows])
    scorers = json.loads((out / "summary.json").read_text())["scorers"]
    assert scorers["pain"]["default"] and not scorers["nfcs"]["default"]
    for name in ("pain", "nfcs"):
        p = np.array([float(r[f"p_{name}"]) for r in rows])
        assert p[(t > 5.0) & (t < 7.0)].min() > 0.5, name
        assert p[(t > 2.5) & (t < 4.0)].max() < 0.5, name
        events = scorers[name]["events"]
        surges = [e["t"] for e in events if e["kind"] == "surge"]
        assert surges and abs(surges[0] - 4.0) <= 1.0, name
        assert any(e["kind"] == "drop" and 7.0 <= e["t"] <= 8.5 for e in events), name
        # the NFCS part learns its rest face before the grimace: no event of its own there
        learned = min(float(r["t"]) for r in rows if r["own_baseline"] == "1")
        assert 2.0 < learned < 3.8
        assert not [e for e in events if e["t"] < 3.8], (name, events)


def test_occlusion_gap_is_bridged(procedure):
    _, out, _ = procedure
    rows = read_frames(out)
    gap = [r for r in rows if 9.2 <= float(r["t"]) < 9.8]
    assert gap and all(r["face"] == "0" for r in gap)
    assert all(r["p_raw_nfcs"] == "nan" and r["x1"] == "nan" for r in gap)
    assert all(np.isfinite(float(r["p_nfcs"])) for r in gap)
    # The gap is filled from the measured samples on both sides (the first frame with
    # the hand coming in still shows a face), never beyond them.
    around = [
        float(r["p_raw_nfcs"]) for r in rows if r["face"] == "1" and 8.0 <= float(r["t"]) < 10.8
    ]
    assert all(min(around) <= float(r["p_nfcs"]) <= max(around) for r in gap)


def test_rest_video_is_stable(tmp_path):
    video = tmp_path / "rest.mp4"
    render_video(video, [], 20.0, 10.0)
    r = analyze(video, tmp_path / "out", "--quiet", "--no-figure")
    assert r.returncode == 0, r.stderr
    nfcs = json.loads((tmp_path / "out" / "summary.json").read_text())["scorers"]["nfcs"]
    assert nfcs["sign_type"] == "stable" and nfcs["prediction"] is False
    assert nfcs["action"] == "no action" and nfcs["crossings"] == 0


def test_grimace_every_other_second_is_unstable(tmp_path):
    segments = [Segment(float(s), float(s) + 1.0, THREE, ramp_s=0.1) for s in range(4, 20, 2)]
    video = tmp_path / "alternating.mp4"
    render_video(video, segments, 20.0, 10.0, neutral_animator())
    r = analyze(video, tmp_path / "out", "--quiet", "--no-figure", "--calibration", "2")
    assert r.returncode == 0, r.stderr
    pain = json.loads((tmp_path / "out" / "summary.json").read_text())["scorers"]["pain"]
    assert pain["sign_type"] == "unstable", pain
    assert pain["action"] == "human review" and pain["crossings"] >= 10


def test_video_without_a_face(tmp_path, no_face_bgr):
    video = tmp_path / "coffee.mp4"
    write_video(video, [no_face_bgr] * 20, 10.0, no_face_bgr.shape[1::-1])
    r = analyze(video, tmp_path / "out", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "no face" in r.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["frames_with_face"] == 0 and "no face" in summary["note"]
    assert summary["scorers"]["nfcs"]["sign_type"] is None
    assert (tmp_path / "out" / "sign.png").is_file()


def test_variable_frame_rate_uses_time_stamps(tmp_path):
    truths, frames = render([Segment(2.0, 3.0, THREE, ramp_s=0.0)], 4.0, 20.0)
    keep = [i for i in range(len(frames)) if i % 4 != 3]  # drop every 4th frame
    times = [truths[i].t for i in keep]
    video = tmp_path / "vfr.mkv"
    write_vfr_video(video, [frames[i] for i in keep], times)
    r = analyze(video, tmp_path / "out", "--quiet", "--no-figure")
    assert r.returncode == 0, r.stderr
    rows = read_frames(tmp_path / "out")
    np.testing.assert_allclose([float(x["t"]) for x in rows], times, atol=2e-3)


@pytest.mark.parametrize("kind", ["missing", "empty", "garbage", "truncated"])
def test_bad_video_files_fail_clearly(tmp_path, procedure, kind):
    video = tmp_path / "bad.mp4"
    if kind == "empty":
        video.write_bytes(b"")
    elif kind == "garbage":
        video.write_bytes(b"\x00\x01not a video" * 500)
    elif kind == "truncated":
        data = procedure[0].read_bytes()
        video.write_bytes(data[: len(data) // 2])
    r = analyze(video, tmp_path / "out", "--quiet")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("painsign: error:") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr


def test_bundled_demo_shows_its_grimaces(tmp_path):
    demo = REPO / "assets" / "demo_grimace.mp4"
    assert demo.stat().st_size <= 5_000_000
    r = analyze(demo, tmp_path / "demo", "--quiet")
    assert r.returncode == 0, r.stderr
    rows = read_frames(tmp_path / "demo")
    t = np.array([float(x["t"]) for x in rows])
    scorers = json.loads((tmp_path / "demo" / "summary.json").read_text())["scorers"]
    for name in ("pain", "nfcs"):
        p = np.array([float(x[f"p_{name}"]) for x in rows])
        assert p[(t > 6.5) & (t < 9.0)].min() > 0.5, name  # grimace 5-9 s
        assert p[(t > 19.5) & (t < 23.0)].min() > 0.5, name  # cry 18-23 s
        assert p[(t > 10.5) & (t < 13.0)].max() < 0.5, name
        assert p[t > 26.5].max() < 0.5, name
        # a surge at the grimace and at the cry, none from the hand over the face
        surges = [e["t"] for e in scorers[name]["events"] if e["kind"] == "surge"]
        assert len(surges) == 2, (name, surges)
        assert 5.0 <= surges[0] <= 6.5 and 18.0 <= surges[1] <= 19.5, (name, surges)
    face = np.array([x["face"] == "1" for x in rows])
    assert not face[(t > 23.2) & (t < 24.8)].any()  # the face left the picture


def _brightness_classifier(tmp_path):
    """A tiny ONNX 'classifier': P = sigmoid(8 * (mean pixel - 0.5)) of a 32x32 RGB crop."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
        helper.make_node("Sub", ["m", "half"], ["d"]),
        helper.make_node("Mul", ["d", "gain"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p"]),
        helper.make_node("Reshape", ["p", "shape"], ["prob"]),
    ]
    inits = [
        helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [8.0]),
        helper.make_tensor("shape", TensorProto.INT64, [2], [1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "brightness",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "bright.onnx"
    onnx.save(model, path)
    (tmp_path / "bright.json").write_text(
        json.dumps({"name": "Bright Test", "input_size": [32, 32], "threshold": 0.42})
    )
    return path


def test_plugged_in_classifier_runs_beside_nfcs(tmp_path, procedure):
    video = procedure[0]
    model = _brightness_classifier(tmp_path)
    r = analyze(video, tmp_path / "out", "--quiet", "--no-figure", "--model", model)
    assert r.returncode == 0, r.stderr
    rows = read_frames(tmp_path / "out")
    assert {"p_raw_nfcs", "p_nfcs", "p_raw_bright_test", "p_bright_test"} <= set(rows[0])
    face_rows = [x for x in rows if x["face"] == "1"]
    p = np.array([float(x["p_raw_bright_test"]) for x in face_rows])
    assert np.all((p > 0) & (p < 1)) and p.std() > 0
    assert all(x["p_raw_bright_test"] == "nan" for x in rows if x["face"] == "0")
    scorers = json.loads((tmp_path / "out" / "summary.json").read_text())["scorers"]
    assert scorers["bright_test"]["threshold"] == 0.42
    assert scorers["bright_test"]["display_name"] == "Bright Test"


def test_pipelined_replay_gives_the_same_results(detector, landmarker):
    from painsign.analysis.frames import FrameAnalyzer
    from painsign.analysis.replay import analyze_video
    from painsign.scoring.nfcs import NfcsScorer
    from painsign.vision.tracker import FaceTracker

    analyzer = FrameAnalyzer(FaceTracker(detector, landmarker), [NfcsScorer()])
    one = analyze_video(REPO / "assets" / "demo_grimace.mp4", analyzer, pipelined=False)
    two = analyze_video(REPO / "assets" / "demo_grimace.mp4", analyzer, pipelined=True)
    a, b = one.signs["nfcs"], two.signs["nfcs"]
    np.testing.assert_allclose(a.p_raw, b.p_raw, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(a.p_smooth, b.p_smooth, atol=1e-6, equal_nan=True)
    assert [(e.t, e.kind) for e in a.events] == [(e.t, e.kind) for e in b.events]
    assert [r.actions for r in one.records][100:110] == [r.actions for r in two.records][100:110]


def test_variable_frame_rate_averages_over_one_second_of_mean_rate(tmp_path):
    """Median interval 1/24 s but 26.6 frames per second on average: 27 samples, not 24."""
    from painsign.signal.smoothing import interpolate_gaps, moving_average

    intervals = ([1 / 24] * 6 + [0.0315] * 4) * 12
    times = np.concatenate([[0.0], np.cumsum(intervals)]).tolist()
    _, frames = render([Segment(1.5, 3.0, THREE, ramp_s=0.0)], len(times) / 24, 24.0)
    video = tmp_path / "vfr.mkv"
    write_vfr_video(video, frames[: len(times)], times)
    r = analyze(video, tmp_path / "out", "--quiet", "--no-figure")
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert round(summary["fps"]) == 24  # the median interval
    assert abs(summary["mean_fps"] - 26.6) < 0.1
    assert summary["smoothing_samples"] == 27
    rows = read_frames(tmp_path / "out")
    t = np.array([float(x["t"]) for x in rows])
    assert np.mean(np.diff(t)) == pytest.approx(1 / 26.6, rel=0.01)
    differs = []
    for name in summary["scorers"]:
        p_raw = interpolate_gaps([float(x[f"p_raw_{name}"]) for x in rows])
        p = np.array([float(x[f"p_{name}"]) for x in rows])
        np.testing.assert_allclose(p, moving_average(p_raw, 27), atol=2e-4)
        differs.append(np.abs(p - moving_average(p_raw, 24)).max() > 1e-3)  # 0.9-s window
    assert any(differs)  # the grimace moves at least one scorer's sign


def test_reports_are_private_files(tmp_path, no_face_bgr):
    """Face boxes, thumbnails and pain signs identify a patient: 0600 files, 0700 folder."""
    video = tmp_path / "v.mp4"
    write_video(video, [no_face_bgr] * 10, 10.0, no_face_bgr.shape[1::-1])
    out = tmp_path / "report"
    line = " ".join(["umask 022; exec", *painsign_argv("analyze", video, "--out", out, "--quiet")])
    r = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_mode & 0o777 == 0o700
    files = list(out.iterdir())
    assert {p.name for p in files} == {"frames.csv", "summary.json", "sign.png"}
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)
