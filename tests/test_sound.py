"""Alarm sound adapter: a back end that fails raises "Alarm sound unavailable"; bursts of a
new priority never open with the old tone (issue 10, items 3 and 12)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from monitor_fakes import (
    ScriptedAnalyzer,
    ScriptSource,
)
from painsign_cli import run_painsign

from painsign.alarms import AlarmSettings, FakeClock, Priority
from painsign.gui.sound import STOP_MARGIN_S, SWITCH_GAP_S, AlarmSound
from painsign.monitor.engine import MonitorEngine, MonitorSettings

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo_grimace.mp4"


class FakePlayer:
    """Records play/stop; ``fail`` makes ``failure()`` report a refused sound server."""

    def __init__(self):
        self.calls = []
        self.fail = None

    def play(self, priority):
        self.calls.append(("play", priority))

    def stop(self):
        self.calls.append(("stop", None))

    def failure(self):
        return self.fail


def alarm(priority):
    return SimpleNamespace(priority=priority)


def engine_for_test():
    return MonitorEngine(
        ScriptSource(), ScriptedAnalyzer(lambda t: 0.2), MonitorSettings(), AlarmSettings()
    )


def test_a_back_end_that_cannot_start_raises_the_technical_alarm():
    engine = engine_for_test()

    def no_pulse():
        raise RuntimeError("QtMultimedia unavailable: libpulse.so.0: cannot open")

    sound = AlarmSound(backend=no_pulse, on_problem=engine.report_audio_problem)
    assert not sound.available and "libpulse" in sound.problem
    state = engine.snapshot()
    assert [a.label for a in state.alarms] == ["Alarm sound unavailable"]
    sound.update(alarm(Priority.MEDIUM))  # scheduling goes on, nothing crashes
    assert sound.scheduled[-1][1] == Priority.MEDIUM


def test_a_sound_server_error_reported_later_raises_the_alarm_once():
    engine = engine_for_test()
    player = FakePlayer()
    reports = []
    sound = AlarmSound(
        backend=lambda: player,
        on_problem=lambda m: (reports.append(m), engine.report_audio_problem(m)),
    )
    sound.update(alarm(Priority.LOW))
    assert sound.available and reports == []
    player.fail = "the sound server refused the alarm sounds (no sound server?)"
    sound.update(None)
    sound.update(alarm(Priority.HIGH))
    assert len(reports) == 1 and "sound server" in reports[0]
    assert engine.alarms.get("audio_failure") is not None
    assert ("play", Priority.HIGH) not in player.calls  # not played into a dead server


def test_mute_reports_nothing():
    called = []
    sound = AlarmSound(play=False, on_problem=called.append)
    sound.update(alarm(Priority.HIGH))
    assert called == [] and sound.problem is None


def test_the_real_back_end_here_either_plays_or_says_why():
    from painsign.gui.sound import QtEffects

    try:
        QtEffects()
    except RuntimeError as exc:
        reports = []
        sound = AlarmSound(on_problem=reports.append)
        assert reports == [sound.problem] and "no audio device" in sound.problem
        assert str(exc) in sound.problem
    else:  # a machine with libpulse: the problem, if any, comes from the server
        sound = AlarmSound()
        assert sound.problem is None or "no audio device" in sound.problem


def test_a_new_priority_waits_for_silence_in_the_old_burst_then_stops_it():
    """A stopped effect still plays ~30 ms of its buffer when the next sound starts
    (measured through a PulseAudio null sink): stopping mid-pulse opened the new burst with
    the old tone. So the old burst is stopped only well inside a silent gap."""
    clock = FakeClock()
    player = FakePlayer()
    sound = AlarmSound(clock=clock.now, backend=lambda: player)
    sound.update(alarm(Priority.MEDIUM))  # pulses at 0-0.18, 0.30-0.48, 0.60-0.78 s
    assert player.calls[-1] == ("play", Priority.MEDIUM)
    clock.set(0.35)  # inside the second pulse
    player.calls.clear()
    sound.update(alarm(Priority.HIGH))
    assert player.calls == []  # the pulse plays to its end, and a margin after it
    clock.set(0.48 + STOP_MARGIN_S - 0.01)
    sound.update(alarm(Priority.HIGH))
    assert player.calls == []
    clock.set(0.48 + STOP_MARGIN_S + 1e-9)
    sound.update(alarm(Priority.HIGH))
    assert player.calls == [("stop", None)]  # stopped in the gap, not started yet
    clock.advance(SWITCH_GAP_S)
    sound.update(alarm(Priority.HIGH))
    assert player.calls[-1] == ("play", Priority.HIGH)
    assert [p for _, p, _ in sound.scheduled] == [Priority.MEDIUM, Priority.HIGH]
    # a high burst gives way only in the gap between its two groups (0.70-1.05 s)
    high_start = clock.now()
    clock.set(high_start + 0.12)
    player.calls.clear()
    sound.update(alarm(Priority.LOW))
    assert player.calls == []
    clock.set(high_start + 0.70 + STOP_MARGIN_S + 1e-9)
    sound.update(alarm(Priority.LOW))
    assert player.calls == [("stop", None)]


def test_silence_is_also_reached_in_a_gap_before_muting():
    clock = FakeClock()
    player = FakePlayer()
    sound = AlarmSound(clock=clock.now, backend=lambda: player)
    sound.update(alarm(Priority.LOW))  # one 0.18-s pulse
    clock.set(0.1)
    player.calls.clear()
    sound.update(None)  # acknowledged mid-pulse
    assert player.calls == []
    clock.set(0.18 + STOP_MARGIN_S + 1e-9)
    sound.update(None)
    assert player.calls == [("stop", None)]


@pytest.mark.slow
def test_gui_run_exits_cleanly_and_records_the_audio_alarm(tmp_path):
    """The real window (offscreen) on this machine: exit 0 without os._exit, and when no
    sound can be played the database has the "Alarm sound unavailable" rows."""
    db, shot = tmp_path / "s.db", tmp_path / "shot.png"
    r = run_painsign(
        "monitor",
        "--video",
        DEMO,
        "--exit-after",
        "4",
        "--screenshot",
        shot,
        "--db",
        db,
        "--speed",
        "2",
        "--demo",
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "close the window" in r.stdout and "DEMO" in r.stdout
    assert "Fatal Python error" not in r.stderr and shot.is_file()
    con = sqlite3.connect(db)
    assert con.execute("select ended_utc from sessions").fetchone()[0] is not None
    from painsign.gui.sound import QtEffects

    try:
        QtEffects()
        playable = True
    except RuntimeError:
        playable = False
    rows = con.execute("select priority, state from alarms where kind = 'audio_failure'").fetchall()
    if not playable:
        assert ("low", "active") in rows


def test_qtmultimedia_is_installed():
    """The alarm sounds need QtMultimedia, which is in PySide6-Addons (not Essentials)."""
    import importlib

    importlib.import_module("PySide6.QtMultimedia")
