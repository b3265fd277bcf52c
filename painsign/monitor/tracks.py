"""Per-scorer live sign, session trend and gap bookkeeping for the monitor (no Qt).

The live display and the live alarms use only **measured** samples. The offline sign
(:mod:`painsign.signal`) fills face gaps by interpolation, which is right for a recorded
video analysed afterwards but would put invented numbers on a bedside screen and could
raise an alarm from them. So here:

* the live value is the mean of the measured per-frame P(pain) over the last second of
  frames (the same 1-s trailing average as the offline sign where there is no gap);
* a frame without a face, and each camera outage, adds NaN to the display span and the
  trend (the curve breaks there) and opens a gap;
* the surge detector and the crossing markers see only measured values and start afresh
  after a gap, so nothing is detected across it.

The sliding-window sign type still comes from :class:`~painsign.signal.SignStream` (the
offline definition), as it summarises 20 s of sign.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from painsign.signal import EventDetector, SignStream, whole_record_metrics

#: Seconds of sign needed before a provisional sign type is shown.
PROVISIONAL_MIN_S = 5.0
#: Most gaps kept for the trend (older ones are merged into one).
MAX_GAPS = 2000


class ScorerTrack:
    """One scorer's live state: windows, events, the display span and crossings.

    Parameters
    ----------
    scorer : Scorer
        Gives ``name`` and ``threshold``.
    fps : float
        Nominal frame rate (sets the 1-s averaging length in frames).
    settings : MonitorSettings
        ``span_s``, ``window_s``, ``step_s``, ``surge_rise``, ``surge_within_s``.
    classifier : object, optional
        Sign-type classifier for the windows.
    """

    def __init__(self, scorer, fps: float, settings, classifier=None):
        self.scorer = scorer
        self.settings = settings
        self.stream = SignStream(fps=fps, threshold=scorer.threshold,
                                 window_s=settings.window_s, step_s=settings.step_s,
                                 classifier=classifier)
        self.classifier = self.stream.classifier
        self.events = EventDetector(threshold=scorer.threshold, rise=settings.surge_rise,
                                    within_s=settings.surge_within_s)
        self._recent: deque[float] = deque(maxlen=self.stream.smoothing_samples)
        self.span: deque[tuple[float, float]] = deque()
        self.crossings: deque[tuple[float, float]] = deque()
        self.side: int | None = None
        self.current = math.nan
        self.last_valid_t = -math.inf
        self.window = None
        self.provisional = None
        self.provisional_at = -math.inf

    def push(self, t: float, p_raw: float, face: bool) -> tuple[float, list, list]:
        """Add one frame; return ``(live value or NaN, surge/drop events, new windows)``.

        Parameters
        ----------
        t : float
            Session time of the frame.
        p_raw : float
            The scorer's P(pain) of the frame (NaN without a face, or while a background
            scorer is busy).
        face : bool
            Whether the patient's face was measured in this frame.
        """
        p_raw = float(p_raw)
        self.stream.push(t, p_raw if face else math.nan)
        if not face:
            self._recent.clear()  # nothing measured before a gap counts after it
        self._recent.append(p_raw if face else math.nan)
        measured = [v for v in self._recent if not math.isnan(v)]
        p = float(np.mean(measured)) if face and measured else math.nan
        events = []
        if math.isnan(p):
            self._break()
        else:
            events = self.events.push(t, p)
            self.current, self.last_valid_t = p, t
        self._add(t, p)
        windows = self.stream.new_windows()
        if windows:
            self.window, self.provisional = windows[-1], None
        self._provisional(t)
        return p, events, windows

    def gap(self, t: float) -> None:
        """Mark an outage starting at ``t``: the curve breaks, nothing spans it."""
        if self.span and not math.isnan(self.span[-1][1]):
            self._add(t, math.nan)
        self._recent.clear()
        self._break()

    def _break(self) -> None:
        self.current = math.nan
        self.side = None
        self.events.reset()

    def _add(self, t: float, p: float) -> None:
        self.span.append((t, p))
        if not math.isnan(p):
            thr = self.scorer.threshold
            side = None if p == thr else (1 if p > thr else -1)
            if side is not None:
                if self.side is not None and side != self.side:
                    self.crossings.append((t, p))
                self.side = side
        span_s = self.settings.span_s
        while self.span and self.span[0][0] < t - span_s:
            self.span.popleft()
        while self.crossings and self.crossings[0][0] < t - span_s:
            self.crossings.popleft()

    def _provisional(self, t: float) -> None:
        """Before the first full window, a provisional type over the measured data."""
        if self.window is not None or t - self.provisional_at < 1.0 or not self.span:
            return
        span = np.array(self.span, dtype=np.float64)
        span = span[np.isfinite(span[:, 1])]
        if len(span) and span[-1, 0] - span[0, 0] >= PROVISIONAL_MIN_S:
            self.provisional = whole_record_metrics(
                span[:, 0], span[:, 1], self.scorer.threshold, self.classifier)
            self.provisional_at = t


class Trend:
    """The session trend: one point per second, NaN for seconds without a measurement."""

    def __init__(self):
        self.points: list[tuple[float, float]] = []
        self._second: int | None = None
        self._bucket: list[float] = []
        self._cache = (0, np.empty(0), np.empty(0))

    def add(self, t: float, p: float) -> None:
        """Add a frame's live value (NaN when not measured)."""
        second = math.floor(t)
        if self._second is not None and second != self._second:
            self._close()
            if second > self._second + 1:  # seconds with no frame at all: an outage
                self.points.append((float(self._second + 1), math.nan))
        self._second = second
        self._bucket.append(p)

    def gap(self) -> None:
        """An outage starts: close the current second; the next point follows a NaN."""
        if self._second is not None:
            self._close()
            self.points.append((float(self._second + 1), math.nan))
            self._second = None

    def _close(self) -> None:
        finite = [v for v in self._bucket if not math.isnan(v)]
        self.points.append((float(self._second), float(np.mean(finite)) if finite else math.nan))
        self._bucket = []

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(t, p)`` arrays of the points so far (read-only; rebuilt only when a point
        was added, so a view polling at 20 Hz costs nothing on a 24-h trend)."""
        n, t, p = self._cache
        if n != len(self.points):
            a = np.array(self.points, dtype=np.float64).reshape(-1, 2)
            t, p = a[:, 0].copy(), a[:, 1].copy()
            t.flags.writeable = p.flags.writeable = False
            self._cache = (len(self.points), t, p)
        return t, p


class Gaps:
    """Stretches of session time without a measured sign (no face, outage)."""

    def __init__(self):
        self.closed: deque[tuple[float, float]] = deque()
        self.open_since: float | None = None

    def measured(self, t: float) -> None:
        """A measured sample at ``t`` closes an open gap."""
        if self.open_since is not None:
            self.closed.append((self.open_since, t))
            self.open_since = None
            if len(self.closed) > MAX_GAPS:
                a, _ = self.closed.popleft()
                _, b = self.closed.popleft()
                self.closed.appendleft((a, b))

    def missing(self, t: float) -> None:
        """Nothing measured at ``t``: open a gap if none is open."""
        if self.open_since is None:
            self.open_since = t

    def all(self, now: float) -> list[tuple[float, float]]:
        """Every gap, an open one ending at ``now``."""
        out = list(self.closed)
        if self.open_since is not None:
            out.append((self.open_since, max(now, self.open_since)))
        return out

    def within(self, t0: float, now: float) -> list[tuple[float, float]]:
        """The gaps that overlap ``[t0, now]``."""
        return [(a, b) for a, b in self.all(now) if b >= t0]
