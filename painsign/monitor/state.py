"""What the monitor shows, as plain data: the view polls it, tests read it.

The invariant behind these fields: **the screen never shows a number the pipeline did not
just measure**. ``ScorerView.current`` is None whenever ``MonitorState.input_state`` is
not ``"live"``; the ``p`` arrays and the trend hold NaN for every sample that was not
measured (no face, camera outage), never an interpolated value; ``gaps`` and
``trend_gaps`` give those stretches for shading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Every value of :attr:`MonitorState.input_state`.
INPUT_STATES: tuple[str, ...] = (
    "starting",  # no frame yet: the source is opening
    "live",  # frames arrive, a face is measured: the only state with a value
    "no_face",  # frames arrive, no face in them
    "camera_lost",  # no new frame for the stall time (reconnecting)
    "camera_frozen",  # identical frames for the frozen time
    "ended",  # a replayed file reached its end (or the source was stopped)
    "refused",  # the source never delivered a frame: cannot open, wrong stream
    "paused",  # a replay paused by the operator
)


@dataclass(frozen=True)
class ScorerLabel:
    """What a view shows of a scorer before any frame: its name, display name, threshold."""

    name: str
    display_name: str
    threshold: float


@dataclass
class ScorerView:
    """One scorer's live sign for the display.

    Attributes
    ----------
    name, display_name : str
        Column key and label.
    threshold : float
        Decision threshold.
    t, p : numpy.ndarray
        The live sign over the display span (``t`` in session seconds). ``p`` is NaN for
        every sample not measured (no face, and a NaN point at the start of each camera
        outage), so a curve drawn with ``connect="finite"`` breaks there: the live sign
        is never interpolated across a gap. The value is the mean of the measured
        per-frame P(pain) over the last second of frames.
    crossings_t, crossings_p : numpy.ndarray
        Where the sign crossed the threshold within the display span (never across a gap).
    current : float or None
        The latest value, None whenever ``MonitorState.input_state != "live"`` (no face,
        lost / frozen / ended / refused / paused input): the display shows "-?-", never
        an old number.
    sign_type, action : str or None
        Sign type and decision-matrix action of the latest complete window.
    provisional : bool
        True while no full window exists yet and the type covers the data so far.
    failure : str or None
        Why the scorer failed (``"output NaN"``, ``"RuntimeError: ..."``) while its
        technical alarm "Scorer 'NAME' failed" holds; ``current`` is then None (the
        display shows "-?-", "scorer failed"). The other scorers are unaffected.
    """

    name: str
    display_name: str
    threshold: float
    t: np.ndarray
    p: np.ndarray
    crossings_t: np.ndarray
    crossings_p: np.ndarray
    current: float | None
    sign_type: str | None
    action: str | None
    provisional: bool = False
    failure: str | None = None


@dataclass
class MonitorStats:
    """Throughput and health numbers for the status line."""

    input_fps: float = 0.0
    processed_fps: float = 0.0
    latency_ms: float = float("nan")
    dropped: int = 0
    #: Replay: frames of the file that did not decode and were skipped.
    skipped: int = 0
    provider: str = ""
    source: str = ""
    source_status: str = "starting"
    models: str = ""


@dataclass(frozen=True)
class AlarmLogRow:
    """One row of the on-screen alarm log: a change that matters, in words.

    Attributes
    ----------
    t : float
        Session time (s) of the change.
    kind : str
        Alarm kind id (``"camera_lost"``), ``"audio_pause"`` or ``"segment"``; for code,
        not for the screen.
    name : str
        Display name (``"Camera lost"``, ``"Audio pause"``, ``"Replay"``).
    priority : str or None
        ``"high"``, ``"medium"``, ``"low"``; None for audio pauses and replay segments.
    change : str
        ``"raised"``, ``"ended"``, ``"latched"``, ``"acknowledged"``, ``"reminder"``,
        ``"paused"``, ``"resumed"`` or ``"seek"``.
    text : str
        The whole row for the screen, e.g. ``"Camera lost ended after 16 s"``.
    """

    t: float
    kind: str
    name: str
    priority: str | None
    change: str
    text: str


@dataclass
class MonitorState:
    """A snapshot of the monitor for one redraw.

    Attributes
    ----------
    bed : str
        Bed label.
    elapsed_s : float
        Session time in seconds. It keeps running during a camera outage (monotonic clock
        for live sources); for a replay it follows the media time within a segment and
        never goes back after a seek (see ``media_t``).
    frame : numpy.ndarray or None
        The last picture (BGR, at most 480 px wide) with the face box and oval guide;
        None before the first frame.
    frame_stale : bool
        True when ``frame`` is not the current picture of the input (``input_state`` in
        camera_lost, camera_frozen, ended, refused, starting): the view greys it and
        shows ``input_reason`` over it.
    face : bool
        A face was measured in the latest frame (False whenever the input is not live).
    input_state : str
        One of :data:`INPUT_STATES`.
    input_reason : str
        Why, in words, for the screen: "camera lost 12 s: connection refused", "no face
        for 4 s", "recording ended at 0:30", "replay paused at 0:12"; "" when live.
    gaps : list of (float, float)
        Stretches without a measured sign (no face, outage) that overlap the display span,
        in session seconds; an open gap ends at ``elapsed_s``.
    trend_t, trend_p : numpy.ndarray
        The session trend, one point per second (mean of the measured sign in that
        second; NaN for seconds without a measurement). Restarted by a seek.
    trend_gaps : list of (float, float)
        Every gap of the current segment (for shading the trend).
    media_t : float or None
        Replay: the position in the file (s); None for a live source.
    segment : int
        Replay segment number, 0 at start, +1 for each seek or restart.
    audio_paused : bool
        An audio pause runs (``pause_remaining_s`` gives its countdown).
    breakthrough : str or None
        Display name of the alarm that sounds through the running audio pause, if any.
    demo_note : str or None
        A note to show on screen for a demo run (shortened alarm delays).
    alarm_log : list of (float, str, str, str)
        Backward-compatible log rows ``(t, name, state, priority)`` with display names,
        no "pending" rows; prefer ``alarm_rows``.
    alarm_rows : list of AlarmLogRow
        The on-screen alarm log, oldest first, one row per change that matters.
    damage : str or None
        Replay: how the file was damaged, known once its end was reached ("30 frames
        could not be decoded, 0 of 900 expected frames missing"); ``input_reason`` of
        the "ended" state then says so, e.g. "replay ended early at 15.8 s of 30.0 s:
        file damaged (...)". None otherwise.
    """

    bed: str
    elapsed_s: float
    frame: np.ndarray | None
    face: bool
    scorers: list[ScorerView]
    trend_t: np.ndarray
    trend_p: np.ndarray
    actions: dict[str, float]
    calibrated: bool
    calibrating: bool
    #: Whether a running scorer has a rest baseline to calibrate (the Calibrate button).
    can_calibrate: bool = False
    alarms: list = field(default_factory=list)
    alarm_log: list = field(default_factory=list)
    clock_now: float = 0.0
    sounding: object | None = None
    visual: tuple[str, float] | None = None
    pause_remaining_s: float = 0.0
    stats: MonitorStats = field(default_factory=MonitorStats)
    session_id: int | None = None
    db_path: str | None = None
    #: Why the session is not being recorded now (the "Recording failed" alarm), else None.
    recording_problem: str | None = None
    ended: bool = False
    #: The calibratable scorers' rest baselines in words, or why the last Calibrate was
    #: refused.
    baseline_status: str = ""
    advisory: str | None = None
    replay: dict | None = None
    input_state: str = "starting"
    input_reason: str = ""
    frame_stale: bool = True
    gaps: list[tuple[float, float]] = field(default_factory=list)
    trend_gaps: list[tuple[float, float]] = field(default_factory=list)
    media_t: float | None = None
    segment: int = 0
    audio_paused: bool = False
    breakthrough: str | None = None
    demo_note: str | None = None
    alarm_rows: list[AlarmLogRow] = field(default_factory=list)
    damage: str | None = None
