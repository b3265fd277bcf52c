"""Surge and drop events of the pain sign, to alert staff to sudden changes (Ferreira et al.).

A **surge** happens at sample i when the smoothed sign is above the threshold and has risen
by at least ``rise`` within the last ``within_s`` seconds::

    p[i] > threshold  and  p[i] - min(p[j] : t[i] - within_s <= t[j] <= t[i]) >= rise

A **drop** is the mirror image: below the threshold and fallen by at least ``rise``
(``max(...) - p[i] >= rise``). An event is reported at the first sample of each stretch
where its condition holds (the moment it became true), unless an event of the same kind
was reported less than ``refractory_s`` seconds before. NaN samples are skipped. Time
stamps, not sample counts, define the look-back, so variable frame rates work.

:func:`detect_events` (whole record, vectorised) and :class:`EventDetector` (live, one
sample at a time, monotonic queues) give identical events.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from painsign.signal.threshold import ABOVE, BELOW, above, below, threshold_side

SURGE = "surge"
DROP = "drop"


@dataclass(frozen=True)
class Event:
    """A surge or drop of the smoothed sign.

    Attributes
    ----------
    t : float
        Time stamp (s) of the first sample at which the condition held.
    kind : str
        ``"surge"`` or ``"drop"``.
    value : float
        The smoothed sign at ``t``.
    delta : float
        Signed change over the look-back: ``value - min`` for a surge (>= rise),
        ``value - max`` for a drop (<= -rise).
    """

    t: float
    kind: str
    value: float
    delta: float


def _check_params(threshold, rise, within_s, refractory_s) -> float:
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite probability, got {threshold!r}")
    if not (math.isfinite(rise) and rise > 0):
        raise ValueError(f"rise must be > 0 (a change of probability), got {rise!r}")
    if not (math.isfinite(within_s) and within_s >= 0):
        raise ValueError(f"within_s must be >= 0 s, got {within_s!r}")
    if not refractory_s >= 0:
        raise ValueError(f"refractory_s must be >= 0 s, got {refractory_s!r}")
    return threshold


def _range_extreme(p: np.ndarray, left: np.ndarray, op) -> np.ndarray:
    """``op`` (np.minimum or np.maximum) over ``p[left[i] : i + 1]`` for every i.

    Sparse-table queries, grouped by level and built level by level so memory stays O(n):
    at level k, ``cur[i] = op(p[i : i + 2**k])``, and a range of length L with
    ``2**k <= L < 2**(k+1)`` is covered by two such blocks.
    """
    n = p.size
    right = np.arange(n)
    level = np.frexp((right - left + 1).astype(np.float64))[1] - 1  # floor(log2(length))
    out = np.empty(n)
    cur = p
    for k in range(int(level.max()) + 1):
        if k:
            half = 1 << (k - 1)
            cur = op(cur[:-half], cur[half:])
        sel = np.flatnonzero(level == k)
        if sel.size:
            out[sel] = op(cur[left[sel]], cur[right[sel] - (1 << k) + 1])
    return out


def _first_after_refractory(t: np.ndarray, starts: np.ndarray, refractory_s: float) -> list:
    kept, last = [], None
    for i in starts:
        if last is None or t[i] - last >= refractory_s:
            kept.append(i)
            last = t[i]
    return kept


def detect_events(
    t,
    p_smooth,
    threshold: float,
    rise: float = 0.3,
    within_s: float = 3.0,
    refractory_s: float = 5.0,
) -> list[Event]:
    """Find surges and drops of a smoothed sign.

    Surge at sample i: ``p[i] > threshold`` and ``p[i] - min(p over [t[i] - within_s,
    t[i]]) >= rise``. Drop: ``p[i] < threshold`` and ``max(...) - p[i] >= rise``. An event
    is placed at the first sample of each run of samples meeting its condition, and is
    suppressed if the previous event of the same kind is less than ``refractory_s``
    earlier. NaN samples are skipped.

    Parameters
    ----------
    t : array-like of float, shape (n,)
        Time stamps in seconds, non-decreasing.
    p_smooth : array-like of float, shape (n,)
        The smoothed sign.
    threshold : float
        The model's decision threshold.
    rise : float, default 0.3
        Smallest change of probability that counts.
    within_s : float, default 3.0
        Look-back in seconds.
    refractory_s : float, default 5.0
        Quiet time after an event, per kind.

    Returns
    -------
    list of Event
        In time order.

    Examples
    --------
    >>> t = np.arange(0, 10, 0.5)
    >>> p = np.where(t < 5, 0.1, 0.9)
    >>> detect_events(t, p, 0.5)
    [Event(t=5.0, kind='surge', value=0.9, delta=0.8)]
    """
    threshold = _check_params(threshold, rise, within_s, refractory_s)
    t = np.asarray(t, dtype=np.float64).ravel()
    p = np.asarray(p_smooth, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"t and p_smooth differ in length: {t.size} vs {p.size}")
    if not np.isfinite(t).all() or (t.size > 1 and np.any(np.diff(t) < 0)):
        raise ValueError("time stamps must be finite and non-decreasing")
    keep = ~np.isnan(p)
    t, p = t[keep], p[keep]
    if t.size == 0:
        return []
    left = np.searchsorted(t, t - within_s, side="left")
    low = _range_extreme(p, left, np.minimum)
    high = _range_extreme(p, left, np.maximum)
    side = threshold_side(p, threshold)
    events = []
    for kind, cond, ref in (
        (SURGE, (side == ABOVE) & (p - low >= rise), low),
        (DROP, (side == BELOW) & (high - p >= rise), high),
    ):
        starts = np.flatnonzero(cond & ~np.concatenate(([False], cond[:-1])))
        for i in _first_after_refractory(t, starts, refractory_s):
            events.append((i, Event(float(t[i]), kind, float(p[i]), float(p[i] - ref[i]))))
    return [event for _, event in sorted(events, key=lambda item: item[0])]


class EventDetector:
    """Live surge/drop detection, one sample at a time; same events as :func:`detect_events`.

    Keeps monotonic queues of the last ``within_s`` seconds for the running minimum and
    maximum, so each sample costs O(1) amortised.

    Parameters
    ----------
    threshold, rise, within_s, refractory_s
        As in :func:`detect_events`.

    Examples
    --------
    >>> det = EventDetector(0.5)
    >>> [e for t in np.arange(0, 10, 0.5) for e in det.push(t, 0.1 if t < 5 else 0.9)]
    [Event(t=5.0, kind='surge', value=0.9, delta=0.8)]
    """

    def __init__(
        self,
        threshold: float,
        rise: float = 0.3,
        within_s: float = 3.0,
        refractory_s: float = 5.0,
    ):
        self.threshold = _check_params(threshold, rise, within_s, refractory_s)
        self.rise = rise
        self.within_s = within_s
        self.refractory_s = refractory_s
        self.reset()

    def reset(self) -> None:
        """Forget all samples and events."""
        self._low: deque[tuple[float, float]] = deque()
        self._high: deque[tuple[float, float]] = deque()
        self._last_t: float | None = None
        self._was = {SURGE: False, DROP: False}
        self._last_event: dict[str, float | None] = {SURGE: None, DROP: None}

    def push(self, t: float, p_smooth: float) -> list[Event]:
        """Add one sample of the smoothed sign; return the events it starts (0, 1 or 2).

        Parameters
        ----------
        t : float
            Time stamp in seconds, not before the previous one.
        p_smooth : float
            Smoothed sign; NaN samples are skipped.

        Returns
        -------
        list of Event
        """
        t, p = float(t), float(p_smooth)
        if not math.isfinite(t) or (self._last_t is not None and t < self._last_t):
            raise ValueError(f"time stamp {t!r} s must be finite and not before {self._last_t!r}")
        self._last_t = t
        if math.isnan(p):
            return []
        while self._low and self._low[-1][1] >= p:
            self._low.pop()
        self._low.append((t, p))
        while self._high and self._high[-1][1] <= p:
            self._high.pop()
        self._high.append((t, p))
        cut = t - self.within_s
        while self._low[0][0] < cut:
            self._low.popleft()
        while self._high[0][0] < cut:
            self._high.popleft()
        low, high = self._low[0][1], self._high[0][1]
        out = []
        for kind, now, ref in (
            (SURGE, above(p, self.threshold) and p - low >= self.rise, low),
            (DROP, below(p, self.threshold) and high - p >= self.rise, high),
        ):
            if now and not self._was[kind]:
                last = self._last_event[kind]
                if last is None or t - last >= self.refractory_s:
                    self._last_event[kind] = t
                    out.append(Event(t, kind, p, p - ref))
            self._was[kind] = now
        return out
