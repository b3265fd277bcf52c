"""From per-frame P(pain) to the pain sign: gap filling and the 1-s moving average.

Ferreira et al.: frames with no detected face give no prediction; the gaps are filled by linear
interpolation, then a moving average of 30 samples (1 s of 30-fps video) removes noise.
painsign: the average is trailing (causal) so that live and replay agree, the first samples
average over what exists, and gaps at the very start or end are held at the nearest value.

:class:`painsign.signal.stream.SignStream` computes the same numbers one sample at a time;
both follow the arithmetic written here, so they agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np


def interpolate_gaps(p) -> np.ndarray:
    """Fill NaN samples (no face) by linear interpolation over the sample index.

    Interior gaps are interpolated linearly between the valid samples on either side,
    over the sample index (not time). Gaps at the start or end are held at the nearest
    valid value. An input with no valid sample stays all-NaN.

    Parameters
    ----------
    p : array-like of float, shape (n,)
        P(pain) per frame, NaN where no face was found.

    Returns
    -------
    numpy.ndarray
        float64, shape (n,), with no NaN unless the input was all-NaN.

    Examples
    --------
    >>> interpolate_gaps([np.nan, 0.2, np.nan, np.nan, 0.5, np.nan])
    array([0.2, 0.2, 0.3, 0.4, 0.5, 0.5])
    """
    p = np.array(p, dtype=np.float64).ravel()
    valid = ~np.isnan(p)
    if valid.all() or not valid.any():
        return p
    idx = np.flatnonzero(valid)
    gaps = np.flatnonzero(~valid)
    # np.interp holds values outside [idx[0], idx[-1]] at the end values, as required.
    p[gaps] = np.interp(gaps, idx, p[idx])
    return p


def smoothing_window(fps: float, seconds: float = 1.0) -> int:
    """Return the moving-average length in samples: ``round(fps * seconds)``, at least 1.

    Parameters
    ----------
    fps : float
        Frame rate of the sign in samples per second, > 0.
    seconds : float, default 1.0
        Span of the average (Ferreira et al.: 1 s).

    Returns
    -------
    int

    Examples
    --------
    >>> smoothing_window(30.0), smoothing_window(25.0), smoothing_window(0.5)
    (30, 25, 1)
    """
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number of frames per second, got {fps!r}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    return max(1, round(fps * seconds))


def mean_frame_rate(t) -> float:
    """Return the mean frame rate of time stamps: frames per second over the whole record.

    ``(n - 1) / (t[-1] - t[0])``: the number of intervals over their total length. For a
    variable frame rate file this, not the median interval, is what makes
    ``smoothing_window(mean_frame_rate(t))`` samples last 1 s on average (a file whose
    median interval says 24 fps but which averages 26.6 frames per second would otherwise
    average over 24 / 26.6 = 0.9 s).

    Parameters
    ----------
    t : array-like of float, shape (n,)
        Time stamps in seconds, increasing.

    Returns
    -------
    float
        Frames per second; NaN with fewer than two samples or no elapsed time.

    Examples
    --------
    >>> mean_frame_rate([0.0, 0.04, 0.07, 0.1])
    30.0
    """
    t = np.asarray(t, dtype=np.float64).ravel()
    if t.size < 2:
        return math.nan
    span = float(t[-1] - t[0])
    return (t.size - 1) / span if math.isfinite(span) and span > 0 else math.nan


def moving_average(x, window: int) -> np.ndarray:
    """Trailing (causal) moving average; the first samples average over what exists.

    ``y[i] = mean(x[max(0, i - window + 1) : i + 1])``. NaN samples are left out of the
    mean, and a stretch with no valid sample gives NaN.

    Computed from running (cumulative) sums ``P[i] = P[i-1] + x[i-1]``, ``P[0] = 0``::

        y[i] = (P[i + 1] - P[max(0, i + 1 - window)]) / (number of valid samples)

    :class:`~painsign.signal.stream.SignStream` keeps the same running sum, so both give
    identical floats. Rounding error grows like n * 1e-16 of the running sum: about 1e-11
    of probability after a day at 30 fps.

    Parameters
    ----------
    x : array-like of float, shape (n,)
    window : int
        Number of samples, >= 1 (see :func:`smoothing_window`).

    Returns
    -------
    numpy.ndarray
        float64, shape (n,).

    Examples
    --------
    >>> moving_average([0.0, 1.0, 2.0, 3.0, 4.0], 3)
    array([0. , 0.5, 1. , 2. , 3. ])
    """
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be an integer >= 1 sample, got {window!r}")
    x = np.asarray(x, dtype=np.float64).ravel()
    valid = ~np.isnan(x)
    sums = np.cumsum(np.concatenate(([0.0], np.where(valid, x, 0.0))))
    counts = np.cumsum(np.concatenate(([0], valid.astype(np.int64))))
    hi = np.arange(1, x.size + 1)
    lo = np.maximum(hi - window, 0)
    n = counts[hi] - counts[lo]
    # Where a window holds no valid sample its sums are equal, and 0.0 / 0 gives NaN.
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums[hi] - sums[lo]) / n


def smooth_sign(p_raw, fps: float = 30.0, t=None) -> tuple[np.ndarray, np.ndarray]:
    """Return the pain sign of a record: ``(p_interp, p_smooth)``.

    ``p_interp = interpolate_gaps(p_raw)`` and
    ``p_smooth = moving_average(p_interp, smoothing_window(fps))``.

    Parameters
    ----------
    p_raw : array-like of float, shape (n,)
        P(pain) per frame, NaN where no face was found.
    fps : float, default 30.0
        Frame rate; the average spans 1 s of samples.
    t : array-like of float, shape (n,), optional
        Time stamps of the samples. When given (and spanning some time), the frame rate
        is their :func:`mean_frame_rate` instead of ``fps``, so that the average spans 1 s
        of a variable frame rate record too.

    Returns
    -------
    tuple of numpy.ndarray

    Examples
    --------
    >>> p_interp, p_smooth = smooth_sign([0.0, np.nan, 1.0], fps=2.0)
    >>> p_interp, p_smooth
    (array([0. , 0.5, 1. ]), array([0.  , 0.25, 0.75]))
    """
    p_interp = interpolate_gaps(p_raw)
    if t is not None:
        if len(t) != p_interp.size:
            raise ValueError(f"t has {len(t)} time stamps for {p_interp.size} samples")
        rate = mean_frame_rate(t)
        fps = rate if math.isfinite(rate) else fps
    return p_interp, moving_average(p_interp, smoothing_window(fps))
