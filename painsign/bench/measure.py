"""Measurements of ``painsign bench``: models, stages, replay, live, memory.

Every figure comes from this run on this machine; ratios compare two things measured in
the same run, so a busy machine slows both sides.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from painsign.model_store import ModelStore
from painsign.runtime import create_session, session_provider

MODELS = {
    "face_detection_short_range": 128,
    "face_detection_full_range": 192,
    "face_landmark": 192,
}


def _median_ms(fn, repeat: int, warmup: int = 10) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(times))


def model_ratios(store: ModelStore, repeat: int = 100, threads: int = 1) -> list[dict]:
    """Time each default model in onnxruntime and, when installed, in ai-edge-litert.

    Same input, same thread count, alternating in one run. The TFLite originals are in
    ``models/tflite`` of a source checkout; without them (or without ai-edge-litert,
    a dev dependency) the reference time is reported as missing.
    """
    rows = []
    x_rng = np.random.default_rng(0)
    for name, size in MODELS.items():
        x = x_rng.random((1, size, size, 3), dtype=np.float32)
        session = create_session(store.read_verified(name), name, threads=threads)
        feed = {session.get_inputs()[0].name: np.ascontiguousarray(x.transpose(0, 3, 1, 2))}
        ort_ms = _median_ms(lambda s=session, f=feed: s.run(None, f), repeat)
        ref_ms = None
        tflite = store.folder / "tflite" / f"{name}.tflite"
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            Interpreter = None
        if Interpreter is not None and tflite.is_file():
            it = Interpreter(model_path=str(tflite), num_threads=threads)
            it.allocate_tensors()
            index = it.get_input_details()[0]["index"]

            def run_tflite(it=it, index=index, x=x):
                it.set_tensor(index, x)
                it.invoke()

            ref_ms = _median_ms(run_tflite, repeat)
        rows.append(
            {
                "model": name,
                "onnxruntime_ms": round(ort_ms, 3),
                "litert_ms": None if ref_ms is None else round(ref_ms, 3),
                "ratio": None if ref_ms is None else round(ort_ms / ref_ms, 2),
                "provider": session_provider(session),
            }
        )
    return rows


def stage_times(video: Path, store: ModelStore, frames: int = 120) -> dict:
    """Milliseconds per frame of each stage, measured one after the other on real frames."""
    from painsign.scoring.base import FaceFrame
    from painsign.scoring.nfcs import NfcsScorer
    from painsign.signal import SignStream
    from painsign.video.reader import VideoReader
    from painsign.vision.detector import FaceDetector
    from painsign.vision.expression import ExpressionModel
    from painsign.vision.image import to_rgb
    from painsign.vision.landmarks import (
        FaceLandmarker,
        roi_from_detection,
        roi_from_landmarks,
    )
    from painsign.vision.tracker import steady_roi
    from painsign.vision.types import FaceResult

    t0 = time.perf_counter()
    bgrs = []
    for f in VideoReader(video):
        bgrs.append(f.bgr)
        if len(bgrs) >= frames:
            break
    decode = 1000 * (time.perf_counter() - t0) / len(bgrs)
    detector, landmarker = FaceDetector(store=store), FaceLandmarker(store=store)
    rgbs = [to_rgb(b) for b in bgrs]
    t0 = time.perf_counter()
    for r in rgbs[:60]:
        dets = detector.detect_rgb(r)
    detect = 1000 * (time.perf_counter() - t0) / 60
    roi = roi_from_detection(dets[0])
    meshes = []
    t0 = time.perf_counter()
    for r in rgbs:
        mesh = landmarker.landmarks(r, roi)
        roi = steady_roi(roi, roi_from_landmarks(mesh.points))
        meshes.append(mesh)
    landmarks = 1000 * (time.perf_counter() - t0) / len(rgbs)
    scorer = NfcsScorer(calibration_s=1.0)
    faces = [FaceResult(True, m.box, m.presence, m) for m in meshes]
    t0 = time.perf_counter()
    ps = [
        scorer.score(FaceFrame(r, f, i / 30)).p
        for i, (r, f) in enumerate(zip(rgbs, faces, strict=True))
    ]
    nfcs = 1000 * (time.perf_counter() - t0) / len(rgbs)
    model = ExpressionModel(store)
    t0 = time.perf_counter()
    for r, f in zip(rgbs, faces, strict=True):
        model.infer(r, f.box, f.landmarks.points)
    expression = 1000 * (time.perf_counter() - t0) / len(rgbs)
    stream = SignStream(fps=30.0)
    t0 = time.perf_counter()
    for i, p in enumerate(ps):
        stream.push(i / 30, p)
        stream.new_windows()
    signal = 1000 * (time.perf_counter() - t0) / len(ps)
    return {
        "decode_ms": round(decode, 3),
        "detect_ms": round(detect, 3),
        "landmarks_ms": round(landmarks, 3),
        "nfcs_ms": round(nfcs, 3),
        "expression_ms": round(expression, 3),
        "signal_ms": round(signal, 4),
    }


def replay_speed(video: Path, seconds: float) -> dict:
    """Wall time of ``painsign analyze`` on ``video`` in a fresh process (start-up included)."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "painsign",
                "analyze",
                str(video),
                "--out",
                out,
                "--quiet",
                "--no-figure",
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"painsign analyze failed: {r.stderr.strip()}")
    return {
        "video_s": seconds,
        "wall_s": round(wall, 2),
        "x_real_time": round(seconds / wall, 1),
        "frames_per_s": round(seconds * 30 / wall, 1),
    }


