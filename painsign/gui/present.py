"""What the dashboard says, computed from a :class:`~painsign.monitor.state.MonitorState`.

Plain Python and numpy, no Qt: the texts, the gaps to shade and the rows of the lists are
decided here and tested without a window. The rule behind them: **the screen never shows
a number the pipeline did not just measure**. Unless the input is ``"live"`` (a fresh
frame with a face), the value is ``-?-``, the picture is replaced by a grey frame with the
reason, and the plots show a gap.

The engine's newer fields (``input_state``, ``input_reason``, ``frame_stale``, ``gaps``,
``trend_gaps``, ``demo_note``) are read with defaults, so the view also works with a state
that lacks them: the input state is then derived from the source status and the face.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

INVALID = "-?-"

#: Input states of the monitor (``MonitorState.input_state``).
INPUT_STATES = (
    "starting",
    "live",
    "no_face",
    "camera_lost",
    "camera_frozen",
    "ended",
    "refused",
    "paused",
)

#: The large text shown in the grey frame for each input state other than ``"live"``.
HEADLINES = {
    "starting": "Waiting for the camera",
    "no_face": "No face in view",
    "camera_lost": "Camera lost",
    "camera_frozen": "Camera frozen",
    "ended": "Recording ended",
    "damaged": "Recording damaged",
    "refused": "Source refused",
    "paused": "Replay paused",
    "stale": "No new frame",
}


@dataclass(frozen=True)
class InputView:
    """How the input is shown: its state, the headline and the detail for the grey frame.

    Attributes
    ----------
    state : str
        One of :data:`INPUT_STATES`.
    headline : str
        Large text for the grey frame; empty when live.
    detail : str
        The engine's reason (``input_reason``), possibly empty.
    """

    state: str
    headline: str
    detail: str

    @property
    def live(self) -> bool:
        """True only when a fresh frame with a face is being measured."""
        return self.state == "live"


def input_view(state) -> InputView:
    """How the snapshot's input state is shown: headline and detail for the grey frame.

    Parameters
    ----------
    state : MonitorState
        The snapshot (``input_state``, ``input_reason``, ``frame_stale``).

    Returns
    -------
    InputView
    """
    name, detail = state.input_state, state.input_reason
    if name == "live" and state.frame_stale:
        return InputView("stale", HEADLINES["stale"], detail)
    if name == "ended" and getattr(state, "damage", None):
        return InputView(name, HEADLINES["damaged"], detail)
    return InputView(
        name, "" if name == "live" else HEADLINES.get(name, name.replace("_", " ")), detail
    )


def value_text(state, view=None) -> str:
    """The number to show: two decimals when live and measured, else ``-?-``.

    Parameters
    ----------
    state : MonitorState
        The snapshot.
    view : ScorerView, optional
        The scorer shown; the first one when omitted.

    Returns
    -------
    str
        ``"0.42"`` or :data:`INVALID` (also while the scorer is failing).
    """
    scorer = view if view is not None else (state.scorers[0] if state.scorers else None)
    current = getattr(scorer, "current", None)
    if (
        not input_view(state).live
        or current is None
        or not math.isfinite(current)
        or getattr(scorer, "failure", None)
    ):
        return INVALID
    return f"{current:.2f}"


def mmss(seconds: float, countdown: bool = False) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour) of a non-negative duration.

    Parameters
    ----------
    seconds : float
        The duration; negative counts as 0.
    countdown : bool
        Round up (a countdown shows 0:01 until it reaches 0), else down.

    Examples
    --------
    >>> mmss(112.4), mmss(5), mmss(3725), mmss(119.2, countdown=True)
    ('1:52', '0:05', '1:02:05', '2:00')
    """
    if not math.isfinite(seconds):
        return "-:--"
    s = math.ceil(seconds - 1e-6) if countdown else math.floor(seconds)
    h, rest = divmod(max(0, int(s)), 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _priority_name(priority) -> str:
    name = getattr(priority, "name", priority)
    return str(name).upper() if name else ""


def banner_text(state) -> str | None:
    """The banner: the highest alarm, and the audio pause with what sounds through it.

    Returns
    -------
    str or None
        E.g. ``"SUSTAINED PAIN  high"`` or ``"Audio paused 1:52 - HIGH alarm sounding:
        Sustained pain"``; None when there is no alarm and no pause.

    Parameters
    ----------
    state : MonitorState
        The snapshot.
    """
    alarms = list(state.alarms)
    paused = float(state.pause_remaining_s)
    through = breakthrough(state) if paused > 0 else None
    parts = []
    if alarms and (through is None or alarms[0].label != through.label):
        top = alarms[0]
        words = {"latched": "latched", "acknowledged": "acknowledged"}.get(str(top.state), "")
        head = f"{top.label.upper()} \u00b7 {_priority_name(top.priority).lower()}"
        parts.append(head + (f", {words}" if words else ""))
    if paused > 0:
        text = f"Audio paused {mmss(paused, countdown=True)}"
        if through is not None:
            pr = _priority_name(through.priority)
            text += f" \u2014 {pr + ' ' if pr else ''}alarm sounding: {through.label}"
        parts.append(text)
    return "   |   ".join(parts) if parts else None


def breakthrough(state):
    """The alarm sounding through an audio pause (the engine's ``breakthrough``), or None.

    Parameters
    ----------
    state : MonitorState
        The snapshot.

    Returns
    -------
    AlarmState or None
        Something with ``label`` and ``priority``: the present alarm of that name.
    """
    through = state.breakthrough
    if state.pause_remaining_s <= 0 or not through:
        return None
    for alarm in [state.sounding, *state.alarms]:
        if alarm is not None and alarm.label == through:
            return alarm
    return _Named(through)


@dataclass(frozen=True)
class _Named:
    label: str
    priority: str = ""


def physiological_alarm(state):
    """The highest alarm about the patient (not a technical one), or None.

    Parameters
    ----------
    state : MonitorState
        The snapshot.

    Returns
    -------
    AlarmState or None
    """
    for alarm in state.alarms:
        if not getattr(alarm, "technical", False):
            return alarm
    return None


def action_text(view, state) -> str:
    """The decision-matrix action as neutral advisory text, or "" when an alarm decides.

    The action summarises the last 20-s window; it is advice, not an alarm. While a pain
    alarm (surge or sustained pain) is present the alarm is what to act on, so no action
    text is shown next to it: "no action" beside an active pain alarm would contradict it.

    Parameters
    ----------
    view : ScorerView
        The first scorer's view.
    state : MonitorState
        The snapshot (its alarms and input state).

    Returns
    -------
    str
    """
    action = getattr(view, "action", None)
    if not action or getattr(view, "sign_type", None) is None:
        return ""
    if physiological_alarm(state) is not None:
        return "alarm active: see banner"
    if not input_view(state).live:
        return ""  # no advice from a window that ended before the gap
    return f"20-s window suggests: {action}"


def badge_text(view, state=None) -> str:
    """Sign type in capitals, "(so far)" while provisional, "last:" while not live;
    "scorer failed" while the scorer is failing.

    Parameters
    ----------
    view : ScorerView
        The first scorer's view.
    state : MonitorState, optional
        The snapshot; while its input is not live the type is marked "last:".

    Returns
    -------
    str
    """
    if getattr(view, "failure", None):
        return "scorer failed"
    sign_type = getattr(view, "sign_type", None)
    if sign_type is None:
        return "sign type: after 20 s"
    text = str(sign_type).upper() + (" (so far)" if getattr(view, "provisional", False) else "")
    if state is not None and not input_view(state).live:
        text = "last: " + text
    return text


def legend_name(view) -> str:
    """A scorer's name in the plot legend; "-?- scorer failed" added while it is failing."""
    name = getattr(view, "display_name", "")
    return f"{name} -?- scorer failed" if getattr(view, "failure", None) else name


def alarm_rows(state) -> list[str]:
    """Rows of the active-alarm list: priority, name, state and for how long.

    Parameters
    ----------
    state : MonitorState
        The snapshot.

    Returns
    -------
    list of str
    """
    now = float(state.clock_now)
    rows = []
    for a in state.alarms:
        since = getattr(a, "since", None)
        age = f" for {mmss(now - since)}" if since is not None else ""
        st = str(a.state)
        word = {"latched": ", latched", "acknowledged": ", acknowledged"}.get(st, "")
        rows.append(f"{_priority_name(a.priority)}  {a.label}{word}  {age.strip()}")
    return rows


def log_rows(state, limit: int = 30) -> list[str]:
    """The engine's readable alarm-log rows (``alarm_rows``), newest first, with their time
    and priority.

    Parameters
    ----------
    state : MonitorState
        The snapshot.
    limit : int
        Most rows.

    Returns
    -------
    list of str
    """
    rows = []
    for row in state.alarm_rows[-limit:]:
        pr = _priority_name(row.priority)
        text = row.text if not pr or row.text.upper().startswith(pr) else f"{pr} {row.text}"
        rows.append(f"{mmss(float(row.t))}  {text}" if math.isfinite(float(row.t)) else text)
    return rows[::-1]


def status_text(state, sound_problem: str | None = None) -> str:
    """The status line (elided by the view to the window's width).

    Parameters
    ----------
    state : MonitorState
        The snapshot.
    sound_problem : str, optional
        Why no alarm sound can be played.

    Returns
    -------
    str
    """
    s = state.stats
    latency = "-" if not np.isfinite(s.latency_ms) else f"{s.latency_ms:.0f} ms"
    text = (
        f"t = {mmss(state.elapsed_s)}   {s.source} [{s.source_status}]   input "
        f"{s.input_fps:.1f} fps   processed {s.processed_fps:.1f} fps   latency {latency}"
        f"   dropped {s.dropped}"
        + (f"   undecodable {s.skipped}" if getattr(s, "skipped", 0) else "")
        + f"   {s.provider}"
    )
    if sound_problem:
        text += f"   SOUND: {sound_problem}"
    if state.session_id:
        text += f"   session {state.session_id} in {state.db_path}"
    problem = getattr(state, "recording_problem", None)
    if problem:  # first: the view elides the end of a long line
        text = f"NOT RECORDING: {problem}   " + text
    return text + f"   models: {s.models}"


def merge_intervals(intervals, min_len: float = 0.0) -> list[tuple[float, float]]:
    """Sort and merge overlapping ``(t0, t1)`` intervals; drop those shorter than
    ``min_len`` and any with a non-finite end.

    Parameters
    ----------
    intervals : iterable of (float, float)
        The intervals.
    min_len : float
        Shortest interval kept.

    Returns
    -------
    list of (float, float)
    """
    clean = sorted(
        (float(a), float(b)) for a, b in intervals if np.isfinite(a) and np.isfinite(b) and b > a
    )
    out: list[list[float]] = []
    for a, b in clean:
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out if b - a >= min_len]


