"""One scorer's call on one frame, its failure confined to that scorer.

A plug-in classifier may raise, or give NaN, inf or a value outside [0, 1]. Then that
scorer's score of that frame is NaN with a failure reason, and the other scorers, the
facial actions and the alarms go on. A NaN *with* a reason (:attr:`Score.reason
<painsign.scoring.base.Score.reason>`: the face is covered, a background scorer is busy)
is a frame the scorer cannot score, not a failure; a NaN without one is a failure, never
"no face".
"""

from __future__ import annotations

import math

from painsign.errors import PainsignError
from painsign.scoring.base import FaceFrame, Score

#: Longest failure reason kept (an onnxruntime message can run to kilobytes).
MAX_REASON = 300


def value_text(v: float) -> str:
    """A number as a failure reason writes it: ``NaN``, ``inf``, ``-inf`` or ``1.7``.

    Examples
    --------
    >>> value_text(float("nan")), value_text(float("-inf")), value_text(1.7)
    ('NaN', '-inf', '1.7')
    """
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.6g}"


def output_failure(p: float) -> str | None:
    """Why ``p`` is not a probability (``"output NaN"``, ``"output 1.7 out of [0, 1]"``),
    or None when it is one."""
    if not math.isfinite(p):
        return f"output {value_text(p)}"
    if not 0.0 <= p <= 1.0:
        return f"output {value_text(p)} out of [0, 1]"
    return None


def exception_reason(exc: BaseException) -> str:
    """One line saying what went wrong: a painsign error's own message, else the
    exception's type and message (``"RuntimeError: ..."``), at most :data:`MAX_REASON`
    characters."""
    text = " ".join(str(exc).split())
    if not isinstance(exc, PainsignError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def guarded_score(scorer, frame: FaceFrame) -> tuple[Score, str | None]:
    """Call ``scorer`` on ``frame``; return its score and, if it failed, why.

    Parameters
    ----------
    scorer : Scorer
        Any scorer.
    frame : FaceFrame
        The frame and its face.

    Returns
    -------
    score : Score
        The scorer's score; on failure NaN with no details.
    failure : str or None
        The reason when the scorer raised or its output is NaN without a reason, inf, or
        outside [0, 1]; None otherwise (a NaN with a reason is not a failure).
    """
    try:
        score = scorer.score(frame)
        p = float(score.p)
    except Exception as exc:  # a scorer's fault stays in its own column
        return Score(math.nan), exception_reason(exc)
    if math.isnan(p) and score.reason:
        return Score(math.nan, score.details, score.reason), None
    failure = output_failure(p)
    if failure is not None:
        return Score(math.nan), failure
    return Score(p, score.details), None
