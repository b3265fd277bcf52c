"""The operator's Calibrate button over every scorer that learns a rest baseline.

Which scorers have one is their :class:`~painsign.scoring.base.Calibratable` capability,
never their class: a second stateful scorer is asked, and shown, like the NFCS proxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from painsign.scoring.base import Calibratable, CalibrationRefused, display_name

#: Why Calibrate was refused with no face in view (every scorer needs one).
NO_FACE = "no face: calibrate with the face in view"


def calibratable(scorers: Sequence) -> list:
    """The scorers with a rest baseline, in order."""
    return [s for s in scorers if isinstance(s, Calibratable)]


def calibrate_all(scorers: Sequence, face: bool) -> str:
    """Ask every calibratable scorer to learn a new baseline; return the refusals.

    Parameters
    ----------
    scorers : sequence of Scorer
        The running scorers (those without the capability are left alone).
    face : bool
        Whether the patient's face is in view now.

    Returns
    -------
    str
        ``""`` when every one accepted; else ``"calibration refused: REASON"``, each
        reason after its scorer's display name when more than one scorer calibrates
        (``"calibration refused: NFCS proxy: face not calm (...); Mine: ..."``).
    """
    targets = calibratable(scorers)
    if not targets:
        return ""
    if not face:
        return f"calibration refused: {NO_FACE}"
    refusals = []
    for s in targets:
        try:
            s.recalibrate()
        except CalibrationRefused as refused:
            refusals.append(f"{display_name(s)}: {refused}" if len(targets) > 1 else str(refused))
    return f"calibration refused: {'; '.join(refusals)}" if refusals else ""


@dataclass(frozen=True)
class BaselineView:
    """What the view shows of the calibratable scorers' baselines.

    Attributes
    ----------
    available : bool
        Whether any running scorer can be calibrated (the Calibrate button shows).
    calibrated : bool
        Every one of them has its own rest baseline.
    calibrating : bool
        At least one is collecting a rest window.
    status : str
        Their baselines in words, each after its display name when there are several.
    """

    available: bool
    calibrated: bool
    calibrating: bool
    status: str


def baseline_view(scorers: Sequence) -> BaselineView:
    """The calibratable scorers' baselines, for the view (see :class:`BaselineView`)."""
    targets = calibratable(scorers)
    if not targets:
        return BaselineView(False, False, False, "")
    if len(targets) == 1:
        status = targets[0].baseline_status
    else:
        status = "; ".join(f"{display_name(s)}: {s.baseline_status}" for s in targets)
    return BaselineView(
        True, all(s.calibrated for s in targets), any(s.calibrating for s in targets), status
    )