def broken_line(t: np.ndarray, p: np.ndarray, max_dt: float):
    """The curve to draw and the gaps in it.

    NaN samples are unmeasured; a step in time longer than ``max_dt`` (an outage without
    samples) gets a NaN inserted so that a line drawn with ``connect="finite"`` breaks
    there instead of bridging the outage.

    Parameters
    ----------
    t, p : numpy.ndarray
        Times (increasing) and values, NaN where unmeasured.
    max_dt : float
        Longest step in time still drawn as connected.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, list of (float, float))
        The times and values to draw, and the gap intervals (NaN runs and outages).
    """
    t = np.asarray(t, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if len(t) == 0:
        return t, p, []
    gaps = []
    bad = ~np.isfinite(p)
    if bad.any():
        edges = np.flatnonzero(np.diff(np.concatenate(([0], bad.astype(np.int8), [0]))))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            t0 = t[start - 1] if start > 0 else t[start]
            t1 = t[stop] if stop < len(t) else t[stop - 1]
            gaps.append((float(t0), float(t1)))
    jumps = np.flatnonzero(np.diff(t) > max_dt)
    if len(jumps):
        gaps.extend((float(t[i]), float(t[i + 1])) for i in jumps)
        t = np.insert(t, jumps + 1, (t[jumps] + t[jumps + 1]) / 2.0)
        p = np.insert(p, jumps + 1, np.nan)
    return t, p, gaps


def plot_gaps(t: np.ndarray, p: np.ndarray, engine_gaps, state, max_dt: float):
    """Curve data and the merged gap intervals of one plot (see :func:`broken_line`).

    The engine's gaps (``MonitorState.gaps``) are joined with the NaN runs and outages
    found in the data and, while the input is not live, with the stretch from the last
    sample to now (an outage still running).

    Parameters
    ----------
    t, p : numpy.ndarray
        The curve.
    engine_gaps : list of (float, float) or None
        ``MonitorState.gaps`` or ``trend_gaps``.
    state : MonitorState
        The snapshot.
    max_dt : float
        Longest step in time drawn as connected.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, list of (float, float))
    """
    t2, p2, gaps = broken_line(t, p, max_dt)
    gaps.extend(tuple(g) for g in (engine_gaps or []))
    now = float(state.elapsed_s)
    if not input_view(state).live and len(t2) and now > t2[-1] + 1e-6:
        gaps.append((float(t2[-1]), now))
    return t2, p2, merge_intervals(gaps)
