"""The live monitor engine, headless: replay, alarms, faults, MJPEG input, recording."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from painsign_cli import run_painsign, start_painsign
from test_capture import FakeCamera
from test_capture_url import MjpegServer

from painsign.alarms import AlarmSettings, FakeClock
from painsign.analysis.frames import FrameAnalyzer
from painsign.capture import FileSource, UrlSource
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.scoring.nfcs import NfcsScorer
from painsign.storage import SessionRecorder
from painsign.vision.tracker import FaceTracker

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "assets" / "demo_grimace.mp4"


def make_engine(source, detector, landmarker, recorder=None, clock=None, **alarm):
    analyzer = FrameAnalyzer(FaceTracker(detector, landmarker), [NfcsScorer(calibration_s=2.0)])
    return MonitorEngine(
        source,
        analyzer,
        MonitorSettings(bed="test bed"),
        AlarmSettings(**alarm),
        recorder=recorder,
        clock=clock,
    )


def wait_for(predicate, timeout=30.0, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_replay_fills_the_sign_raises_a_surge_and_records(tmp_path, detector, landmarker):
    db = tmp_path / "s.db"
    recorder = SessionRecorder(db, bed="test bed", source="demo", scorers=["nfcs"])
    engine = make_engine(FileSource(DEMO, speed=8.0), detector, landmarker, recorder)
    engine.start()
    try:
        assert wait_for(lambda: engine.snapshot().elapsed_s > 10.0, timeout=60)
        state = engine.snapshot()
        view = state.scorers[0]
        assert len(view.t) > 200 and np.nanmax(view.p) > 0.9  # the grimace at 5-9 s
        assert len(view.crossings_t) >= 2
        kinds = [e.kind for e in engine.alarms.log if e.state == "active"]
        assert "pain_surge" in kinds
        assert state.frame is not None and state.frame.shape[1] <= 480
    finally:
        engine.stop()
        recorder.close()
    con = sqlite3.connect(db)
    n, faces = con.execute("select count(*), sum(face) from samples").fetchone()
    assert n > 200 and faces > 200
    assert (
        con.execute(
            "select count(*) from alarms where kind='pain_surge' and state='active'"
        ).fetchone()[0]
        >= 1
    )
    assert con.execute("select ended_utc from sessions").fetchone()[0] is not None


@pytest.mark.slow
def test_invalid_sign_shows_no_number_when_the_face_is_gone(detector, landmarker):
    engine = make_engine(FileSource(DEMO, speed=8.0), detector, landmarker)
    engine.start()
    try:
        # the face leaves the picture at 23-25 s of the demo
        assert wait_for(
            lambda: 23.6 < engine.snapshot().elapsed_s < 24.8, timeout=60, interval=0.01
        )
        state = engine.snapshot()
        assert not state.face and state.scorers[0].current is None
    finally:
        engine.stop()


def test_frozen_camera_raises_a_technical_alarm_and_recovers(detector, landmarker):
    camera = FakeCamera(fps=30.0, stall_s=0.5, frozen_s=0.6)
    clock = FakeClock()
    engine = make_engine(camera, detector, landmarker, clock=clock)
    frozen = np.full((48, 64, 3), 77, np.uint8)
    original = camera._grab
    engine.start()
    try:
        assert camera.wait_for_status("ok", timeout=5)
        camera._grab = lambda: (original(), frozen)[1]
        assert wait_for(lambda: engine.alarms.get("camera_frozen") is not None, timeout=10)
        assert engine.snapshot().scorers[0].current is None
        camera._grab = original
        assert wait_for(lambda: engine.alarms.get("camera_frozen") is None, timeout=10)
        camera.broken = True
        assert wait_for(lambda: engine.alarms.get("camera_lost") is not None, timeout=10)
        camera.broken = False
        assert wait_for(lambda: engine.alarms.get("camera_lost") is None, timeout=15)
        states = [(e.kind, str(e.state)) for e in engine.alarms.log]
        assert ("camera_frozen", "active") in states and ("camera_lost", "active") in states
    finally:
        engine.stop()


class FaceMjpegServer(MjpegServer):
    """Serves the astronaut's face as an IP camera would."""

    def __init__(self, face_bgr):
        super().__init__(size=face_bgr.shape[1::-1], fps=15.0)
        self.face = face_bgr

    def jpeg(self):
        self._count += 1
        img = self.face.copy()
        img[0, 0] = self._count % 256  # a live camera never sends identical frames
        return cv2.imencode(".jpg", img)[1].tobytes()


