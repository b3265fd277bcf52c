"""A pain-like expression score from a CNN trained on real faces (FER2013).

:class:`ExpressionScorer` gives P(pain-like expression): the summed probability of the
expressions whose facial actions overlap those of a pain face (anger, disgust, fear,
sadness: brow lowering, eye narrowing, nose wrinkling, mouth stretching; see
:data:`painsign.vision.expression.PAIN_LIKE`). Happiness and surprise share none of the
brow and eye actions of pain and count for nothing. The network was trained on about
35,000 photos of real adult faces, never on newborns and never on pain: it is a research
signal, not a validated pain classifier.
"""

from __future__ import annotations

import numpy as np

from painsign.scoring.base import FaceFrame, Score
from painsign.vision.expression import EXPRESSIONS, PAIN_LIKE, ExpressionModel

_PAIN_IDX = [EXPRESSIONS.index(e) for e in PAIN_LIKE]


class ExpressionScorer:
    """P(pain-like expression) of the face, from the FER2013 expression CNN.

    Parameters
    ----------
    model : ExpressionModel, optional
        The expression network; the default model when omitted.
    name : str
        Scorer name (column suffix in reports).
    threshold : float
        Decision threshold: 0.5 means the pain-like expressions hold most of the mass.

    Notes
    -----
    ``score`` returns the same :class:`Score` again when called twice with the same
    frame object, so the default scorer and this one can share one inference per frame.
    """

    def __init__(
        self, model: ExpressionModel | None = None, name: str = "expression", threshold: float = 0.5
    ):
        self.model = model or ExpressionModel()
        self.name = name
        self.display_name = "Expression CNN"
        self.threshold = threshold
        self._last: tuple[FaceFrame, Score] | None = None

    def score(self, frame: FaceFrame) -> Score:
        """Return P(pain-like expression); each expression's probability in the details."""
        if self._last is not None and self._last[0] is frame:
            return self._last[1]
        mesh = frame.face.landmarks
        probs = self.model.infer(frame.rgb, frame.face.box, None if mesh is None else mesh.points)
        p = float(np.clip(probs[_PAIN_IDX].sum(), 0.0, 1.0))
        result = Score(p, {e: float(v) for e, v in zip(EXPRESSIONS, probs, strict=True)})
        self._last = (frame, result)
        return result

    def reset(self) -> None:
        """Nothing is learned per recording; forget the cached frame."""
        self._last = None
