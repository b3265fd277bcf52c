"""Per-window metrics of the pain sign: mean, prediction, entropy, threshold crossings.

Ferreira et al., per 20-s clip: final prediction = mean probability vs the model's threshold;
entropy = Shannon entropy of the sign; threshold crossings = number of times the sign
crosses the threshold. painsign: entropy in bits over 10 equal-width bins on [0, 1]; a
crossing is a change of side, a sample exactly on the threshold keeps the previous side.

Windows are selected by time stamp, so a variable frame rate is handled: window k covers
``[t[0] + k * step, t[0] + k * step + length)`` and exists once the record reaches its end
(``t[-1] >= t0 + length``). A record shorter than one window gives one whole-record window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from painsign.signal.signtypes import (
    Action,
    NearestCentroidSignTypes,
    SignType,
    SignTypeClassifier,
    decision_action,
)
from painsign.signal.threshold import ON, above, threshold_side

#: Bins of the entropy histogram on [0, 1]; the largest entropy is log2(10) = 3.32 bits.
ENTROPY_BINS = 10


def entropy_shannon(x, bins: int = ENTROPY_BINS) -> float:
    """Shannon entropy in bits of the histogram of the samples.

    ``H = -sum_b p_b * log2(p_b)`` where ``p_b`` is the fraction of samples in bin ``b``
    of ``bins`` equal-width bins on [0, 1] (``numpy.histogram`` edges; values are clipped
    to [0, 1] and 1.0 falls in the last bin). The maximum is ``log2(bins)`` (3.32 bits
    for 10 bins). NaN samples are ignored.

    Parameters
    ----------
    x : array-like of float
        Samples of the (smoothed) sign.
    bins : int, default 10

    Returns
    -------
    float
        Entropy in bits; NaN when there is no valid sample.

    Examples
    --------
    >>> entropy_shannon([0.1, 0.1, 0.9, 0.9])
    1.0
    >>> round(entropy_shannon(np.linspace(0.05, 0.95, 10)), 4)  # log2(10)
    3.3219
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan
    counts, _ = np.histogram(np.clip(x, 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    frac = counts[counts > 0] / x.size
    # + 0.0 turns the -0.0 of a single full bin into 0.0.
    return float(-np.sum(frac * np.log2(frac))) + 0.0


def crossing_indices(x, threshold: float) -> np.ndarray:
    """Indices of the samples at which the sign reaches the other side of the threshold.

    Each sample has a side (:func:`~painsign.signal.threshold.threshold_side`): above
    (``x > threshold``) or below (``x < threshold``). A sample exactly on the threshold
    keeps the previous side; leading on-threshold samples
    have no side until the first sample off the threshold. NaN samples are ignored. A
    crossing is reported at the first sample on the new side (e.g. for plot markers).

    Parameters
    ----------
    x : array-like of float
    threshold : float

    Returns
    -------
    numpy.ndarray of int
        Indices into ``x``.

    Examples
    --------
    >>> crossing_indices([0.4, 0.5, 0.6, 0.5, 0.4], 0.5)
    array([2, 4])
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    idx = np.flatnonzero(~np.isnan(x))
    v = x[idx]
    side = threshold_side(v, threshold)
    off = side != ON
    side, idx = side[off], idx[off]
    return idx[np.flatnonzero(side[1:] != side[:-1]) + 1]


def threshold_crossings(x, threshold: float) -> int:
    """Number of changes of side of the threshold (see :func:`crossing_indices`).

    Above = ``x > threshold``, below = ``x < threshold``; a sample exactly on the threshold
    keeps the previous side, leading on-threshold samples have no side until the first
    off-threshold sample, NaN samples are ignored.

    Parameters
    ----------
    x : array-like of float
    threshold : float

    Returns
    -------
    int

    Examples
    --------
    >>> threshold_crossings([0.4, 0.5, 0.6, 0.5, 0.6, 0.4], 0.5)
    2
    >>> threshold_crossings([0.5, 0.5, 0.6, 0.4], 0.5)
    1
    """
    return int(crossing_indices(x, threshold).size)


@dataclass(frozen=True)
class WindowMetrics:
    """Metrics of the sign over one window ``[t0, t1)``.

    Attributes
    ----------
    t0, t1 : float
        Window start (inclusive) and end (exclusive), seconds.
    mean : float
        Mean of the smoothed sign over the window (NaN if no sample).
    prediction : bool
        ``mean > threshold`` ("pain"; :func:`~painsign.signal.threshold.above`).
    entropy : float
        :func:`entropy_shannon` in bits (NaN if no sample).
    crossings : int
        :func:`threshold_crossings` in the window (not rescaled).
    sign_type : str
        A :class:`~painsign.signal.signtypes.SignType`.
    action : str
        An :class:`~painsign.signal.signtypes.Action` of the decision matrix.
    """

    t0: float
    t1: float
    mean: float
    prediction: bool
    entropy: float
    crossings: int
    sign_type: str
    action: str

    @property
    def duration_s(self) -> float:
        """Window length ``t1 - t0`` in seconds."""
        return self.t1 - self.t0


def _check_series(t, p) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"t and p_smooth differ in length: {t.size} vs {p.size}")
    if not np.isfinite(t).all():
        raise ValueError("time stamps must be finite numbers of seconds")
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise ValueError("time stamps must be non-decreasing; sort the samples by time")
    return t, p


def _check_threshold(threshold: float) -> float:
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite probability, got {threshold!r}")
    return threshold


def _metrics(
    x: np.ndarray, threshold: float, t0: float, t1: float, classifier: SignTypeClassifier
) -> WindowMetrics:
    valid = x[~np.isnan(x)]
    mean = float(valid.mean()) if valid.size else math.nan
    prediction = above(mean, threshold)
    entropy = entropy_shannon(valid)
    crossings = threshold_crossings(valid, threshold)
    sign_type = SignType(classifier.classify(entropy, crossings, duration_s=t1 - t0))
    action: Action = decision_action(sign_type, prediction)
    return WindowMetrics(
        float(t0), float(t1), mean, prediction, entropy, crossings, sign_type, action
    )


def window_metrics(
    t,
    p_smooth,
    threshold: float,
    t0: float,
    t1: float,
    classifier: SignTypeClassifier | None = None,
) -> WindowMetrics:
    """Metrics of the samples with ``t0 <= t < t1``.

    mean = mean of the smoothed sign; prediction = ``mean > threshold``; entropy =
    Shannon entropy in bits over 10 bins on [0, 1]; crossings = changes of side of the
    threshold; sign type from ``classifier.classify(entropy, crossings, t1 - t0)``; action
    from the decision matrix.

    Parameters
    ----------
    t : array-like of float, shape (n,)
        Time stamps in seconds, non-decreasing.
    p_smooth : array-like of float, shape (n,)
        The smoothed sign.
    threshold : float
        The model's decision threshold.
    t0, t1 : float
        Window bounds in seconds.
    classifier : object with ``classify``, optional
        Default :class:`~painsign.signal.signtypes.NearestCentroidSignTypes`.

    Returns
    -------
    WindowMetrics

    Examples
    --------
    >>> t = np.arange(40) * 0.5
    >>> w = window_metrics(t, np.full(40, 0.1), 0.5, 0.0, 20.0)
    >>> w.prediction, w.entropy, w.crossings, w.sign_type, w.action
    (False, 0.0, 0, <SignType.STABLE: 'stable'>, <Action.NO_ACTION: 'no action'>)
    """
    t, p = _check_series(t, p_smooth)
    threshold = _check_threshold(threshold)
    if classifier is None:
        classifier = NearestCentroidSignTypes()
    a, b = np.searchsorted(t, [t0, t1], side="left")
    return _metrics(p[a:b], threshold, t0, t1, classifier)


def window_bounds(t_first: float, k: int, length: float, step: float) -> tuple[float, float]:
    """Return ``(t0, t1)`` of sliding window ``k``: ``t0 = t_first + k * step``, ``t1 = t0 +
    length``.

    Shared by :func:`sliding_windows` and the live stream so both compute the very same
    floats.

    Examples
    --------
    >>> window_bounds(0.5, 3, 20.0, 1.0)
    (3.5, 23.5)
    """
    t0 = t_first + k * step
    return t0, t0 + length


def _record_end(t: np.ndarray) -> float:
    # A record of n frames lasts n frame intervals: 600 frames at 30 fps span 20 s.
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    return float(t[-1]) + dt


def whole_record_metrics(
    t, p_smooth, threshold: float, classifier: SignTypeClassifier | None = None
) -> WindowMetrics:
    """Metrics over every sample of the record, as for one of the paper's clips.

    ``t0 = t[0]`` and ``t1 = t[-1] + median(diff(t))`` (one typical frame interval after
    the last sample, so 600 frames at 30 fps give a 20-s window). See
    :func:`window_metrics` for the definitions.

    Parameters
    ----------
    t, p_smooth : array-like of float, shape (n,), n >= 1
    threshold : float
    classifier : object with ``classify``, optional

    Returns
    -------
    WindowMetrics

    Examples
    --------
    >>> t = np.arange(600) / 30.0
    >>> w = whole_record_metrics(t, np.full(600, 0.8), 0.5)
    >>> round(w.t1, 6), w.prediction, w.sign_type, w.action
    (20.0, True, <SignType.STABLE: 'stable'>, <Action.ACT: 'act'>)
    """
    t, p = _check_series(t, p_smooth)
    threshold = _check_threshold(threshold)
    if t.size == 0:
        raise ValueError("whole_record_metrics needs at least one sample")
    if classifier is None:
        classifier = NearestCentroidSignTypes()
    return _metrics(p, threshold, float(t[0]), _record_end(t), classifier)


def sliding_windows(
    t,
    p_smooth,
    threshold: float,
    length: float = 20.0,
    step: float = 1.0,
    classifier: SignTypeClassifier | None = None,
) -> list[WindowMetrics]:
    """Metrics of sliding windows ``[t0, t0 + length)``, ``t0 = t[0] + k * step``.

    Window k is included once the record reaches its end, ``t0 + length <= t[-1]`` (a live
    stream knows then that no more samples can fall in it). If no window fits, the result
    is one :func:`whole_record_metrics` window. Samples are selected by time stamp, so
    variable frame rates work.

    Parameters
    ----------
    t : array-like of float, shape (n,)
        Time stamps in seconds, non-decreasing.
    p_smooth : array-like of float, shape (n,)
    threshold : float
    length : float, default 20.0
        Window length in seconds (the paper's clips are 20 s).
    step : float, default 1.0
        Seconds between window starts.
    classifier : object with ``classify``, optional
        Default :class:`~painsign.signal.signtypes.NearestCentroidSignTypes`.

    Returns
    -------
    list of WindowMetrics
        Empty only for an empty record.

    Examples
    --------
    >>> t = np.arange(0, 30, 0.1)
    >>> ws = sliding_windows(t, np.full(t.size, 0.2), 0.5, length=20.0, step=5.0)
    >>> [(w.t0, round(w.t1, 6)) for w in ws]
    [(0.0, 20.0), (5.0, 25.0)]
    """
    t, p = _check_series(t, p_smooth)
    threshold = _check_threshold(threshold)
    if not (math.isfinite(length) and length > 0 and math.isfinite(step) and step > 0):
        raise ValueError(f"length and step must be > 0 s, got length={length!r}, step={step!r}")
    if t.size == 0:
        return []
    if classifier is None:
        classifier = NearestCentroidSignTypes()
    t_first, t_last = float(t[0]), float(t[-1])
    out = []
    k = 0
    while True:
        t0, t1 = window_bounds(t_first, k, length, step)
        if t1 > t_last:
            break
        a, b = np.searchsorted(t, [t0, t1], side="left")
        out.append(_metrics(p[a:b], threshold, t0, t1, classifier))
        k += 1
    if not out:
        out.append(_metrics(p, threshold, t_first, _record_end(t), classifier))
    return out
