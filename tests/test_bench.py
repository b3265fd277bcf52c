"""Pieces of `painsign bench` that must hold whatever the machine's speed."""

from __future__ import annotations

import time

import numpy as np
import onnx
import pytest

from painsign.bench.heavy import GFLOPS, heavy_classifier
from painsign.bench.measure import model_ratios
from painsign.cli.bench_cmd import checks
from painsign.scoring.background import BackgroundScorer
from painsign.scoring.base import FaceFrame, Score
from painsign.scoring.onnx_scorer import OnnxClassifierScorer
from painsign.signal import smooth_sign
from painsign.vision.types import FaceResult


def test_model_ratios_compare_both_runtimes(store):
    rows = model_ratios(store, repeat=3)
    assert [r["model"] for r in rows] == [
        "face_detection_short_range",
        "face_detection_full_range",
        "face_landmark",
    ]
    for r in rows:
        assert r["onnxruntime_ms"] > 0 and r["litert_ms"] > 0
        assert r["ratio"] == pytest.approx(r["onnxruntime_ms"] / r["litert_ms"], rel=0.02)


def test_heavy_classifier_is_heavy_and_loads(tmp_path):
    path = heavy_classifier(tmp_path)
    g = onnx.load(path).graph
    shapes = {i.name: tuple(i.dims) for i in g.initializer}
    flops = 2 * (
        224 * 224 * np.prod(shapes["w1"])
        + 224 * 224 * np.prod(shapes["w2"])
        + 112 * 112 * np.prod(shapes["w3"])
        + np.prod(shapes["w4"])
    )
    assert flops / 1e9 >= 4.0 and round(flops / 1e9, 2) == GFLOPS
    scorer = OnnxClassifierScorer(path)
    face = FaceResult(True, np.array([100.0, 100.0, 300.0, 300.0]))
    p = scorer.score(FaceFrame(np.zeros((400, 400, 3), np.uint8), face, 0.0)).p
    assert 0.0 <= p <= 1.0


class SlowScorer:
    name, display_name, threshold = "slow", "Slow", 0.5

    def __init__(self, seconds):
        self.seconds, self.seen = seconds, []

    def score(self, frame):
        time.sleep(self.seconds)
        self.seen.append(frame.t)
        return Score(0.8)

    def reset(self):
        self.seen = []


@pytest.mark.slow
def test_background_scorer_keeps_the_pace_and_leaves_gaps():
    slow = SlowScorer(0.05)
    bg = BackgroundScorer(slow)
    face = FaceResult(True, np.array([0.0, 0.0, 10.0, 10.0]))
    ps, started = [], time.perf_counter()
    for i in range(60):  # 30 fps for 2 s
        ps.append(bg.score(FaceFrame(np.zeros((8, 8, 3), np.uint8), face, i / 30)).p)
        time.sleep(1 / 30)
    elapsed = time.perf_counter() - started
    bg.close()
    assert elapsed < 3.0  # the caller was never held up by the 50-ms scorer
    got = np.isfinite(ps)
    assert 10 <= got.sum() <= 40 and not got.all()  # about one result per 50 ms
    assert all(p == 0.8 for p in np.array(ps)[got])
    _, smooth = smooth_sign(ps, fps=30)
    assert np.isfinite(smooth[np.argmax(got) :]).all()  # gaps interpolated like no-face
    assert slow.seen == sorted(slow.seen)  # always the newest frame, in order


def test_checks_flag_missed_targets():
    result = {
        "models": [{"model": "m", "ratio": 1.5}],
        "replay": {"x_real_time": 12.0},
        "live": {
            "processed_fps": 30.0,
            "latency_p95_ms": 150.0,
            "cpu_cores": 0.5,
            "rss_end_mb": 300.0,
        },
    }
    c = checks(result)
    assert not c["m ort/litert"]["met"] and c["replay x real time"]["met"]
    assert not c["live latency p95 ms"]["met"] and c["live rss MB"]["met"]


def test_bench_without_onnx_skips_the_heavy_run_with_a_clear_message(monkeypatch, capsys):
    """Outside the dev install there is no 'onnx' package: the heavy run says so."""
    import sys

    from painsign.cli import bench_cmd

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    said = []
    out = bench_cmd.heavy_run("unused.mp4", 1.0, None, said.append)
    assert out == {"skipped": bench_cmd.NO_ONNX} and "pip install onnx" in said[0]
    result = {
        "models": [],
        "replay": {"x_real_time": 12.0, "video_s": 1, "wall_s": 1, "frames_per_s": 30},
        "live": {
            "processed_fps": 30.0,
            "input_fps": 30.0,
            "latency_p50_ms": 10,
            "latency_p95_ms": 20,
            "cpu_cores": 0.5,
            "rss_end_mb": 300,
            "dropped": 0,
        },
        "live_heavy": out,
        "provider": "CPUExecutionProvider",
        "stages_ms": {"detect_ms": 1.0},
    }
    result["checks"] = bench_cmd.checks(result)
    assert not any(k.startswith("heavy") for k in result["checks"])
    bench_cmd.print_table(result)
    assert "live + heavy classifier: skipped" in capsys.readouterr().out


def test_live_run_with_a_heavy_classifier_reports_its_rate(tmp_path, store):
    from painsign.bench.measure import live_run
    from painsign.synth.animator import write_video

    frame = np.zeros((240, 320, 3), np.uint8)
    video = tmp_path / "blank.mp4"
    write_video(video, [frame] * 30, 30.0, (320, 240))
    out = live_run(video, 1.0, store, heavy_model=heavy_classifier(tmp_path))
    assert out["heavy_scorer_fps"] >= 0 and out["processed_fps"] > 0
