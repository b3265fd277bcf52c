"""Clocks for the alarm system: monotonic seconds, real or driven by hand in tests.

Alarm delays, reminders and pauses are intervals, so they run on a monotonic clock that
wall-clock jumps (NTP, daylight saving) cannot move. Wall-clock UTC for the record is
added by whoever stores the log.
"""

from __future__ import annotations

import math
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` giving monotonic seconds (never decreasing)."""

    def now(self) -> float:
        """Return the current time in seconds on a monotonic scale."""
        ...


class MonotonicClock:
    """The system's monotonic clock (:func:`time.monotonic`).

    Examples
    --------
    >>> clock = MonotonicClock()
    >>> clock.now() <= clock.now()
    True
    """

    def now(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to, for tests and replays.

    Parameters
    ----------
    start : float, default 0.0
        The initial time in seconds.

    Examples
    --------
    >>> clock = FakeClock()
    >>> clock.advance(2.5)
    2.5
    >>> clock.set(10.0)
    10.0
    >>> clock.now()
    10.0
    """

    def __init__(self, start: float = 0.0):
        start = float(start)
        if not math.isfinite(start):
            raise ValueError(f"start must be a finite time in seconds, got {start!r}")
        self._t = start

    def now(self) -> float:
        """Return the current fake time in seconds."""
        return self._t

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        seconds = float(seconds)
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(
                f"a monotonic clock only moves forward: seconds must be >= 0, got {seconds!r}"
            )
        self._t += seconds
        return self._t

    def set(self, t: float) -> float:
        """Move the clock to time ``t`` (not before the current time) and return it."""
        t = float(t)
        if not (math.isfinite(t) and t >= self._t):
            raise ValueError(
                f"a monotonic clock only moves forward: t must be >= {self._t!r}, got {t!r}"
            )
        self._t = t
        return self._t
