"""One scorer's sign at the bedside: live value, crossings, trend and sign type.

The live display and the live alarms use only **measured** samples. The offline sign
(:class:`~painsign.signal.SignStream`) fills face gaps by interpolation, which is right for
a recorded video analysed afterwards but would put invented numbers on a bedside screen and
could raise an alarm from them. So here:

* the live value is the mean of the measured per-frame P(pain) over the last second of
  frames (the same 1-s trailing average as the offline sign where there is no gap);
* a frame without a face, and each outage (:meth:`LiveSignTracker.gap`), adds NaN to the
  display span and the trend (the curve breaks there);
* the surge detector and the crossings see only measured values and start afresh after a
  gap, so nothing is detected across it.

The sliding-window sign type comes from :class:`~painsign.signal.SignStream` (the offline
definition), as it summarises 20 s of sign; before the first full window a provisional type
is computed over the measured span. Pure: no clock of its own (times are passed in), no Qt.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np

from painsign.signal.events import Event, EventDetector
from painsign.signal.metrics import WindowMetrics, whole_record_metrics
from painsign.signal.signtypes import SignTypeClassifier
from painsign.signal.stream import SignStream
from painsign.signal.threshold import ON, above, threshold_side

#: Seconds of measured sign needed before a provisional sign type is shown.
PROVISIONAL_MIN_S = 5.0


class LiveUpdate(NamedTuple):
    """What one frame changed: the live value (NaN when not measured), the surge and drop
    events it triggered and the sign-type windows it completed."""

    p: float
    events: list[Event]
    windows: list[WindowMetrics]


class Trend:
    """The session trend: one point per whole second, the mean of the live values in it;
    NaN for a second without a measurement, and after each outage."""

    def __init__(self):
        self.points: list[tuple[float, float]] = []
        self._second: int | None = None
        self._bucket: list[float] = []
        self._cache = (0, np.empty(0), np.empty(0))

    def add(self, t: float, p: float) -> None:
        """Add a frame's live value ``p`` (NaN when not measured) at session time ``t``."""
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
        assert self._second is not None  # only an open second is closed
        finite = [v for v in self._bucket if not math.isnan(v)]
        self.points.append((float(self._second), float(np.mean(finite)) if finite else math.nan))
        self._bucket = []

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(t, p)`` arrays of the closed seconds (read-only; rebuilt only when a point was
        added, so a view polling at 20 Hz costs nothing on a 24-h trend)."""
        n, t, p = self._cache
        if n != len(self.points):
            a = np.array(self.points, dtype=np.float64).reshape(-1, 2)
            t, p = a[:, 0].copy(), a[:, 1].copy()
            t.flags.writeable = p.flags.writeable = False
            self._cache = (len(self.points), t, p)
        return t, p


class LiveSignTracker:
    """One scorer's live sign, fed one frame at a time.

    Parameters
    ----------
    threshold : float
        The scorer's decision threshold (sides follow
        :func:`~painsign.signal.threshold.threshold_side`).
    fps : float
        Nominal frame rate (sets the 1-s averaging length in frames).
    span_s : float, default 60
        Seconds of live values and crossings kept for the plot.
    window_s, step_s : float, default 20, 1
        Sliding windows of the sign type.
    surge_rise, surge_within_s : float, default 0.3, 3
        Surge and drop trigger (:class:`~painsign.signal.EventDetector`).
    classifier : SignTypeClassifier, optional
        Sign-type classifier of the windows and the provisional type.

    Attributes
    ----------
    span : deque of (t, p)
        The live values of the last ``span_s`` seconds (NaN: not measured).
    crossings : deque of (t, p)
        Where the live value reached the other side of the threshold, last ``span_s`` s.
    current : float
        The latest live value; NaN after a frame without a face or an outage.
    last_valid_t : float
        Time of the latest measured value (``-inf`` before the first).
    window : WindowMetrics or None
        The latest full sliding window.
    provisional : WindowMetrics or None
        Before the first full window: the type over the measured span (at least
        :data:`PROVISIONAL_MIN_S` seconds of it), recomputed at most once a second.
    trend : Trend
    stream : SignStream
        The offline definition of the windows, fed live.
    """

    def __init__(
        self,
        threshold: float,
        fps: float,
        *,
        span_s: float = 60.0,
        window_s: float = 20.0,
        step_s: float = 1.0,
        surge_rise: float = 0.3,
        surge_within_s: float = 3.0,
        classifier: SignTypeClassifier | None = None,
    ) -> None:
        self.threshold = float(threshold)
        self.span_s = float(span_s)
        self.stream = SignStream(
            fps=fps, threshold=threshold, window_s=window_s, step_s=step_s, classifier=classifier
        )
        self.events = EventDetector(threshold=threshold, rise=surge_rise, within_s=surge_within_s)
        self._recent: deque[float] = deque(maxlen=self.stream.smoothing_samples)
        self.span: deque[tuple[float, float]] = deque()
        self.crossings: deque[tuple[float, float]] = deque()
        self.trend = Trend()
        self._side = ON
        self.current = math.nan
        self.last_valid_t = -math.inf
        self.window: WindowMetrics | None = None
        self.provisional: WindowMetrics | None = None
        self._provisional_at = -math.inf

    @property
    def above(self) -> bool:
        """Whether the current live value is above the threshold (False when not measured)."""
        return above(self.current, self.threshold)

    @property
    def sign(self) -> WindowMetrics | None:
        """The sign type to show: the latest full window, else the provisional one."""
        return self.window or self.provisional

    def push(self, t: float, p_raw: float, face: bool) -> LiveUpdate:
        """Add one frame at session time ``t``.

        Parameters
        ----------
        t : float
            Session time of the frame (s, not decreasing).
        p_raw : float
            The scorer's P(pain) of the frame (NaN without a face, or while a background
            scorer is busy).
        face : bool
            Whether the patient's face was measured in this frame.

        Returns
        -------
        LiveUpdate
        """
        p_raw = float(p_raw) if face else math.nan
        self.stream.push(t, p_raw)
        if not face:
            self._recent.clear()  # nothing measured before a gap counts after it
        self._recent.append(p_raw)
        measured = [v for v in self._recent if not math.isnan(v)]
        p = float(np.mean(measured)) if face and measured else math.nan
        events: list[Event] = []
        if math.isnan(p):
            self._break()
        else:
            events = self.events.push(t, p)
            self.current, self.last_valid_t = p, t
        self._add(t, p)
        self.trend.add(t, p)
        windows = self.stream.new_windows()
        if windows:
            self.window, self.provisional = windows[-1], None
        self._update_provisional(t)
        return LiveUpdate(p, events, windows)

    def gap(self, t: float) -> None:
        """Mark an outage starting at ``t``: the curve and the trend break, nothing spans
        it (no crossing, no surge across it)."""
        if self.span and not math.isnan(self.span[-1][1]):
            self._add(t, math.nan)
        self._recent.clear()
        self._break()
        self.trend.gap()

    def _break(self) -> None:
        self.current = math.nan
        self._side = ON
        self.events.reset()

    def _add(self, t: float, p: float) -> None:
        self.span.append((t, p))
        side = threshold_side(p, self.threshold)
        if side != ON:
            if self._side != ON and side != self._side:
                self.crossings.append((t, p))
            self._side = side
        while self.span and self.span[0][0] < t - self.span_s:
            self.span.popleft()
        while self.crossings and self.crossings[0][0] < t - self.span_s:
            self.crossings.popleft()

    def _update_provisional(self, t: float) -> None:
        if self.window is not None or t - self._provisional_at < 1.0 or not self.span:
            return
        span = np.array(self.span, dtype=np.float64)
        span = span[np.isfinite(span[:, 1])]
        if len(span) and span[-1, 0] - span[0, 0] >= PROVISIONAL_MIN_S:
            self.provisional = whole_record_metrics(
                span[:, 0], span[:, 1], self.threshold, self.stream.classifier
            )
            self._provisional_at = t
