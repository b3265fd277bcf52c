"""Which side of its threshold a sign is on: the one rule every comparison uses.

Ferreira et al. count the crossings of the threshold; a value exactly on the threshold
crosses nothing, so it is on neither side. The same rule decides the crossings
(:func:`~painsign.signal.metrics.crossing_indices`), a window's prediction, the surge and
drop triggers, the monitor's "above the threshold" (the sustained-pain condition) and the
pain / no-pain state of the face snapshots, so a plot marker, an alarm and a snapshot never
disagree about one value. NaN (nothing measured) is on neither side.
"""

from __future__ import annotations

import numpy as np

#: Side of a value above the threshold ("pain").
ABOVE = 1
#: Side of a value below the threshold ("no pain").
BELOW = -1
#: A value exactly on the threshold, or NaN.
ON = 0


def threshold_side(p, threshold: float):
    """Return +1 above, -1 below, 0 exactly on the threshold or NaN.

    Parameters
    ----------
    p : float or array-like of float
        Value(s) of the sign.
    threshold : float

    Returns
    -------
    int or numpy.ndarray of int8
        An ``int`` for a scalar ``p``, else an array of the same shape.

    Examples
    --------
    >>> threshold_side(0.7, 0.5), threshold_side(0.5, 0.5), threshold_side(0.2, 0.5)
    (1, 0, -1)
    >>> threshold_side([0.7, float("nan"), 0.5, 0.1], 0.5)
    array([ 1,  0,  0, -1], dtype=int8)
    """
    x = np.asarray(p, dtype=np.float64)
    side = (x > threshold).astype(np.int8) - (x < threshold).astype(np.int8)
    return int(side) if side.ndim == 0 else side


def above(p, threshold: float) -> bool:
    """Whether ``p`` is strictly above ``threshold`` (on it, or NaN: False).

    Examples
    --------
    >>> above(0.51, 0.5), above(0.5, 0.5), above(float("nan"), 0.5)
    (True, False, False)
    """
    return threshold_side(float(p), threshold) == ABOVE


def below(p, threshold: float) -> bool:
    """Whether ``p`` is strictly below ``threshold`` (on it, or NaN: False).

    Examples
    --------
    >>> below(0.49, 0.5), below(0.5, 0.5)
    (True, False)
    """
    return threshold_side(float(p), threshold) == BELOW