@pytest.mark.slow
def test_http_mjpeg_camera_is_monitored(tmp_path, detector, landmarker, astronaut_bgr):
    server = FaceMjpegServer(astronaut_bgr).start()
    db = tmp_path / "s.db"
    recorder = SessionRecorder(db, bed="ip cam", source=server.url, scorers=["nfcs"])
    engine = make_engine(UrlSource(server.url), detector, landmarker, recorder)
    engine.start()
    try:
        # the tracker may need a frame or two before it finds the face
        assert wait_for(lambda: engine.frames_processed >= 25, timeout=20)
        state = engine.snapshot()
        assert state.face and state.stats.source_status == "ok"
        assert state.input_state == "live" and state.scorers[0].current is not None
        assert state.stats.input_fps > 5
    finally:
        engine.stop()
        recorder.close()
        server.stop()
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from samples where face = 1").fetchone()[0] >= 20


@pytest.mark.slow
def test_kill_9_of_a_headless_run_keeps_committed_rows(tmp_path):
    db = tmp_path / "s.db"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = start_painsign(
        "monitor", "--video", DEMO, "--headless", "--db", db, "--speed", "2",
        stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        assert wait_for(lambda: db.exists() and _count(db) > 100, timeout=60)
        time.sleep(1.0)
        before = _count(db)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    con = sqlite3.connect(db)
    assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
    n = con.execute("select count(*) from samples").fetchone()[0]
    assert n >= before
    ts = [r[0] for r in con.execute("select t from samples order by t")]
    assert np.all(np.diff(ts) < 0.2)  # no hole in what was committed
    assert con.execute("select ended_utc from sessions").fetchone()[0] is None


def _count(db):
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("select count(*) from samples").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_calibrate_is_refused_with_the_reason_when_the_face_is_gone(detector, landmarker):
    from painsign.scoring.default import default_scorers

    analyzer = FrameAnalyzer(FaceTracker(detector, landmarker), default_scorers(2.0))
    engine = MonitorEngine(FileSource(DEMO, speed=4.0), analyzer, MonitorSettings(bed="b"))
    engine.start()
    try:
        # the face leaves the picture at 23-25 s of the demo
        assert wait_for(
            lambda: 23.4 < engine.snapshot().elapsed_s < 24.4, timeout=60, interval=0.01
        )
        engine.request_calibration()
        assert wait_for(lambda: "refused" in engine.snapshot().baseline_status, timeout=5)
        assert "no face" in engine.snapshot().baseline_status
        assert engine.snapshot().scorers[0].name == "pain"
    finally:
        engine.stop()


@pytest.mark.slow
def test_headless_cli_records_sessions_samples_and_alarms(tmp_path):
    db = tmp_path / "s.db"
    r = run_painsign(
        "monitor", "--video", DEMO, "--headless", "--db", db, "--speed", "4",
        "--bed", "cli bed", "--exit-after", "60", timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"recorded in {db}" in r.stdout
    con = sqlite3.connect(db)
    bed, source, start, end = con.execute(
        "select bed, source, started_utc, ended_utc from sessions"
    ).fetchone()
    assert bed == "cli bed" and "demo_grimace" in source and start.endswith("Z") and end
    # three scorers (the default first, then its expression and NFCS parts), every frame
    assert con.execute("select count(*) from samples").fetchone()[0] == 3 * 900
    assert con.execute("select count(*) from samples where scorer = 'pain'").fetchone()[0] == 900
    kinds = {k for (k,) in con.execute("select kind from alarms where state = 'active'")}
    assert "pain_surge" in kinds
    h = run_painsign("history", "--db", db, timeout=60)
    assert h.returncode == 0 and "cli bed" in h.stdout


def test_recording_failure_raises_a_technical_alarm(tmp_path, detector, landmarker):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the database folder should be")
    recorder = SessionRecorder(
        blocker / "s.db", bed="b", source="demo", scorers=["nfcs"], open_timeout=0.5
    )
    engine = make_engine(FileSource(DEMO, speed=8.0), detector, landmarker, recorder)
    engine.start()
    try:
        assert wait_for(lambda: engine.alarms.get("recording_failure") is not None, timeout=20)
    finally:
        engine.stop()
        recorder.close(timeout=1.0)
