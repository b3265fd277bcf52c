"""The dashboard left running: 2+ minutes of replay, refreshed every 50 ms, no crash.

PySide6 6.12.0 lowered ``None``'s reference count by one on every Qt call that returns
nothing; the dashboard aborted with ``none_dealloc`` after about 30 s. Here a real window
polls a real engine replaying the demo (looped to 150 s, 10 fps, sped up) for as long as
that took to crash, and ``sys.getrefcount(None)`` must not fall.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import pytest

from painsign.alarms import AlarmSettings
from painsign.analysis.frames import FrameAnalyzer
from painsign.capture import FileSource
from painsign.gui.dashboard import Dashboard
from painsign.gui.sound import AlarmSound
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.scoring.nfcs import NfcsScorer
from painsign.vision.tracker import FaceTracker

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo_grimace.mp4"
REPLAY_S = 150.0
FPS = 10.0


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """The demo looped to REPLAY_S seconds at FPS frames per second (every 3rd frame)."""
    cap = cv2.VideoCapture(str(DEMO))
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    step = max(1, round(src_fps / FPS))
    frames = []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % step == 0:
            frames.append(frame)
        i += 1
    cap.release()
    assert frames, "the demo video could not be read"
    path = tmp_path_factory.mktemp("soak") / "long.avi"
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    for k in range(int(REPLAY_S * FPS)):
        out.write(frames[k % len(frames)])
    out.release()
    return path


@pytest.mark.slow
def test_dashboard_runs_two_minutes_of_replay_without_losing_none_refs(
    qtbot, detector, landmarker, long_video
):
    analyzer = FrameAnalyzer(FaceTracker(detector, landmarker), [NfcsScorer(calibration_s=2.0)])
    engine = MonitorEngine(
        FileSource(long_video, speed=4.0), analyzer, MonitorSettings(bed="soak"), AlarmSettings()
    )
    window = Dashboard(engine, AlarmSound(play=False))
    qtbot.addWidget(window)
    window.show()
    refreshes = 0
    original = window.refresh

    def counting_refresh(plots=True):
        nonlocal refreshes
        refreshes += 1
        original(plots)

    window.refresh = counting_refresh
    engine.start()
    try:
        qtbot.waitUntil(
            lambda: (
                window.state is not None
                and window.state.elapsed_s > 5.0
                and window.state.input_state == "live"
            ),
            timeout=30_000,
        )
        live_state = window.state
        before = sys.getrefcount(None)
        started = time.monotonic()
        qtbot.waitUntil(lambda: window.state.elapsed_s >= 120.0, timeout=75_000)
        wall = time.monotonic() - started
        after = sys.getrefcount(None)
    finally:
        engine.stop()
    # The engine's growing data also holds None, which can hide a loss during the run:
    # now alternate two fixed snapshots (every widget changes each time) and count exactly.
    other = engine.snapshot()
    engine.snapshot = iter([live_state, other] * 200).__next__
    for _ in range(20):
        original(True)
    steady = sys.getrefcount(None)
    for _ in range(300):
        original(True)
    settled = sys.getrefcount(None)
    print(
        f"\nsoak: {window.state.elapsed_s:.0f} s of replay in {wall:.0f} s, {refreshes} "
        f"refreshes, getrefcount(None) {before} -> {after}; 300 alternating refreshes "
        f"{steady} -> {settled}"
    )
    assert settled >= steady, "Qt calls lose references to None (a broken Qt binding)"
    assert engine.error is None
    assert refreshes >= 10 * wall and refreshes >= 300  # the 50-ms timer kept refreshing
    # The 6.12.0 bug removed ~80 references per refresh: thousands over this run.
    assert after >= before - 500, (before, after, refreshes)
    assert window.big.value.fits()
