"""The monitor with a failing scorer: its own technical alarm, "-?-" and the reason on its
track, a short log, NULL samples; the default sign and the pain alarms go on."""

from __future__ import annotations

import logging
import math
import sqlite3

import numpy as np
import pytest
from painsign_cli import run_painsign
from test_monitor import DEMO, wait_for
from test_onnx_scorer import constant_model, write_spec

from painsign.alarms import AlarmManager, AlarmSettings, FakeClock, Priority
from painsign.analysis.frames import FrameAnalyzer
from painsign.capture import FileSource
from painsign.gui import present
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.monitor.scorer_faults import LOG_EVERY_S, ScorerFaults
from painsign.scoring.base import Score
from painsign.scoring.nfcs import NfcsScorer
from painsign.scoring.onnx_scorer import OnnxClassifierScorer
from painsign.storage import SessionRecorder
from painsign.vision.tracker import FaceTracker


class FailsBetween:
    """Raises on the frames of media time [t0, t1); P = 0.2 elsewhere."""

    threshold = 0.5

    def __init__(self, name, t0, t1):
        self.name, self.display_name, self.t0, self.t1 = name, name, t0, t1

    def score(self, frame):
        if self.t0 <= frame.t < self.t1:
            raise RuntimeError("model server gone")
        return Score(0.2)

    def reset(self):
        pass


def test_failing_scorers_get_their_own_alarm_and_the_pain_alarms_go_on(
    tmp_path, detector, landmarker, caplog
):
    model = constant_model(tmp_path / "mine.onnx", [np.nan])
    write_spec(tmp_path / "mine.json", name="Mine")
    # the replay's session time is its media time: flaky fails from 2 s to 4 s
    scorers = [
        NfcsScorer(calibration_s=2.0),
        OnnxClassifierScorer(model),
        FailsBetween("flaky", 2.0, 4.0),
    ]
    db = tmp_path / "s.db"
    recorder = SessionRecorder(db, bed="b", source="demo", scorers=[s.name for s in scorers])
    engine = MonitorEngine(
        FileSource(DEMO, speed=8.0),
        FrameAnalyzer(FaceTracker(detector, landmarker), scorers),
        MonitorSettings(bed="b"),
        AlarmSettings(),
        recorder=recorder,
    )
    caplog.set_level(logging.INFO, logger="painsign.monitor")
    engine.start()
    try:
        assert wait_for(lambda: engine.alarms.get("scorer_failed_flaky") is not None, 60)
        assert wait_for(lambda: engine.snapshot().elapsed_s > 10.0, timeout=60)
        state = engine.snapshot()
    finally:
        engine.stop()
        recorder.close()
    mine = engine.alarms.get("scorer_failed_mine")
    assert mine is not None and mine.label == "Scorer 'mine' failed"
    assert mine.priority == Priority.MEDIUM and mine.technical and not mine.latching
    # flaky scored again after 4 s: its alarm ended, its value is back
    assert engine.alarms.get("scorer_failed_flaky") is None
    flaky_view = state.scorers[2]
    assert flaky_view.failure is None and flaky_view.current == pytest.approx(0.2)
    # mine: "-?-" and the reason; nfcs (the default) keeps its sign and its alarms
    nfcs_view, mine_view = state.scorers[0], state.scorers[1]
    assert mine_view.current is None and mine_view.failure == "output NaN"
    assert present.value_text(state, mine_view) == present.INVALID
    assert "scorer failed" in present.badge_text(mine_view, state)
    assert len(nfcs_view.t) > 200 and np.nanmax(nfcs_view.p) > 0.9  # grimace at 5-9 s
    active = [e.kind for e in engine.alarms.log if e.state == "active"]
    assert "pain_surge" in active and "inference_error" not in active
    rows = [r.text for r in state.alarm_rows]
    assert "Scorer 'mine' failed raised" in rows and "Scorer 'flaky' failed raised" in rows
    assert any(r.startswith("Scorer 'flaky' failed ended") for r in rows)
    # hundreds of failures, a handful of log lines
    failures = engine._faults.counts
    assert failures["mine"] > 200 and failures["flaky"] > 20
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "scorer 'mine'" in r.getMessage()
    ]
    assert lines == [
        "scorer 'mine' failed: output NaN (its sign shows -?-; the others go "
        "on; further failures are counted once a minute)"
    ]
    about_mine = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "mine" in r.getMessage()
    ]
    assert len(about_mine) <= 3  # that line and the alarm's "active"
    con = sqlite3.connect(db)
    per = dict(con.execute("select scorer, count(*) from samples group by scorer").fetchall())
    assert per["mine"] == per["nfcs"] == per["flaky"] > 200
    assert (
        con.execute(
            "select count(*) from samples where scorer='mine' and p_raw is not null"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(*) from samples where scorer='nfcs' and face=1 and p_raw is not null"
        ).fetchone()[0]
        > 200
    )
    assert (
        con.execute(
            "select count(*) from alarms where kind='scorer_failed_mine' and state='active'"
        ).fetchone()[0]
        == 1
    )


def test_failure_log_is_one_line_then_one_per_minute_per_scorer(caplog):
    alarms = AlarmManager(FakeClock())
    now = [0.0]
    faults = ScorerFaults(alarms, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="painsign.monitor")
    for i in range(3000):  # 30 frames a second for 100 s, every one failing
        now[0] = i / 30
        faults.update("mine", i / 30, "output NaN", scored=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and warnings[0].startswith("scorer 'mine' failed: output NaN")
    assert warnings[1] == (
        f"scorer 'mine' failed on {int(LOG_EVERY_S * 30)} more frames in "
        "the last 60 s (last: output NaN)"
    )
    assert alarms.get("scorer_failed_mine") is not None
    # scoring again for 2 s of session time ends the alarm; a frame without a value
    # (no face, busy) neither fails nor recovers
    faults.update("mine", 101.0, None, scored=False)
    faults.update("mine", 101.0, None, scored=True)
    assert alarms.get("scorer_failed_mine") is not None
    faults.update("mine", 103.0, None, scored=True)
    assert alarms.get("scorer_failed_mine") is None and faults.reason("mine") is None
    assert math.isclose(faults.counts["mine"], 3000)


@pytest.mark.slow
def test_headless_monitor_with_a_failing_plugin_exits_1_naming_it(tmp_path):
    """The CLI runs a plug-in in the background (BackgroundScorer): its failures are
    raised once per job, counted, and the run ends with status 1 and one error line."""
    from synthetic import neutral_animator, render_video

    video = tmp_path / "short.mp4"
    render_video(video, [], 4.0, 15.0, neutral_animator())
    model = constant_model(tmp_path / "mine.onnx", [np.nan])
    write_spec(tmp_path / "mine.json", name="Mine")
    r = run_painsign(
        "monitor", "--video", video, "--model", model, "--no-record", "--headless", timeout=120
    )
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert lines[-1].startswith("painsign: error: scorer 'mine' failed on ")
    assert lines[-1].endswith(" frames (output NaN)")
    assert len([x for x in lines if "mine" in x]) <= 3, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
