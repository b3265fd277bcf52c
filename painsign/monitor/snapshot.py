"""Build the :class:`~painsign.monitor.state.MonitorState` a view polls from an engine.

Called by :meth:`MonitorEngine.snapshot <painsign.monitor.engine.MonitorEngine.snapshot>`
with the engine's state lock held; it only copies (no inference, no disk).
"""

from __future__ import annotations

import math
import time

import numpy as np

from painsign.monitor.calibration import baseline_view
from painsign.monitor.inputs import STALE_INPUT, input_reason
from painsign.monitor.state import MonitorState, MonitorStats, ScorerView
from painsign.scoring.base import display_name
from painsign.signal.live_tracker import LiveSignTracker


def build_state(engine) -> MonitorState:
    """Everything the view shows, copied from ``engine`` (its lock held by the caller)."""
    e = engine
    now = e._clock.now()
    live = e._input == "live"
    views = [
        scorer_view(scorer, track, now, live, e.settings.fresh_s, e._faults.reason(scorer.name))
        for scorer, track in zip(e.analyzer.scorers, e._tracks, strict=True)
    ]
    trend_t, trend_p = e._tracks[0].trend.arrays()
    baseline = baseline_view(e.analyzer.scorers)
    sounding = e.alarms.sounding()
    paused = e.alarms.audio_paused()
    return MonitorState(
        bed=e.settings.bed,
        elapsed_s=now,
        frame=None if e._frame is None else e._frame.copy(),
        face=e._face and live,
        scorers=views,
        trend_t=trend_t,
        trend_p=trend_p,
        actions=dict(e._actions) if live else dict.fromkeys(e._actions, np.nan),
        calibrated=baseline.calibrated,
        calibrating=baseline.calibrating,
        can_calibrate=baseline.available,
        baseline_status=e._calibration_note or baseline.status,
        alarms=e.alarms.active_alarms(),
        alarm_log=list(e._journal.log),
        clock_now=e.clock.now(),
        sounding=sounding,
        visual=e.alarms.visual(),
        pause_remaining_s=e.alarms.audio_paused_remaining(),
        stats=stats(e),
        session_id=getattr(e.recorder, "session_id", None),
        db_path=str(getattr(e.recorder, "path", "")) or None,
        recording_problem=recording_problem(e.recorder),
        ended=e._clock.ended,
        advisory=e._journal.advisory,
        replay=replay_info(e),
        input_state=e._input,
        input_reason=input_reason(
            e._input,
            for_s=now - e._input_since,
            message=e.source.status_message,
            source=e.source.describe(),
            media_t=e._clock.media_t,
            live=e.source.live,
            damage=e._damage,
            ended_early=e.replay_ended_early,
            duration=e.replay_duration(),
        ),
        frame_stale=e._frame is None or e._input in STALE_INPUT,
        gaps=e._gaps.within(now - e.settings.span_s, now),
        trend_gaps=e._gaps.all(now),
        media_t=e._clock.media_t,
        segment=e._clock.segment,
        audio_paused=paused,
        breakthrough=sounding.label if paused and sounding is not None else None,
        demo_note=e.demo_note,
        alarm_rows=list(e._journal.rows),
        damage=e._damage,
    )


def recording_problem(recorder) -> str | None:
    """Why ``recorder`` is failing now, in words; None while it writes (or without one)."""
    if recorder is None or getattr(recorder, "healthy", True):
        return None
    reason = getattr(recorder, "reason", None)
    return (reason() if callable(reason) else "") or "the session database cannot be written"


def scorer_view(
    s, track: LiveSignTracker, now: float, live: bool, fresh_s: float, failure: str | None = None
) -> ScorerView:
    """Scorer ``s``'s view from its live ``track``; ``current`` only while the input is
    live, the value fresh and the scorer not failing (``failure``: why it failed, while its
    alarm holds)."""
    fresh = now - track.last_valid_t <= fresh_s
    span = np.array(track.span, dtype=np.float64).reshape(-1, 2)
    cross = np.array(track.crossings, dtype=np.float64).reshape(-1, 2)
    w = track.sign
    current = (
        track.current
        if live and fresh and failure is None and math.isfinite(track.current)
        else None
    )
    return ScorerView(
        name=s.name,
        display_name=display_name(s),
        threshold=s.threshold,
        t=span[:, 0],
        p=span[:, 1],
        crossings_t=cross[:, 0],
        crossings_p=cross[:, 1],
        current=None if current is None else float(current),
        sign_type=str(w.sign_type) if w is not None else None,
        action=str(w.action) if w is not None else None,
        provisional=track.window is None and w is not None,
        failure=failure,
    )


def stats(engine) -> MonitorStats:
    """Throughput and health for the status line."""
    src_stats = engine.source.stats
    now = time.monotonic()
    recent = [t for t in engine._processed if now - t <= 2.0]
    return MonitorStats(
        input_fps=float(getattr(src_stats, "input_fps", 0.0)),
        processed_fps=len(recent) / 2.0 if len(recent) > 1 else 0.0,
        latency_ms=float(engine._latency),
        dropped=int(getattr(src_stats, "frames_dropped", 0)),
        skipped=int(getattr(engine.source, "frames_skipped", 0)),
        provider=engine.analyzer.tracker.detector.provider,
        source=engine.source.describe(),
        source_status=engine.source.status,
        models=", ".join(display_name(s) for s in engine.analyzer.scorers),
    )


def replay_info(engine) -> dict | None:
    """Replay position, length, pause, speed and segment; None for a live source."""
    duration = engine.replay_duration()
    if duration is None:
        return None
    source = engine.source
    return {
        "position_s": engine._clock.media_t,
        "duration_s": duration,
        "paused": bool(getattr(source, "paused", False)),
        "speed": float(getattr(source, "speed", 1.0)),
        "segment": engine._clock.segment,
        "ended": engine._clock.ended,
    }
