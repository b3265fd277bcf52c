"""When a face image is worth keeping: the first one of each pain / no-pain state.

Snapshots are opt-in (privacy: by default no frame of the baby's face is stored); when they
are on, only the first face image of each new state is kept (Carlini et al.). The state
follows the one side rule (:func:`~painsign.signal.threshold.threshold_side`): above the
threshold is pain, below is no pain, a value exactly on the threshold or NaN keeps the
current state. The first state of a record counts as a change, so a record with N crossings
(:func:`~painsign.signal.threshold_crossings`) gives **N + 1 snapshots**.

The rule only decides; the monitor cuts and encodes the face and storage stores the bytes.
"""

from __future__ import annotations

from painsign.signal.threshold import ABOVE, BELOW, threshold_side

#: The snapshot states, as stored (``snapshots.state``).
PAIN, NO_PAIN = "pain", "no pain"


class SnapshotRule:
    """Say when the first face image of a pain / no-pain state is wanted.

    A wanted snapshot stays wanted (:meth:`update` keeps returning its state) until
    :meth:`taken` is called, e.g. while no face crop can be cut, or until the state changes.

    Parameters
    ----------
    threshold : float
        The scorer's decision threshold.

    Attributes
    ----------
    state : str or None
        :data:`PAIN`, :data:`NO_PAIN`, or None before the first value off the threshold.
    count : int
        Snapshots taken.

    Examples
    --------
    >>> rule = SnapshotRule(0.5)
    >>> [rule.update(p) for p in (0.5, 0.2, 0.3)]
    [None, 'no pain', 'no pain']
    >>> rule.taken(); rule.update(0.3), rule.update(0.8)
    (None, 'pain')
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self.state: str | None = None
        self.count = 0
        self._wanted = False

    def update(self, p: float) -> str | None:
        """Feed one value of the sign; return the state whose snapshot is wanted now, or
        None when none is."""
        side = threshold_side(float(p), self.threshold)
        new = PAIN if side == ABOVE else NO_PAIN if side == BELOW else self.state
        if new is not None and new != self.state:
            self.state, self._wanted = new, True
        return self.state if self._wanted else None

    def taken(self) -> None:
        """The wanted snapshot was stored: nothing more is wanted until the state changes."""
        if self._wanted:
            self._wanted = False
            self.count += 1
