"""The default pain score: a CNN trained on real faces, and NFCS facial actions, averaged,
with a smile never counting as pain.

Per frame with a face::

    P(pain) = (1 - P_happy) * (P_expression + P_nfcs) / 2

- ``P_expression`` (:class:`~painsign.scoring.expression.ExpressionScorer`): the FER2013
  CNN's summed probability of anger, disgust, fear and sadness, the expressions that share
  pain's brow lowering, eye narrowing and mouth stretching. Trained on real faces, so it
  knows what a real brow or eyelid looks like, but on adults and never on pain.
- ``P_nfcs`` (:class:`~painsign.scoring.nfcs.NfcsScorer`): the transparent count of NFCS
  facial actions against the patient's own rest face, the coding system made for newborns.
- Averaging: the two err in different ways (the CNN on faces unlike its training photos,
  the proxy on faces unlike its rest baseline), so neither alone can take the sign over the
  threshold; both must lean towards pain. The mean of two probabilities stays a number in
  [0, 1] that the pain sign's threshold, entropy and crossings apply to unchanged.
- The smile factor: a smile shares the eye narrowing and the open, widened mouth of a pain
  face, which is how the first NFCS proxy came to read laughter as pain. The CNN's
  P(happy), learned from real smiles, scales the score down, to 0 for a sure smile. The
  NFCS part also masks its own mouth actions when the lip corners rise above the lips'
  midline (:data:`~painsign.scoring.nfcs.SMILE_MASKED`); that geometric test cannot tell a
  smile from a lower lip dropped with the corners left in place, so it only masks.

The two parts stay available as scorers of their own (``expression``, ``nfcs``), and the
NFCS rest baseline is only learned from a window the CNN calls neither pain-like nor a
smile.
"""

from __future__ import annotations

import math

from painsign.scoring.base import FaceFrame, Score
from painsign.scoring.expression import ExpressionScorer
from painsign.scoring.nfcs import NfcsScorer


class DefaultPainScorer:
    """The default pain score (see the module docstring for the formula and why).

    Parameters
    ----------
    expression : ExpressionScorer, optional
        The CNN part; a new one on the default model when omitted.
    nfcs : NfcsScorer, optional
        The NFCS part; a new one when omitted. Its calm check is set to the CNN's
        larger of P(pain-like) and P(happy), so its rest baseline comes only from a face
        both call calm.
    name : str
        Scorer name (column suffix in reports).
    threshold : float
        Decision threshold; 0.5, as each part's.
    """

    def __init__(
        self,
        expression: ExpressionScorer | None = None,
        nfcs: NfcsScorer | None = None,
        name: str = "pain",
        threshold: float = 0.5,
    ):
        self.expression = expression or ExpressionScorer()
        self.nfcs = nfcs or NfcsScorer()
        self.nfcs.calm_check = self._not_calm
        self.name = name
        self.display_name = "Pain (expression + NFCS)"
        self.threshold = threshold

    @property
    def parts(self) -> list:
        """The two part scorers, to run (and report) beside this one."""
        return [self.expression, self.nfcs]

    def score(self, frame: FaceFrame) -> Score:
        """Return the default P(pain); both parts' values and P(happy) in the details."""
        expr = self.expression.score(frame)
        nfcs = self.nfcs.score(frame)
        happy = expr.details["happy"]
        # An NFCS part that cannot see the face (covered) leaves the frame unscored: NaN.
        p = (1.0 - happy) * (expr.p + nfcs.p) / 2.0
        details = dict(nfcs.details)
        details.update(p_expression=expr.p, p_nfcs=nfcs.p, happy=happy)
        return Score(float(p), details, (nfcs.reason or expr.reason) if math.isnan(p) else None)

    def reset(self) -> None:
        """Forget the patient (the NFCS baseline) and the cached frame."""
        self.expression.reset()
        self.nfcs.reset()

    def _not_calm(self, frame: FaceFrame) -> float:
        expr = self.expression.score(frame)
        return max(expr.p, expr.details["happy"])


def default_scorers(calibration_s: float = 3.0, store=None) -> list:
    """Return the built-in scorers: the default first, then its parts.

    Parameters
    ----------
    calibration_s : float
        Length of the NFCS rest window (0: never learned automatically).
    store : ModelStore, optional
        Where the expression model comes from.
    """
    from painsign.vision.expression import ExpressionModel

    default = DefaultPainScorer(
        ExpressionScorer(ExpressionModel(store)), NfcsScorer(calibration_s=calibration_s)
    )
    return [default, *default.parts]
