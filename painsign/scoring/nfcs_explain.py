"""The NFCS proxy's explanation of one frame: the landmarks each active action reads.

The NFCS proxy is transparent by construction: its explanation draws the face landmarks
and, for each facial action above the noise level (intensity 0.15), the landmark
segments its measure uses (:mod:`painsign.scoring.nfcs_features`), coloured by
intensity, with a legend of every action's intensity and P(pain). It is the scorer's
:meth:`~painsign.scoring.nfcs.NfcsScorer.explain` capability.

Pure numpy / OpenCV; no Qt. Images returned are BGR, ready for ``cv2.imwrite``.
"""

from __future__ import annotations

import cv2
import numpy as np

from painsign.errors import InputError
from painsign.scoring.base import Explanation, FaceFrame, Score, display_name
from painsign.scoring.explain_legend import BACKGROUND, VIEW_SIDE, _nfcs_legend, intensity_colour
from painsign.scoring.nfcs import ACTIONS, NOISE, NfcsScorer
from painsign.vision import mesh_indices as M

#: Landmark segments (index pairs) and points each NFCS action's measure reads.
#: Brow bulge also gets segments from its inner brow points down to the eye-corner line,
#: computed per face (:func:`action_segments`).
ACTION_LANDMARKS: dict[str, tuple[tuple[tuple[int, int], ...], tuple[int, ...]]] = {
    "brow_bulge": (
        ((M.RIGHT_BROW_INNER[0], M.LEFT_BROW_INNER[0]), (M.RIGHT_EYE_OUTER, M.LEFT_EYE_OUTER)),
        M.RIGHT_BROW_INNER + M.LEFT_BROW_INNER,
    ),
    "eye_squeeze": (M.RIGHT_LIDS + M.LEFT_LIDS, ()),
    "nasolabial_furrow": (
        ((M.RIGHT_ALA, M.MOUTH_RIGHT), (M.LEFT_ALA, M.MOUTH_LEFT), (M.SUBNASALE, M.UPPER_LIP_TOP)),
        (),
    ),
    "open_lips": (M.INNER_LIP_PAIRS, ()),
    "vertical_stretch": (((M.SUBNASALE, M.CHIN),), ()),
    "horizontal_stretch": (((M.MOUTH_RIGHT, M.MOUTH_LEFT),), (M.MOUTH_RIGHT, M.MOUTH_LEFT)),
    "lip_purse": (((M.MOUTH_RIGHT, M.MOUTH_LEFT),), (M.MOUTH_RIGHT, M.MOUTH_LEFT)),
    "chin_quiver": ((), (M.CHIN,)),
}


def action_segments(action: str, points: np.ndarray) -> tuple[list, list]:
    """Return the pixel segments and points that an NFCS action's measure reads.

    Parameters
    ----------
    action : str
        One of :data:`~painsign.scoring.nfcs.ACTIONS`.
    points : numpy.ndarray
        (468, 2+) mesh points in pixels.

    Returns
    -------
    (list of ((x, y), (x, y)), list of (x, y))
        Segments and single points, as float pairs.

    Raises
    ------
    KeyError
        For an unknown action.
    """
    pairs, singles = ACTION_LANDMARKS[action]
    xy = np.asarray(points, dtype=np.float64)[:, :2]
    segments = [(tuple(xy[a]), tuple(xy[b])) for a, b in pairs]
    if action == "brow_bulge":  # each inner brow point down to the eye-corner line
        a, b = xy[M.RIGHT_EYE_OUTER], xy[M.LEFT_EYE_OUTER]
        d = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        for i in singles:
            foot = a + np.dot(xy[i] - a, d) * d
            segments.append((tuple(xy[i]), tuple(foot)))
    return segments, [tuple(xy[i]) for i in singles]


