"""The Qt dashboard, offscreen with real widgets: replay, alarms, sound, screenshot."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from painsign_cli import run_painsign
from PySide6.QtCore import QPoint, Qt

from painsign.alarms import AlarmSettings, FakeClock, Priority, count_pulses, read_wav
from painsign.analysis.frames import FrameAnalyzer
from painsign.assets import asset_path
from painsign.capture import FileSource
from painsign.gui.dashboard import Dashboard
from painsign.gui.sound import AlarmSound
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.scoring.nfcs import NfcsScorer
from painsign.vision.tracker import FaceTracker

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo_grimace.mp4"


@pytest.fixture()
def make_window(qtbot, detector, landmarker):
    made = []

    def make(speed=8.0, clock=None):
        analyzer = FrameAnalyzer(FaceTracker(detector, landmarker), [NfcsScorer(calibration_s=2.0)])
        engine = MonitorEngine(
            FileSource(DEMO, speed=speed),
            analyzer,
            MonitorSettings(bed="bed 7"),
            AlarmSettings(),
            clock=clock,
        )
        sound = AlarmSound(clock=clock.now if clock else time.monotonic, play=False)
        window = Dashboard(engine, sound)
        qtbot.addWidget(window)
        made.append(engine)
        return engine, window

    yield make
    for engine in made:
        engine.stop()


def test_replay_fills_the_curves_and_shows_value_badge_and_surge(make_window, qtbot):
    engine, window = make_window(speed=8.0)
    window.show()
    engine.start()
    qtbot.waitUntil(
        lambda: window.state is not None and window.state.elapsed_s > 9.0, timeout=60_000
    )
    x, y = window.sign_plot.curves["nfcs"].getData()
    assert len(x) > 200 and np.nanmax(y) > 0.9
    assert window.video.pixmap() is not None and not window.video.pixmap().isNull()
    assert window.big.value.text != "" and "bed 7" in window.bed_label.text()
    assert "fps" in window.status.text()
    qtbot.waitUntil(
        lambda: any(p == Priority.MEDIUM for _, p, _ in window.sound.scheduled), timeout=10_000
    )
    wav = next(s[2] for s in window.sound.scheduled if s[1] == Priority.MEDIUM)
    samples, rate = read_wav(asset_path(wav))
    assert count_pulses(samples, rate) == 3
    qtbot.waitUntil(
        lambda: window.big.badge.text().startswith(
            ("STABLE", "IRREGULAR", "UNSTABLE", "INDETERMINATE")
        ),
        timeout=20_000,
    )


def test_acknowledge_and_pause_under_a_fake_clock(make_window, qtbot):
    clock = FakeClock()
    engine, window = make_window(clock=clock)
    engine.alarms.raise_event("pain_surge")
    window.refresh()
    assert "PAIN SURGE" in window.banner.text()
    assert window.banner.flash_interval_ms == 1000  # medium: 0.5 Hz, 50 % duty
    assert window.sound.scheduled[-1][1] == Priority.MEDIUM
    window.pause_button.click()
    window.refresh()
    assert "Audio paused 2:00" in window.banner.text()
    clock.advance(60)
    window.refresh()
    assert "Audio paused 1:00" in window.banner.text()
    assert engine.alarms.sounding() is None  # visual stays, sound paused
    engine.alarms.set_condition("sustained_pain", True)
    clock.advance(31)
    window.refresh()
    assert engine.alarms.sounding().kind == "sustained_pain"  # high breaks through
    assert "HIGH alarm sounding: Sustained pain" in window.banner.text()
    assert window.banner.flash_interval_ms == 250  # high: 2 Hz
    window.ack_button.click()
    window.refresh()
    assert engine.alarms.sounding() is None
    clock.advance(40)
    engine.alarms.set_condition("sustained_pain", False)
    window.refresh()
    assert [a.kind for a in window.state.alarms] == ["pain_surge"]


def test_calibrate_button_restarts_the_baseline(make_window):
    engine, window = make_window()
    from painsign.video.reader import VideoReader

    def step(frame):  # what the worker does with each frame
        if hasattr(engine, "_process"):
            engine._process(frame)
        else:
            engine._publish(engine._analyse(frame))

    nfcs = engine.analyzer.scorers[0]
    frames = iter(VideoReader(DEMO))
    for _ in range(150):  # the calm face at the start gives the first baseline
        step(next(frames))
        if nfcs.calibrated and not nfcs.calibrating:
            break
    assert nfcs.calibrated and not nfcs.calibrating
    window.calibrate_button.click()
    step(next(frames))
    assert nfcs.calibrating and nfcs.calibrated  # old baseline in use meanwhile
    window.refresh()
    assert "re-calibrating" in window.calibration.full_text


@pytest.mark.slow
def test_monitor_screenshot_shows_the_dashboard(tmp_path):
    shot = tmp_path / "shot.png"
    r = run_painsign(
        "monitor",
        "--video",
        DEMO,
        "--exit-after",
        "8",
        "--screenshot",
        shot,
        "--db",
        tmp_path / "s.db",
        "--speed",
        "1",
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert r.returncode == 0, r.stdout + r.stderr
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[1] >= 1200 and image.shape[0] >= 700
    assert image.std() > 20  # a drawn dashboard, not a blank window


def test_review_advisory_is_shown_and_recorded_but_is_not_an_alarm(make_window, tmp_path):
    import sqlite3

    from painsign.signal import WindowMetrics
    from painsign.storage import SessionRecorder

    engine, window = make_window()
    engine.recorder = SessionRecorder(tmp_path / "s.db", bed="b", source="demo", scorers=["nfcs"])
    hovering = WindowMetrics(0.0, 20.0, 0.52, True, 1.2, 1, "stable", "act")
    engine._review(hovering, 0.5)
    window.refresh()
    assert "Review advised" in window.advisory.full_text
    assert engine.alarms.active_alarms() == []  # an advisory, not an alarm
    clear = WindowMetrics(1.0, 21.0, 0.1, False, 0.3, 0, "stable", "no action")
    engine._review(clear, 0.5)
    window.refresh()
    assert window.advisory.full_text == ""
    engine.recorder.close()
    rows = (
        sqlite3.connect(tmp_path / "s.db")
        .execute("select kind, priority, state from alarms order by rowid")
        .fetchall()
    )
    assert rows == [("needs_review", "advisory", "active"), ("needs_review", "advisory", "cleared")]


def test_end_of_replay_shows_ended_and_restart_replays(make_window, qtbot):
    engine, window = make_window(speed=4.0)
    window.show()
    engine.start()
    qtbot.waitUntil(
        lambda: window.state is not None and window.state.elapsed_s > 1.0, timeout=30_000
    )
    # a click on the groove near its end seeks there
    slider = window.seek
    x = slider.width() - 12
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, slider.height() // 2))
    qtbot.waitUntil(lambda: window.state.input_state == "ended", timeout=30_000)
    window.refresh()
    assert window.big.value.text == "-?-"
    assert window.video.reason == "Recording ended" and not window.video.showing_picture
    assert window.play_button.text() == "Restart"
    window.play_button.click()
    qtbot.waitUntil(
        lambda: window.state.input_state == "live" and (window.state.media_t or 99) < 10.0,
        timeout=30_000,
    )
    assert window.play_button.text() == "Pause"
    assert window.big.value.text != "-?-"