def live_run(
    video: Path, seconds: float, store: ModelStore, heavy_model: Path | None = None
) -> dict:
    """Run the monitor engine on a simulated 30-fps camera; latency, rate, CPU, memory."""
    from painsign.analysis.frames import FrameAnalyzer
    from painsign.bench.camera import VideoCamera
    from painsign.monitor.engine import MonitorEngine
    from painsign.scoring.default import default_scorers
    from painsign.vision.tracker import FaceTracker

    scorers = default_scorers(store=store)
    if heavy_model is not None:
        from painsign.scoring.background import BackgroundScorer
        from painsign.scoring.onnx_scorer import OnnxClassifierScorer

        scorers.append(BackgroundScorer(OnnxClassifierScorer(heavy_model)))
    camera = VideoCamera(video, fps=30.0)
    engine = MonitorEngine(camera, FrameAnalyzer(FaceTracker(store=store), scorers))
    rss_start = peak_rss_mb()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    engine.start()
    samples = []
    stop = threading.Event()

    def sample_rss():
        while not stop.wait(1.0):
            samples.append(current_rss_mb())

    threading.Thread(target=sample_rss, daemon=True).start()
    time.sleep(seconds)
    frames = engine.frames_processed
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stats = camera.stats
    rss_end = current_rss_mb()
    engine.stop()
    stop.set()
    for s in scorers:
        if hasattr(s, "close"):
            s.close()
    lat = np.array(engine.latencies_ms, dtype=float)
    out = {
        "seconds": round(wall, 1),
        "processed_fps": round(frames / wall, 1),
        "input_fps": round(stats.frames_captured / wall, 1),
        "dropped": int(stats.frames_dropped),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
        "latency_p95_ms": round(float(np.percentile(lat, 95)), 1) if len(lat) else None,
        "cpu_cores": round(cpu / wall, 2),
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_peak_mb": round(peak_rss_mb(), 1),
    }
    if heavy_model is not None:
        heavy = scorers[-1]
        out["heavy_scorer_fps"] = round(heavy.completed / wall, 1)
    return out


def current_rss_mb() -> float:
    """Resident memory of this process now, MB (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def soak(video: Path, minutes: float, store: ModelStore) -> dict:
    """Replay ``minutes`` of video through the monitor engine as fast as it goes; RSS growth.

    Memory is read after the first 10 % of the frames (warm caches, full buffers) and at
    the end; growth is the relative difference.
    """
    from painsign.analysis.frames import FrameAnalyzer
    from painsign.bench.camera import VideoCamera
    from painsign.monitor.engine import MonitorEngine
    from painsign.scoring.default import default_scorers
    from painsign.vision.tracker import FaceTracker

    frames = round(minutes * 60 * 30)
    camera = VideoCamera(video, fps=100_000.0)  # as fast as the engine takes frames
    engine = MonitorEngine(
        camera, FrameAnalyzer(FaceTracker(store=store), default_scorers(store=store))
    )
    engine.start()
    t0 = time.perf_counter()
    early = None
    while engine.frames_processed < frames:
        if early is None and engine.frames_processed >= frames // 10:
            early = current_rss_mb()
        time.sleep(0.2)
    end = current_rss_mb()
    wall = time.perf_counter() - t0
    engine.stop()
    early = early or end
    return {
        "video_minutes": minutes,
        "frames": engine.frames_processed,
        "wall_s": round(wall, 1),
        "rss_early_mb": round(early, 1),
        "rss_end_mb": round(end, 1),
        "rss_growth": round(end / early - 1.0, 4),
    }
