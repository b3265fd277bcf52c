"""What the monitor shows, as plain data: the view polls it, tests read it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
        The smoothed sign over the display span (seconds since session start).
    crossings_t, crossings_p : numpy.ndarray
        Where the sign crossed the threshold within the display span.
    current : float or None
        The latest smoothed value, None when the sign is invalid (no face, stale data):
        the display shows "-?-", never an old number.
    sign_type, action : str or None
        Sign type and decision-matrix action of the latest complete window.
    provisional : bool
        True while no full window exists yet and the type covers the data so far.
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


@dataclass
class MonitorStats:
    """Throughput and health numbers for the status line."""

    input_fps: float = 0.0
    processed_fps: float = 0.0
    latency_ms: float = float("nan")
    dropped: int = 0
    provider: str = ""
    source: str = ""
    source_status: str = "starting"
    models: str = ""


@dataclass
class MonitorState:
    """A snapshot of the monitor for one redraw."""

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
    alarms: list = field(default_factory=list)
    alarm_log: list = field(default_factory=list)
    clock_now: float = 0.0
    sounding: object | None = None
    visual: tuple[str, float] | None = None
    pause_remaining_s: float = 0.0
    stats: MonitorStats = field(default_factory=MonitorStats)
    session_id: int | None = None
    db_path: str | None = None
    ended: bool = False
    advisory: str | None = None
    replay: dict | None = None
