"""The NFCS scorer's rest-window rule: when a stretch of scored frames is a calm,
well-seen face to learn this patient's rest baseline from. The scorer
(:class:`~painsign.scoring.nfcs.NfcsScorer`) adopts it, and the chunks of a recording
analysed in parallel replay the same rule.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: A calibration window is calm when at least CALM_FACE_FRACTION of its frames have a face,
#: CALM_QUANTILE of its P(pain) (against the current baseline) stay below CALM_P, and as
#: many of the optional expression check's values (see ``NfcsScorer.calm_check``) below
#: CALM_EXPRESSION. With P below CALM_P before and near 0 after, the 1-s mean of P(pain)
#: moves by less than the 0.3 of a surge or drop when the baseline changes.
CALM_FACE_FRACTION = 0.9
CALM_QUANTILE = 0.9
CALM_P = 0.25
CALM_EXPRESSION = 0.5


class RestSample(NamedTuple):
    """What the rest-window rule keeps of one scored frame."""

    t: float
    values: np.ndarray | None  # None in a sample replayed for the window rule alone
    crop: np.ndarray | None
    pts: np.ndarray | None
    p: float
    upset: float


def slide_window(
    window: list[RestSample], sample: RestSample, calibration_s: float
) -> tuple[list[RestSample], list[RestSample] | None, str]:
    """One step of the rest-window rule: ``(window, calm, reason)``.

    The sample joins the window. Once it spans ``calibration_s`` it is either calm and
    well seen (returned as ``calm``, the window starts afresh) or not (``reason`` says why
    and it slides on by half its length, to be tried later).
    """
    window = [*window, sample]
    if sample.t - window[0].t < calibration_s:
        return window, None, ""
    calm = not_calm(window)
    reason = f"face not calm ({calm})" if calm else sparse(window)
    if reason:
        half = window[0].t + calibration_s / 2
        return [s for s in window if s.t >= half], None, reason
    return [], window, ""


def not_calm(samples: list[RestSample]) -> str:
    """Why these samples are not a calm face, or "" when they are."""
    p = float(np.quantile([s.p for s in samples], CALM_QUANTILE))
    if p >= CALM_P:
        return f"facial actions, P {p:.2f}"
    upset = float(np.quantile([s.upset for s in samples], CALM_QUANTILE))
    if upset >= CALM_EXPRESSION:
        return f"expression pain-like or smiling, {upset:.2f}"
    return ""


def sparse(samples: list[RestSample]) -> str:
    """Why a window has too few frames with a face, or "" when it has enough.

    Frames without a face never reach the scorer, so the expected count comes from the
    window's span and its median frame interval.
    """
    t = np.array([s.t for s in samples])
    if len(t) < 2:
        return "too few frames with a face"
    dt = float(np.median(np.diff(t)))
    expected = (t[-1] - t[0]) / dt + 1 if dt > 0 else len(t)
    if len(t) < CALM_FACE_FRACTION * expected:
        return f"face seen in {len(t) / expected:.0%} of the window"
    return ""