def render_nfcs(
    rgb: np.ndarray,
    points: np.ndarray,
    box,
    intensities: dict[str, float],
    p: float,
    threshold: float,
    title: str = "NFCS proxy",
    notes: tuple[str, ...] = (),
) -> np.ndarray:
    """Draw the face mesh and each active NFCS action's landmarks, with a legend.

    Parameters
    ----------
    rgb : numpy.ndarray
        The frame, (H, W, 3) RGB uint8.
    points : numpy.ndarray
        (468, 2+) mesh points in pixels.
    box : array-like
        Face box ``[x1, y1, x2, y2]``.
    intensities : dict of str to float
        Intensity of each action in :data:`~painsign.scoring.nfcs.ACTIONS`.
    p, threshold : float
        P(pain) and the decision threshold, printed in the legend.
    title : str
        Header of the legend.
    notes : tuple of str
        Extra legend lines (caveats).

    Returns
    -------
    numpy.ndarray
        BGR uint8: the face (:data:`VIEW_SIDE` square) with the legend on its right,
        all of the legend inside the image (see :func:`nfcs_legend_layout`).
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box).ravel())
    side = max(x2 - x1, y2 - y1) * 1.3
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    s = VIEW_SIDE / max(side, 1.0)
    m = np.array([[s, 0, VIEW_SIDE / 2 - s * cx], [0, s, VIEW_SIDE / 2 - s * cy]])
    bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    view = cv2.warpAffine(
        bgr,
        m,
        (VIEW_SIDE, VIEW_SIDE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(40, 40, 40),
    )
    pts = np.asarray(points, dtype=np.float64)[:, :2] @ m[:, :2].T + m[:, 2]
    for x, y in pts:
        cv2.circle(view, (round(x), round(y)), 1, (225, 225, 225), -1, cv2.LINE_AA)
    for action in ACTIONS:
        level = float(intensities.get(action, 0.0))
        if not level > NOISE:
            continue
        colour = intensity_colour(level)
        segments, singles = action_segments(action, pts)
        for a, b in segments:
            cv2.line(view, _ipt(a), _ipt(b), colour, 3, cv2.LINE_AA)
        for q in singles:
            cv2.circle(view, _ipt(q), 5, colour, -1, cv2.LINE_AA)
    legend = _nfcs_legend(intensities, p, threshold, title, notes)
    if legend.shape[0] > view.shape[0]:  # a long legend: extend the view below the face
        pad = np.full((legend.shape[0] - view.shape[0], view.shape[1], 3), BACKGROUND, np.uint8)
        view = np.vstack([view, pad])
    return np.hstack([view, legend])


def explain_nfcs(scorer: NfcsScorer, frame: FaceFrame, score: Score | None = None) -> Explanation:
    """Explain the NFCS proxy's P(pain) for one frame.

    Parameters
    ----------
    scorer : NfcsScorer
        The scorer (its baseline as learned so far).
    frame : FaceFrame
        The frame with its (found) face.
    score : Score, optional
        The scorer's score of this frame; scored now when omitted (which updates the
        scorer's chin history and, while calibrating, its rest window).

    Returns
    -------
    Explanation
        ``kind == "nfcs"``; ``active`` lists actions with intensity above 0.15.

    Raises
    ------
    InputError
        For a frame without a face or without its landmarks.
    """
    if not frame.face.found or frame.face.box is None or frame.face.landmarks is None:
        raise InputError(f"no face at t={frame.t:.2f} s: nothing to explain")
    if score is None:
        score = scorer.score(frame)
    levels = {a: float(score.details.get(a, 0.0)) for a in ACTIONS}
    notes = (
        ()
        if scorer.calibrated
        else ("not calibrated: population rest values (brow bulge needs a rest image)",)
    )
    display = display_name(scorer)
    image = render_nfcs(
        frame.rgb,
        frame.face.landmarks.points,
        frame.face.box,
        levels,
        float(score.p),
        scorer.threshold,
        display,
        notes,
    )
    active = {a: v for a, v in levels.items() if v > NOISE}
    return Explanation(
        scorer.name,
        display,
        "nfcs",
        float(score.p),
        scorer.threshold,
        image,
        active=active,
        notes=notes,
        label="active actions",
    )


def _ipt(q) -> tuple[int, int]:
    return round(float(q[0])), round(float(q[1]))
