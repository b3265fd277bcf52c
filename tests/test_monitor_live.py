"""Issue 10, engine side: the screen never shows a number the pipeline did not just measure.

Scripted analyzers (no models) make each case exact: gaps stay NaN, alarms are judged on
measured samples only, outages have their length, seeks start segments, the end of a
replay says so, and snapshot() never waits for inference.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from monitor_fakes import ScriptedAnalyzer, ScriptedCamera, ScriptSource, feed
from painsign_cli import run_painsign

from painsign.alarms import AlarmSettings, FakeClock
from painsign.capture import FileSource
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.monitor.inputs import classify_input
from painsign.signal import SignStream
from painsign.storage import SessionRecorder


def wait_for(predicate, timeout=20.0, interval=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def scripted_engine(script, source=None, recorder=None, clock=None, delay_s=0.0, **alarm):
    source = source or ScriptSource()
    engine = MonitorEngine(
        source,
        ScriptedAnalyzer(script, delay_s),
        MonitorSettings(bed="b"),
        AlarmSettings(**alarm),
        recorder=recorder,
        clock=clock,
    )
    return engine, source


def pain_then_gap_then_calm(t):
    if t < 3.0:
        return 0.9
    if t < 3.3:
        return None  # the face is hidden for 0.3 s
    return 0.1


def test_latched_alarm_is_not_reraised_by_values_filled_across_a_gap():
    clock = FakeClock()
    engine, source = scripted_engine(pain_then_gap_then_calm, clock=clock, sustained_pain_s=1.0)
    index = 0
    for second in range(6):
        index = feed(engine, source, second, second + 1, start_index=index)
        clock.advance(1.0)
    sustained = [
        (e.state, e.note)
        for e in engine.alarms.log
        if e.kind == "sustained_pain" and e.state in ("active", "latched")
    ]
    assert [s for s, _ in sustained] == ["active", "latched"], sustained
    # The offline sign interpolates the gap: its 1-s average right after it is above the
    # threshold, which is what re-raised the latched alarm before.
    stream = SignStream(fps=30.0)
    after = [
        s.p_smooth
        for k in range(150)
        for s in stream.push(k / 30, pain_then_gap_then_calm(k / 30) or math.nan)
        if s.t >= 3.3 and s.t < 3.35
    ]
    assert after and max(after) > 0.5
    state = engine.snapshot()
    view = state.scorers[0]
    in_gap = (view.t >= 3.0) & (view.t < 3.3)
    assert in_gap.sum() == 9 and np.isnan(view.p[in_gap]).all()  # no filled values
    assert np.nanmax(view.p[view.t >= 3.3]) == pytest.approx(0.1)  # only what was measured
    assert any(a <= 3.0 < 3.29 <= b for a, b in state.gaps)
    assert state.input_state == "live" and view.current == pytest.approx(0.1)


def test_no_face_blanks_the_value_and_the_trend_and_is_a_gap():
    engine, source = scripted_engine(lambda t: None if 2.0 <= t < 4.0 else 0.3)
    feed(engine, source, 0.0, 3.0)
    state = engine.snapshot()
    assert state.input_state == "no_face" and state.scorers[0].current is None
    assert state.input_reason == "no face for 1 s" and not state.face
    assert not state.frame_stale  # the picture is current, it just has no face
    feed(engine, source, 3.0, 6.0, start_index=90)
    state = engine.snapshot()
    assert state.input_state == "live" and state.input_reason == ""
    trend = dict(zip(state.trend_t, state.trend_p, strict=True))
    assert np.isnan(trend[2.0]) and np.isnan(trend[3.0]) and trend[1.0] == pytest.approx(0.3)
    assert [(round(a, 2), round(b, 2)) for a, b in state.trend_gaps] == [(2.0, 4.0)]


def test_alarm_log_rows_are_named_and_skip_pending(tmp_path):
    clock = FakeClock()
    recorder = SessionRecorder(tmp_path / "s.db", bed="b", source="x", scorers=["nfcs"])
    engine, _ = scripted_engine(lambda t: 0.2, recorder=recorder, clock=clock)
    engine.alarms.set_condition("face_not_seen", True)  # pending for 10 s
    clock.advance(3.0)
    engine.alarms.set_condition("face_not_seen", False)  # ended before its delay
    engine.alarms.raise_event("pain_surge")
    clock.advance(4.0)
    engine.acknowledge()
    engine.alarms.set_condition("pain_surge", False)
    rows = engine.snapshot().alarm_rows
    assert [r.text for r in rows] == [
        "Pain surge raised",
        "Pain surge acknowledged",
        "Pain surge ended after 0 s",
    ]
    assert all("_" not in r.text and r.change != "pending" for r in rows)
    assert [r[1] for r in engine.snapshot().alarm_log] == ["Pain surge"] * 3
    recorder.close()
    states = [
        s
        for (s,) in sqlite3.connect(tmp_path / "s.db").execute(
            "select state from alarms where kind = 'face_not_seen'"
        )
    ]
    assert states == ["pending", "inactive"]  # the database keeps the full detail


def test_pause_is_logged_shows_the_breakthrough_and_can_be_cancelled(tmp_path):
    clock = FakeClock()
    recorder = SessionRecorder(tmp_path / "s.db", bed="b", source="x", scorers=["nfcs"])
    engine, _ = scripted_engine(lambda t: 0.2, recorder=recorder, clock=clock, sustained_pain_s=5.0)
    engine.alarms.raise_event("pain_surge")
    assert engine.pause_audio() is True
    clock.advance(10.0)
    assert engine.pause_audio() is False  # pressing again does not restart 120 s
    state = engine.snapshot()
    assert state.audio_paused and state.pause_remaining_s == pytest.approx(110.0)
    assert state.sounding is None and state.breakthrough is None
    engine.alarms.set_condition("sustained_pain", True)
    clock.advance(6.0)
    state = engine.snapshot()
    assert state.breakthrough == "Sustained pain" and state.sounding.kind == "sustained_pain"
    assert engine.cancel_pause() is True
    state = engine.snapshot()
    assert not state.audio_paused and state.breakthrough is None
    texts = [r.text for r in state.alarm_rows]
    assert "Audio paused for 120 s" in texts and "Audio resumed (pause cancelled)" in texts
    assert "Sustained pain raised (sounds through the pause)" in texts
    assert engine.toggle_pause_audio() is True and engine.toggle_pause_audio() is False
    recorder.close()
    rows = (
        sqlite3.connect(tmp_path / "s.db")
        .execute("select state, note from alarms where kind = 'audio_pause' order by rowid")
        .fetchall()
    )
    assert [s for s, _ in rows] == ["paused", "resumed", "paused", "resumed"]
    assert "cancelled" in rows[1][1]


def test_audio_problem_reaches_the_alarms_the_banner_and_the_database(tmp_path):
    recorder = SessionRecorder(tmp_path / "s.db", bed="b", source="x", scorers=["nfcs"])
    engine, _ = scripted_engine(lambda t: 0.2, recorder=recorder)
    engine.report_audio_problem("no audio device (QtMultimedia unavailable)")
    engine.report_audio_problem("no audio device (QtMultimedia unavailable)")  # once only
    state = engine.snapshot()
    assert [a.label for a in state.alarms] == ["Alarm sound unavailable"]
    assert state.visual == ("#00bcd4", 0.0)  # low priority: cyan, steady
    assert state.alarm_rows[-1].text == "Alarm sound unavailable raised"
    recorder.close()
    rows = (
        sqlite3.connect(tmp_path / "s.db")
        .execute("select kind, priority, state from alarms")
        .fetchall()
    )
    assert rows == [("audio_failure", "low", "pending"), ("audio_failure", "low", "active")]


@pytest.mark.slow
def test_outage_keeps_session_time_running_and_has_its_length(tmp_path):
    db = tmp_path / "s.db"
    recorder = SessionRecorder(db, bed="b", source="cam", scorers=["nfcs"])
    camera = ScriptedCamera(
        fps=30.0, stall_s=0.3, frozen_s=5.0, backoff_initial=0.2, backoff_max=0.4
    )
    engine, _ = scripted_engine(lambda t: 0.2, source=camera, recorder=recorder)
    engine.start()
    try:
        assert wait_for(lambda: engine.snapshot().input_state == "live", timeout=10)
        time.sleep(0.5)
        camera.broken = True
        broke = time.monotonic()
        assert wait_for(lambda: engine.snapshot().input_state == "camera_lost", timeout=5)
        a = engine.snapshot()
        time.sleep(1.0)
        b = engine.snapshot()
        assert b.elapsed_s - a.elapsed_s == pytest.approx(1.0, abs=0.25)  # time runs on
        assert b.scorers[0].current is None and b.frame_stale and not b.face
        assert b.input_reason.startswith("camera lost 1 s")
        assert b.gaps and b.gaps[-1][1] == pytest.approx(b.elapsed_s)
        time.sleep(max(0.0, 2.5 - (time.monotonic() - broke)))
        camera.broken = False
        assert wait_for(lambda: engine.snapshot().input_state == "live", timeout=10)
        time.sleep(0.3)
        state = engine.snapshot()
    finally:
        engine.stop()
        recorder.close()
    p = state.scorers[0].p
    assert np.isnan(p).any() and np.nanmax(p) == pytest.approx(0.2)
    assert np.isnan(state.trend_p).any()
    gap = max(state.gaps, key=lambda g: g[1] - g[0])
    assert gap[1] - gap[0] > 2.0
    rows = {
        (r[0], r[1]): r
        for r in sqlite3.connect(db).execute(
            "select kind, state, t, note from alarms where kind = 'camera_lost'"
        )
    }
    lost_t, back_t = rows["camera_lost", "active"][2], rows["camera_lost", "inactive"][2]
    assert back_t - lost_t > 1.8  # the outage has its length (2.5 s minus the 0.3-s stall)
    assert "ended after" in rows["camera_lost", "inactive"][3]
    ended = [r.text for r in state.alarm_rows if r.kind == "camera_lost" and r.change == "ended"]
    assert ended == [f"Camera lost ended after {back_t - lost_t:.0f} s"]


@pytest.mark.slow
def test_snapshot_never_waits_for_a_slow_scorer():
    camera = ScriptedCamera(fps=30.0, stall_s=2.0, frozen_s=5.0)
    engine, _ = scripted_engine(lambda t: 0.2, source=camera, delay_s=0.2)
    analyzer = engine.analyzer
    engine.start()
    waits = []
    try:
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            if analyzer.busy.is_set():
                t0 = time.perf_counter()
                engine.snapshot()
                waits.append(time.perf_counter() - t0)
            time.sleep(0.01)
    finally:
        engine.stop()
    assert analyzer.calls >= 5 and len(waits) >= 50
    assert max(waits) < 0.05, f"snapshot waited up to {1000 * max(waits):.1f} ms"
    assert float(np.median(waits)) < 0.005


@pytest.fixture(scope="module")
def short_video(tmp_path_factory):
    """A 20-s, 30-fps, 96x64 video of changing noise (the scripted analyzer ignores it)."""
    import cv2

    path = tmp_path_factory.mktemp("video") / "short.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 64))
    rng = np.random.default_rng(0)
    for _ in range(600):
        writer.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    writer.release()
    return path


def test_seek_starts_a_new_segment_and_the_end_of_replay_is_shown(tmp_path, short_video):
    db = tmp_path / "s.db"
    recorder = SessionRecorder(db, bed="b", source="demo", scorers=["nfcs"])
    source = FileSource(short_video, speed=16.0)
    engine, _ = scripted_engine(
        lambda t: 0.2 if t % 10 < 5 else 0.8, source=source, recorder=recorder
    )
    engine.start()
    try:
        assert wait_for(lambda: engine.snapshot().elapsed_s > 12.0)
        before = engine.snapshot()
        assert before.segment == 0 and before.media_t == pytest.approx(before.elapsed_s)
        engine.seek(2.0)
        assert wait_for(
            lambda: engine.snapshot().segment == 1 and engine.snapshot().input_state == "live"
        )
        time.sleep(0.3)
        after = engine.snapshot()
        assert after.elapsed_s > before.elapsed_s  # session time never goes back
        assert 2.0 <= after.media_t < 12.0
        seg_t0 = after.alarm_rows[-1].t if after.alarm_rows[-1].kind == "segment" else None
        assert [r.text for r in after.alarm_rows if r.kind == "segment"] == ["Replay moved to 0:02"]
        assert after.scorers[0].t.min() >= before.elapsed_s  # plot restarted
        assert after.trend_t.size == 0 or after.trend_t.min() >= int(before.elapsed_s)
        assert seg_t0 is None or seg_t0 > before.elapsed_s
        assert wait_for(lambda: engine.snapshot().input_state == "ended", timeout=30)
        end = engine.snapshot()
        assert end.input_reason == "recording ended at 0:19" and end.frame_stale
        assert end.scorers[0].current is None and end.ended and not engine.running
        engine.restart()
        assert wait_for(lambda: engine.snapshot().input_state == "live")
        again = engine.snapshot()
        assert again.segment == 2 and again.media_t < 10 and again.elapsed_s > end.elapsed_s
    finally:
        engine.stop()
        recorder.close()
    con = sqlite3.connect(db)
    ts = [t for (t,) in con.execute("select t from samples order by rowid")]
    assert len(ts) > 300 and np.all(np.diff(ts) > 0)  # never a backwards time
    alarm_ts = [t for (t,) in con.execute("select t from alarms order by rowid")]
    assert alarm_ts == sorted(alarm_ts)
    segs = con.execute("select segment, media_t, reason from segments order by rowid").fetchall()
    assert segs == [(1, 2.0, "seek"), (2, 0.0, "restart")]


def test_input_states_from_the_source_status():
    assert classify_input("starting", False, False) == "starting"
    assert classify_input("reconnecting", False, False) == "refused"
    assert classify_input("failed", False, False) == "refused"
    assert classify_input("reconnecting", True, True) == "camera_lost"
    assert classify_input("frozen", True, True) == "camera_frozen"
    assert classify_input("ended", True, True) == "ended"
    assert classify_input("ok", True, True, paused=True) == "paused"


def test_a_refused_source_shows_its_reason():
    from test_capture_url import MjpegServer

    from painsign.capture import UrlSource

    server = MjpegServer().start()  # its .html path is a camera's login page
    camera = UrlSource(
        server.url.replace("video.mjpg", "login.html"),
        stall_s=1.0,
        backoff_initial=0.2,
        backoff_max=0.5,
    )
    engine, _ = scripted_engine(lambda t: 0.2, source=camera)
    engine.start()
    try:
        assert wait_for(lambda: engine.snapshot().input_state == "refused", timeout=10)
        state = engine.snapshot()
    finally:
        engine.stop()
        server.stop()
    assert state.input_reason.startswith(f"url {camera.url} refused: not an MJPEG stream")
    assert "text/html" in state.input_reason and state.scorers[0].current is None
    assert state.frame is None and state.frame_stale


def test_monitor_model_option_runs_classifiers_in_the_background(tmp_path, short_video):
    pytest.importorskip("onnx")
    from painsign.bench.heavy import heavy_classifier
    from painsign.cli import build_parser
    from painsign.cli.monitor_cmd import build_engine
    from painsign.scoring.background import BackgroundScorer

    model = heavy_classifier(tmp_path)
    args = build_parser().parse_args(
        [
            "monitor",
            "--video",
            str(short_video),
            "--model",
            str(model),
            "--no-record",
            "--headless",
            "--demo",
        ]
    )
    engine, recorder = build_engine(args)
    try:
        *built_in, second = engine.analyzer.scorers
        assert built_in and isinstance(second, BackgroundScorer)
        assert not any(isinstance(s, BackgroundScorer) for s in built_in)
        assert recorder is None and engine.demo_note.startswith("DEMO")
        assert engine.alarms.settings.sustained_pain_s == 3.0
    finally:
        engine.stop()
    assert not second._thread.is_alive()  # stopped with the engine


@pytest.mark.slow
def test_demo_run_shows_every_alarm_priority_and_says_how_to_stop(tmp_path):
    """`make demo`'s monitor run: the demo video's pain lasts a few seconds, so --demo
    shortens the delays (said on screen and in the output) and every priority appears."""

    demo = Path(__file__).resolve().parent.parent / "assets" / "demo_grimace.mp4"
    db = tmp_path / "demo.db"
    r = run_painsign("monitor", "--video", demo, "--headless", "--demo", "--db", db, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "press Ctrl+C to stop" in r.stdout and "DEMO: alarm delays shortened" in r.stdout
    raised = {
        p
        for (p,) in sqlite3.connect(db).execute(
            "select distinct priority from alarms where state = 'active' and kind in "
            "('sustained_pain', 'pain_surge', 'face_not_seen')"
        )
    }
    assert raised == {"high", "medium", "low"}
