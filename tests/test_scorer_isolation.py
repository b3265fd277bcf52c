"""One bad scorer never silences the others: plug-ins that give NaN, inf, 1.7 or fail to
run, and a Python scorer that raises, on real frames, real videos and the real CLI."""

from __future__ import annotations

import csv
import json
import math
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from painsign_cli import run_painsign
from synthetic import neutral_animator, render, render_video
from test_analyze import THREE, _brightness_classifier
from test_onnx_scorer import constant_model, face_frame, scene, write_spec

from painsign.analysis.frames import FaceConfirmation, FrameAnalyzer
from painsign.analysis.replay import analyze_video
from painsign.scoring.background import BUSY, BackgroundScorer
from painsign.scoring.base import Score, ScoreError
from painsign.scoring.default import default_scorers
from painsign.scoring.nfcs import NfcsScorer
from painsign.scoring.onnx_scorer import OnnxClassifierScorer
from painsign.synth.animator import Segment
from painsign.vision.tracker import FaceTracker

FPS = 15.0
BUILT_IN = ("pain", "expression", "nfcs")


def analyze(video, out, *extra):
    return run_painsign("analyze", video, "--out", out, *extra)


def read_columns(out):
    with open(out / "frames.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def plugin(folder, name, values):
    """A plug-in that outputs ``values`` (sigmoid kind) whatever the face."""
    model = constant_model(folder / f"{name}.onnx", values)
    write_spec(folder / f"{name}.json", name=name)
    return model


def crashing_plugin(folder, name="Crash Model"):
    """A plug-in that loads (its input is dynamic) but fails at every run: it reshapes
    the 1x3x8x8 image to 1x7, which onnxruntime refuses while running."""
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("ReduceMean", ["r"], ["m"], keepdims=1, axes=[1]),
        helper.make_node("Sigmoid", ["m"], ["p"]),
    ]
    graph = helper.make_graph(
        nodes,
        "crash",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor("shape", TensorProto.INT64, [2], [1, 7])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = folder / "crash.onnx"
    path.write_bytes(model.SerializeToString())
    write_spec(folder / "crash.json", name=name)
    return path


class Raising:
    """A Python scorer that raises on every ``every``-th call (0: never)."""

    threshold = 0.5

    def __init__(self, name="boom", every=1):
        self.name, self.every, self.calls = name, every, 0

    def score(self, frame):
        self.calls += 1
        if self.every and self.calls % self.every == 0:
            raise RuntimeError("boom")
        return Score(0.25)

    def reset(self):
        self.calls = 0


class Constant:
    """A Python scorer giving ``p`` (and ``reason``) on every frame."""

    threshold = 0.5

    def __init__(self, name, p, reason=None):
        self.name, self.p, self.reason = name, p, reason

    def score(self, frame):
        return Score(self.p, {}, self.reason)

    def reset(self):
        pass


# --- FrameAnalyzer ---------------------------------------------------------------------


def test_each_scorer_fails_alone_in_frame_analyzer(tracker, astronaut_bgr):
    scorers = [
        NfcsScorer(),
        Raising(),
        Constant("nan", math.nan),
        Constant("inf", math.inf),
        Constant("big", 1.7),
        Constant("covered", math.nan, "face covered"),
        Constant("fine", 0.4),
    ]
    analyzer = FrameAnalyzer(tracker, scorers, FaceConfirmation(0.0, 1))
    record, face = analyzer.process(0, 0.0, astronaut_bgr)
    assert face.found and record.face
    assert record.failed == {
        "boom": "RuntimeError: boom",
        "nan": "output NaN",
        "inf": "output inf",
        "big": "output 1.7 out of [0, 1]",
    }
    assert all(math.isnan(record.p_raw[n]) for n in ("boom", "nan", "inf", "big", "covered"))
    assert record.p_raw["fine"] == 0.4 and 0.0 <= record.p_raw["nfcs"] <= 1.0
    assert all(math.isfinite(v) for v in record.actions.values())


def test_a_covered_face_is_not_scorable_not_a_failed_scorer(detector, landmarker, store):
    """NFCS (and so the default score) gives NaN under a hand: a reason, not a failure."""
    truths, frames = render(
        [Segment(2.0, 3.0, occluded=True, ramp_s=0.0)], 2.6, FPS, neutral_animator()
    )
    analyzer = FrameAnalyzer(
        FaceTracker(detector, landmarker), default_scorers(1.0, store), FaceConfirmation(0.0, 1)
    )
    covered = []
    for i, (f, tr) in enumerate(zip(frames, truths, strict=True)):
        record, _ = analyzer.process(i, tr.t, f)
        assert record.failed == {}
        if record.face and tr.t >= 2.0:
            covered.append(record)
    assert covered and all(
        math.isnan(r.p_raw["nfcs"]) and math.isnan(r.p_raw["pain"]) for r in covered
    )
    assert all(math.isfinite(r.p_raw["expression"]) for r in covered)


def test_intermittent_failure_costs_only_its_own_frames(tmp_path, detector, landmarker):
    video = tmp_path / "grimace.mp4"
    render_video(video, [Segment(1.5, 3.5, THREE, ramp_s=0.2)], 5.0, FPS, neutral_animator())

    def run(extra):
        tracker = FaceTracker(detector, landmarker)
        return analyze_video(
            video, FrameAnalyzer(tracker, [NfcsScorer(calibration_s=1.0), *extra]), pipelined=False
        )

    alone, beside = run([]), run([Raising(every=3)])
    a, b = alone.signs["nfcs"], beside.signs["nfcs"]
    np.testing.assert_array_equal(a.p_raw, b.p_raw)
    assert [(e.t, e.kind) for e in a.events] == [(e.t, e.kind) for e in b.events]
    assert a.events and a.frames_failed == 0 and a.failure is None
    boom = beside.signs["boom"]
    faces = beside.frames_with_face
    assert boom.frames_failed == faces // 3 and boom.failure == "RuntimeError: boom"
    scored = boom.p_raw[np.isfinite(boom.p_raw)]
    assert len(scored) == faces - faces // 3 and np.all(scored == 0.25)
    assert boom.whole is not None  # the frames it did score still give its sign


# --- the ONNX plug-in and the background wrapper ------------------------------------------


@pytest.mark.parametrize(
    ("output", "values", "reason"),
    [
        ({"kind": "sigmoid"}, [np.nan], "output NaN"),
        ({"kind": "sigmoid"}, [-np.inf], "output -inf"),
        ({"kind": "logits", "pain_index": 1}, [np.inf, 0.0], r"output \[inf, 0\]"),
        ({"kind": "sigmoid"}, [1.7], r"output 1\.7 out of \[0, 1\].*set output kind 'logit'"),
    ],
)
def test_plugin_output_that_is_no_probability_says_why(tmp_path, output, values, reason):
    rgb, box = scene()
    model = constant_model(tmp_path / "m.onnx", values)
    write_spec(tmp_path / "m.json", output=output)
    with pytest.raises(ScoreError, match=reason):
        OnnxClassifierScorer(model).score(face_frame(rgb, box))


def test_plugin_failing_in_onnxruntime_gives_one_readable_reason(tmp_path):
    rgb, box = scene()
    scorer = OnnxClassifierScorer(crashing_plugin(tmp_path))
    with pytest.raises(ScoreError) as err:
        scorer.score(face_frame(rgb, box))
    text = str(err.value)
    assert text.startswith("onnxruntime: ") and "Reshape" in text and "\n" not in text
    assert "requested shape:{1,7}" in text and "onnxruntime_src" not in text


def test_background_scorer_raises_a_failure_once_and_goes_on():
    class FailsFirst:
        name, threshold = "slow", 0.5

        def __init__(self):
            self.calls = 0

        def score(self, frame):
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("first call fails")
            return Score(0.3)

        def reset(self):
            pass

    bg = BackgroundScorer(FailsFirst())
    rgb, box = scene()
    frame = face_frame(rgb, box)
    outcomes = []
    try:
        end = time.monotonic() + 10
        while time.monotonic() < end and outcomes.count(0.3) < 2:
            try:
                s = bg.score(frame)
                outcomes.append(s.p if math.isfinite(s.p) else s.reason)
            except RuntimeError as exc:
                outcomes.append(str(exc))
            time.sleep(0.005)
    finally:
        bg.close()
    assert outcomes.count("first call fails") == 1
    assert outcomes.count(0.3) == 2
    assert set(outcomes) == {"first call fails", 0.3, BUSY}


# --- painsign analyze ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """The same video with a working plug-in, then with four broken ones beside it."""
    tmp = tmp_path_factory.mktemp("isolation")
    video = tmp / "grimace.mp4"
    render_video(video, [Segment(1.5, 3.5, THREE, ramp_s=0.2)], 5.0, FPS, neutral_animator())
    good = _brightness_classifier(tmp)
    bad = [
        plugin(tmp, "NaN Model", [np.nan]),
        plugin(tmp, "Inf Model", [np.inf]),
        plugin(tmp, "Big Model", [1.7]),
        crashing_plugin(tmp),
    ]
    base = analyze(video, tmp / "base", "--quiet", "--no-figure", "--model", good)
    mixed = analyze(
        video,
        tmp / "mixed",
        "--quiet",
        "--no-figure",
        "--model",
        good,
        *(a for m in bad for a in ("--model", m)),
    )
    return tmp, base, mixed


BAD = {
    "nan_model": "output NaN",
    "inf_model": "output inf",
    "big_model": "output 1.7 out of [0, 1]",
    "crash_model": "onnxruntime: ",
}


def test_broken_plugins_leave_every_other_column_unchanged(bad_runs):
    tmp, base, _ = bad_runs
    assert base.returncode == 0 and base.stderr == "", base.stderr
    one, two = read_columns(tmp / "base"), read_columns(tmp / "mixed")
    for key, values in one.items():
        assert two[key] == values, key
    faces = sum(f == "1" for f in one["face"])
    assert faces > 50
    for name in BAD:
        assert set(two[f"p_raw_{name}"]) == {"nan"}, name


def test_summary_counts_failures_and_the_default_sign_is_unchanged(bad_runs):
    tmp, _, _ = bad_runs
    one = json.loads((tmp / "base" / "summary.json").read_text())
    two = json.loads((tmp / "mixed" / "summary.json").read_text())
    assert one["frames_with_face"] == two["frames_with_face"] > 50
    for name in (*BUILT_IN, "bright_test"):
        assert two["scorers"][name] == one["scorers"][name], name
        assert two["scorers"][name]["frames_failed"] == 0
        assert two["scorers"][name]["failure"] is None
    assert two["scorers"]["pain"]["default"] and two["scorers"]["pain"]["events"]
    for name, reason in BAD.items():
        entry = two["scorers"][name]
        assert entry["frames_failed"] == two["frames_with_face"], name
        assert entry["failure"].startswith(reason), (name, entry["failure"])
        assert entry["mean"] is None and entry["events"] == []


def test_failed_scorers_exit_1_with_one_line_naming_them(bad_runs):
    _, _, mixed = bad_runs
    assert mixed.returncode == 1
    lines = mixed.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("painsign: error: "), mixed.stderr
    for name in BAD:
        assert f"scorer '{name}' failed on " in lines[0]
    assert "frames with a face (output NaN)" in lines[0]
    out = mixed.stdout
    assert "nan_model: scorer failed on " in out and "(output NaN)" in out
    assert "no face found" not in out and "written to" in out


def test_plugin_named_like_a_built_in_or_twice_is_refused_before_the_video(tmp_path):
    pain = plugin(tmp_path, "Pain", [0.5])
    (tmp_path / "b").mkdir()
    twin_a = plugin(tmp_path, "Twin", [0.5])
    twin_b = plugin(tmp_path / "b", "Twin", [0.5])
    missing = tmp_path / "not_there.mp4"
    r = analyze(missing, tmp_path / "out", "--quiet", "--model", pain)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "'pain'" in r.stderr and "built-in" in r.stderr and "Pain.json" in r.stderr
    r = analyze(missing, tmp_path / "out", "--quiet", "--model", twin_a, "--model", twin_b)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "'twin'" in r.stderr and "distinct" in r.stderr
    assert not (tmp_path / "out").exists()
