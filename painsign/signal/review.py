"""The manual-review branch: which windows of the pain sign a person should look at.

Two sources in the seeds send a case to a person instead of deciding it automatically:

* **Low confidence** (Zhao et al., 2024): a case whose top softmax probability is below
  a confidence threshold goes to a nurse (0.55 in the paper: 10 of 187 cases). For a binary
  classifier with threshold 0.5 the top probability is ``max(p, 1 - p)``, and
  ``max(p, 1 - p) < c`` is the same as ``|p - 0.5| < c - 0.5``. painsign generalises this
  to any decision threshold: a window whose mean sign lies within ``band`` of the scorer's
  threshold, ``|mean - threshold| < band``, needs review; Zhao et al.'s ``c = 0.55`` is
  ``band = 0.05`` (:func:`band_for_confidence`). A mean exactly ``band`` away is confident
  (the paper's test is "below"); a tolerance of :data:`EDGE_TOLERANCE` keeps decimal edges
  such as 0.45 / 0.55 exact despite floating-point rounding.
* **Sign type** (Ferreira et al.): an **unstable** or **indeterminate** sign goes
  to human review whatever the prediction (the decision matrix).

A window without a sign (NaN mean: no face in the whole record) needs review too.
Pure Python; no Qt, no camera.
"""

from __future__ import annotations

import math

from painsign.signal.signtypes import SignType

#: Zhao et al.'s confidence threshold and the band it maps to around a 0.5 threshold.
SEED001_CONFIDENCE = 0.55
DEFAULT_BAND = 0.05
#: Slack on the band edge so that decimal edges (0.45 for 0.5 +- 0.05) are not reviewed
#: because of floating-point rounding (0.5 - 0.45 = 0.04999999999999999).
EDGE_TOLERANCE = 1e-9

_REVIEW_TYPES = (SignType.UNSTABLE, SignType.INDETERMINATE)


def band_for_confidence(confidence: float) -> float:
    """Return the band around the threshold equivalent to a top-probability confidence.

    For a binary classifier with threshold 0.5, ``max(p, 1 - p) < confidence`` holds
    exactly when ``|p - 0.5| < confidence - 0.5``.

    Parameters
    ----------
    confidence : float
        Confidence threshold on the top class probability, in [0.5, 1].

    Returns
    -------
    float
        ``confidence - 0.5``.

    Raises
    ------
    ValueError
        When ``confidence`` is not in [0.5, 1].

    Examples
    --------
    >>> round(band_for_confidence(0.55), 6)
    0.05
    """
    confidence = float(confidence)
    if not 0.5 <= confidence <= 1.0:
        raise ValueError(f"confidence must be in [0.5, 1], got {confidence!r}")
    return confidence - 0.5


def needs_review(
    window_mean: float | None,
    threshold: float,
    sign_type: str | None,
    band: float = DEFAULT_BAND,
) -> tuple[bool, str]:
    """Whether a window of the pain sign should go to a person, and why.

    Review is needed when the mean is NaN or None (no face: "no face"), when
    ``|window_mean - threshold| < band`` (low confidence, Zhao et al.), or when the sign type
    is unstable or indeterminate (Ferreira et al.). Several reasons are joined by ``"; "``.

    Parameters
    ----------
    window_mean : float or None
        Mean of the smoothed sign over the window.
    threshold : float
        The scorer's decision threshold.
    sign_type : str or None
        ``"stable"``, ``"irregular"``, ``"unstable"`` or ``"indeterminate"``; None when
        unknown (no sign).
    band : float, default 0.05
        Half-width of the low-confidence band around the threshold (Zhao et al.'s 0.55
        confidence for a 0.5 threshold; see :func:`band_for_confidence`). 0 disables it.

    Returns
    -------
    (bool, str)
        True and the reason(s), or False and ``""``.

    Raises
    ------
    ValueError
        For a threshold that is not finite, a negative or non-finite band, or an unknown
        sign type.

    Examples
    --------
    >>> needs_review(0.52, 0.5, "stable")
    (True, 'low confidence: mean 0.520 within 0.05 of threshold 0.500')
    >>> needs_review(0.9, 0.5, "stable")
    (False, '')
    >>> needs_review(0.9, 0.5, "unstable")
    (True, 'unstable sign: human review (decision matrix)')
    >>> needs_review(float("nan"), 0.5, None)
    (True, 'no face')
    """
    threshold = float(threshold)
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite probability, got {threshold!r}")
    band = float(band)
    if not (math.isfinite(band) and band >= 0):
        raise ValueError(f"band must be a finite number >= 0, got {band!r}")
    kind = None
    if sign_type is not None:
        try:
            kind = SignType(sign_type)
        except ValueError:
            names = ", ".join(repr(s.value) for s in SignType)
            raise ValueError(f"unknown sign type {sign_type!r}; use one of {names}") from None
    if window_mean is None or math.isnan(float(window_mean)):
        return True, "no face"
    mean = float(window_mean)
    reasons = []
    if abs(mean - threshold) < band - EDGE_TOLERANCE:
        reasons.append(
            f"low confidence: mean {mean:.3f} within {band:g} of threshold {threshold:.3f}"
        )
    if kind in _REVIEW_TYPES:
        reasons.append(f"{kind.value} sign: human review (decision matrix)")
    return bool(reasons), "; ".join(reasons)
