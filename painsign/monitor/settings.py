"""The monitor's options (plot span, sign-type windows, surge trigger, freshness)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MonitorSettings:
    """Monitor options (all seconds unless said otherwise).

    Attributes
    ----------
    bed : str
        Bed label shown on screen and stored with the session.
    span_s : float
        Length of the live sign plot.
    window_s, step_s : float
        Sliding windows for the sign type.
    surge_rise, surge_within_s : float
        Surge trigger (see :func:`painsign.signal.detect_events`).
    fresh_s : float
        How long the last measured value may still be shown while the next frame is
        being processed (the value is blanked at once when the face or input is lost).
    """

    bed: str = "bed 1"
    span_s: float = 60.0
    window_s: float = 20.0
    step_s: float = 1.0
    surge_rise: float = 0.3
    surge_within_s: float = 3.0
    fresh_s: float = 1.0
