"""The pain sign computed live, one sample at a time, identical to the batch functions.

:class:`SignStream` gives, sample by sample, the same ``p_interp`` and ``p_smooth`` as
:func:`~painsign.signal.smoothing.smooth_sign` on the whole record, and the same windows as
:func:`~painsign.signal.metrics.sliding_windows`. Per-sample cost is O(1) amortised; memory
is the moving-average window, the last ``window_s`` seconds of samples, and the samples of a
face gap still open.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import NamedTuple

import numpy as np

from painsign.signal.metrics import (
    WindowMetrics,
    _check_threshold,
    whole_record_metrics,
    window_bounds,
    window_metrics,
)
from painsign.signal.signtypes import NearestCentroidSignTypes, SignTypeClassifier
from painsign.signal.smoothing import smoothing_window

logger = logging.getLogger(__name__)


class SignSample(NamedTuple):
    """One final sample of the sign: time (s), gap-filled P(pain), smoothed P(pain)."""

    t: float
    p_interp: float
    p_smooth: float


class _TimeBuffer:
    """Append-only (t, value) store that forgets its oldest part; amortised O(1) append."""

    def __init__(self, capacity: int = 1024):
        self._t = np.empty(capacity)
        self._v = np.empty(capacity)
        self._start = 0
        self._stop = 0

    def __len__(self) -> int:
        return self._stop - self._start

    def append(self, t: float, v: float) -> None:
        if self._stop == self._t.size:
            n = len(self)
            if n > self._t.size // 2:
                t_new, v_new = np.empty(2 * self._t.size), np.empty(2 * self._t.size)
            else:
                t_new, v_new = self._t, self._v
            t_new[:n] = self._t[self._start : self._stop]
            v_new[:n] = self._v[self._start : self._stop]
            self._t, self._v, self._start, self._stop = t_new, v_new, 0, n
        self._t[self._stop] = t
        self._v[self._stop] = v
        self._stop += 1

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """Views of the stored samples; valid until the next append."""
        return self._t[self._start : self._stop], self._v[self._start : self._stop]

    def drop_before(self, t0: float) -> None:
        t, _ = self.view()
        self._start += int(np.searchsorted(t, t0, side="left"))


class SignStream:
    """Live pain sign: gap filling, 1-s trailing average and sliding-window metrics.

    Feed one frame at a time with :meth:`push`; read completed windows with
    :meth:`new_windows`; call :meth:`flush` at the end of the record.

    * A sample with a face becomes final at once; a gap (NaN, no face) becomes final when
      the next face arrives (linearly interpolated over the sample index) or at
      :meth:`flush` (held at the last value). Gap samples at the start are held at the
      first face's value. Until then :attr:`n_pending` counts them.
    * ``p_smooth`` is the trailing mean of the last ``smoothing_window(fps)`` final
      samples, from the same running sum as
      :func:`~painsign.signal.smoothing.moving_average`.
    * Window k, ``[t_first + k * step_s, ... + window_s)``, completes when a final sample
      at or after its end arrives (so windows wait while a gap is open). At :meth:`flush`,
      if no window completed, one whole-record window is made, as
      :func:`~painsign.signal.metrics.sliding_windows` does.

    Parameters
    ----------
    fps : float, default 30.0
        Nominal frame rate, used only for the smoothing length (1 s of samples). Windows
        use the time stamps, so a variable frame rate is fine.
    threshold : float, default 0.5
        The model's decision threshold.
    window_s, step_s : float, default 20.0, 1.0
        Sliding-window length and step in seconds.
    classifier : object with ``classify``, optional
        Default :class:`~painsign.signal.signtypes.NearestCentroidSignTypes`.

    Examples
    --------
    >>> s = SignStream(fps=2.0, window_s=5.0)
    >>> s.push(0.0, 0.2)
    [SignSample(t=0.0, p_interp=0.2, p_smooth=0.2)]
    >>> s.push(0.5, float("nan"))  # no face: not final yet
    []
    >>> [round(x.p_interp, 3) for x in s.push(1.0, 0.4)]  # the gap closes
    [0.3, 0.4]
    >>> for k in range(3, 11):
    ...     _ = s.push(k / 2, 0.2)
    >>> [(w.t0, w.t1, str(w.sign_type), str(w.action)) for w in s.new_windows()]
    [(0.0, 5.0, 'stable', 'no action')]
    """

    #: Completed windows kept for :meth:`new_windows` (one hour at 1-s steps); older ones
    #: are dropped with a warning if nobody reads them.
    max_pending_windows = 3600

    def __init__(
        self,
        fps: float = 30.0,
        threshold: float = 0.5,
        window_s: float = 20.0,
        step_s: float = 1.0,
        classifier: SignTypeClassifier | None = None,
    ):
        if not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"window_s must be > 0 s, got {window_s!r}")
        if not (math.isfinite(step_s) and step_s > 0):
            raise ValueError(f"step_s must be > 0 s, got {step_s!r}")
        self.fps = fps
        self.threshold = _check_threshold(threshold)
        self.window_s = window_s
        self.step_s = step_s
        self.classifier = NearestCentroidSignTypes() if classifier is None else classifier
        self.smoothing_samples = smoothing_window(fps)
        self.reset()

    def reset(self) -> None:
        """Forget everything and start a new record."""
        w = self.smoothing_samples
        self._n = 0
        self._last_t: float | None = None
        self._t_first: float | None = None
        self._last_valid: tuple[int, float] | None = None
        self._pending: list[float] = []
        # Running sums P[i] of the moving average and the last w + 1 of them.
        self._sum = 0.0
        self._count = 0
        self._sums = deque([0.0], maxlen=w + 1)
        self._counts = deque([0], maxlen=w + 1)
        self._buffer = _TimeBuffer()
        self._k = 0
        self._windows: deque[WindowMetrics] = deque()
        self._n_windows = 0
        self.windows_dropped = 0
        self._closed = False

    @property
    def n_pending(self) -> int:
        """Samples of an open gap, pushed but not final yet."""
        return len(self._pending)

    @property
    def closed(self) -> bool:
        """True after :meth:`flush`; :meth:`reset` opens a new record."""
        return self._closed

    def push(self, t: float, p_raw: float) -> list[SignSample]:
        """Add one frame; return the samples that became final, oldest first.

        Parameters
        ----------
        t : float
            Time stamp in seconds, not before the previous one.
        p_raw : float
            P(pain) of the frame, NaN when no face was found.

        Returns
        -------
        list of SignSample
            Empty while a gap is open; the whole gap plus this sample when it closes.
        """
        if self._closed:
            raise RuntimeError("this SignStream was flushed; call reset() to start a new record")
        t, p = float(t), float(p_raw)
        if not math.isfinite(t):
            raise ValueError(f"time stamp must be a finite number of seconds, got {t!r}")
        if self._last_t is not None and t < self._last_t:
            raise ValueError(f"time stamp {t!r} s is before the previous one ({self._last_t!r} s)")
        if math.isinf(p):
            raise ValueError(f"p_raw must be a probability or NaN (no face), got {p!r}")
        if self._t_first is None:
            self._t_first = t
        self._last_t = t
        i = self._n
        self._n += 1
        if math.isnan(p):
            self._pending.append(t)
            return []
        out: list[SignSample] = []
        if self._pending:
            if self._last_valid is None:
                fill = np.full(len(self._pending), p)
            else:
                # Same np.interp call, on the same two neighbours, as interpolate_gaps.
                i0, v0 = self._last_valid
                fill = np.interp(np.arange(i0 + 1, i), [i0, i], [v0, p])
            out.extend(
                self._finalise(tg, float(v)) for tg, v in zip(self._pending, fill, strict=True)
            )
            self._pending.clear()
        out.append(self._finalise(t, p))
        self._last_valid = (i, p)
        return out

    def flush(self) -> list[SignSample]:
        """End the record: finalise a trailing gap (held at the last value) and return it.

        If no sliding window completed, a whole-record window is added to
        :meth:`new_windows`. Afterwards :meth:`push` raises until :meth:`reset`.
        """
        if self._closed:
            return []
        value = math.nan if self._last_valid is None else self._last_valid[1]
        out = [self._finalise(tg, value) for tg in self._pending]
        self._pending.clear()
        if self._n_windows == 0 and len(self._buffer):
            t, p = self._buffer.view()
            self._emit(whole_record_metrics(t, p, self.threshold, self.classifier))
        self._closed = True
        return out

    def new_windows(self) -> list[WindowMetrics]:
        """Return the windows completed since the last call, oldest first."""
        out = list(self._windows)
        self._windows.clear()
        return out

    def _emit(self, window: WindowMetrics) -> None:
        if len(self._windows) >= self.max_pending_windows:
            self._windows.popleft()
            self.windows_dropped += 1
            logger.warning("SignStream: window dropped, new_windows() is not being read")
        self._windows.append(window)
        self._n_windows += 1

    def _finalise(self, t: float, p_interp: float) -> SignSample:
        valid = not math.isnan(p_interp)
        self._sum += p_interp if valid else 0.0
        self._count += valid
        self._sums.append(self._sum)
        self._counts.append(self._count)
        n = self._count - self._counts[0]
        p_smooth = (self._sum - self._sums[0]) / n if n else math.nan
        self._buffer.append(t, p_smooth)
        t_first = self._t_first
        assert t_first is not None  # set by the first sample
        while True:
            t0, t1 = window_bounds(t_first, self._k, self.window_s, self.step_s)
            if t < t1:
                break
            bt, bp = self._buffer.view()
            self._emit(window_metrics(bt, bp, self.threshold, t0, t1, self.classifier))
            self._k += 1
            self._buffer.drop_before(window_bounds(t_first, self._k, self.window_s, self.step_s)[0])
        return SignSample(t, p_interp, p_smooth)
