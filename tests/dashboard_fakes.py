"""Fake engine and snapshots for the dashboard's view tests (no video, no models)."""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np

from painsign.alarms import AlarmManager, FakeClock
from painsign.monitor.state import MonitorState, MonitorStats, ScorerLabel, ScorerView


def scorer_view(
    t=None, p=None, current=0.42, sign_type="stable", action="no action", provisional=False
):
    """A first scorer's view: a sine-ish sign over 60 s unless given."""
    if t is None:
        t = np.arange(0.0, 60.0, 1 / 30)
    if p is None:
        p = 0.5 + 0.4 * np.sin(t / 4.0)
    return ScorerView(
        name="nfcs",
        display_name="NFCS proxy",
        threshold=0.5,
        t=np.asarray(t, float),
        p=np.asarray(p, float),
        crossings_t=np.array([]),
        crossings_p=np.array([]),
        current=current,
        sign_type=sign_type,
        action=action,
        provisional=provisional,
    )


def make_state(input_state="live", reason="", view=None, frame=True, alarms=None, **extra):
    """A MonitorState as the engine would give it."""
    view = view if view is not None else scorer_view()
    image = np.zeros((240, 320, 3), np.uint8)
    image[60:180, 100:220] = (40, 200, 40)  # a green "face box" area
    trend_t = np.arange(0.0, 60.0)
    state = MonitorState(
        bed="bed 4",
        elapsed_s=float(view.t[-1]) if len(view.t) else 0.0,
        frame=image if frame else None,
        face=input_state == "live",
        scorers=[view],
        trend_t=trend_t,
        trend_p=0.5 + 0.4 * np.sin(trend_t / 4.0),
        actions={"brow_bulge": 0.7},
        calibrated=True,
        calibrating=False,
        alarms=alarms or [],
        stats=MonitorStats(
            source="file demo.mp4",
            source_status="ok",
            provider="CPUExecutionProvider",
            models="NFCS proxy",
        ),
    )
    state.input_state = input_state
    state.input_reason = reason
    state.frame_stale = False
    for k, v in extra.items():
        setattr(state, k, v)
    return state


def _row(entry):
    """An engine-style readable log row of an AlarmLogEntry."""
    from painsign.alarms.model import KINDS
    from painsign.monitor.state import AlarmLogRow

    if entry.kind == "audio_pause":
        name, change = "Audio pause", entry.state
        text = "Audio paused" if entry.state == "paused" else "Audio resumed"
    else:
        name = KINDS[entry.kind].label
        change = {"active": "raised", "inactive": "ended"}.get(entry.state, entry.state)
        text = f"{name} {change}"
    priority = entry.priority.label if entry.priority is not None else None
    return AlarmLogRow(entry.t, entry.kind, name, priority, change, text)


class FakeEngine:
    """What the dashboard calls on an engine; ``state`` is returned by snapshot()."""

    def __init__(self, state=None, duration=30.0):
        self.settings = NS(bed="bed 4", span_s=60.0)
        self.primary_scorer = ScorerLabel("nfcs", "NFCS proxy", 0.5)
        self.clock = FakeClock()
        self.alarms = AlarmManager(self.clock)
        self.calls: list = []
        self.duration = duration
        self.is_replay = True
        self.replay_speed = 1.0
        self.state = state or make_state()

    def snapshot(self):
        st = self.state
        st.alarms = self.alarms.active_alarms() or st.alarms
        st.pause_remaining_s = self.alarms.audio_paused_remaining()
        st.sounding = self.alarms.sounding()
        st.visual = self.alarms.visual()
        paused = st.pause_remaining_s > 0
        st.breakthrough = st.sounding.label if paused and st.sounding is not None else None
        st.clock_now = self.clock.now()
        st.alarm_rows = [_row(e) for e in self.alarms.log if e.state != "pending"]
        return st

    def replay_duration(self):
        return self.duration

    def request_calibration(self):
        self.calls.append("calibrate")

    def acknowledge(self):
        self.alarms.acknowledge()

    def pause_audio(self, seconds=None):
        self.calls.append("pause_audio")
        self.alarms.pause_audio(seconds)

    def cancel_pause(self):
        self.calls.append("cancel_pause")
        self.alarms.cancel_pause()

    def seek(self, t):
        self.calls.append(("seek", t))

    def pause_replay(self):
        self.calls.append("pause")

    def resume_replay(self):
        self.calls.append("resume")

    def set_replay_speed(self, speed):
        self.calls.append(("speed", speed))

    def restart(self):
        self.calls.append("restart")
