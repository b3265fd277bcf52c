"""NFCS facial actions as landmark displacements, for animating a real face.

Each action moves a set of Face Mesh points, in face units (the inter-ocular distance)
along the face's own axes, by an amount proportional to the action's intensity in [0, 1].
The displacements are plausible caricatures of the neonatal facial actions, meant to
produce test and demo videos with known ground truth, not a model of real faces.
"""

from __future__ import annotations

import numpy as np

from painsign.vision import mesh_indices as M
from painsign.vision.face_frame import FaceAxes

#: The actions the animator can inject (chin quiver oscillates; see :func:`displacements`).
ACTIONS = (
    "brow_bulge",
    "eye_squeeze",
    "nasolabial_furrow",
    "open_lips",
    "vertical_stretch",
    "horizontal_stretch",
    "lip_purse",
    "chin_quiver",
)
#: Frequency of the injected chin quiver, Hz.
QUIVER_HZ = 6.0

_LIPS = sorted(
    set(M.LIPS_UPPER_OUTER + M.LIPS_LOWER_OUTER + M.LIPS_UPPER_INNER + M.LIPS_LOWER_INNER)
)
_LOWER_LIP = sorted(set(M.LIPS_LOWER_OUTER + M.LIPS_LOWER_INNER))
_UPPER_LIP = sorted(set(M.LIPS_UPPER_OUTER + M.LIPS_UPPER_INNER) - {M.MOUTH_RIGHT, M.MOUTH_LEFT})
_ALAE = (M.RIGHT_ALA, M.LEFT_ALA, 98, 327, 48, 278, 129, 358, 102, 331)


def _eye_closing(uv: np.ndarray, outer: int, inner: int) -> np.ndarray:
    """Slide the upper eyelid's skin down over the eye and lift the lower lid.

    The mesh's lid points sit inside the visible lid margins, so moving them alone only
    squashes the eye; the whole upper lid region moves, tapering towards the corners.
    """
    a, b = uv[outer], uv[inner]
    centre, half = (a + b) / 2, abs(b[0] - a[0]) / 2
    along = np.clip(1.0 - ((uv[:, 0] - centre[0]) / (half * 1.1)) ** 2, 0.0, 1.0)
    rel = uv[:, 1] - centre[1]
    upper = (rel < 0.01) & (rel > -0.28)
    lower = (rel >= 0.01) & (rel < 0.12)
    out = np.zeros_like(uv)
    out[upper, 1] = 0.085 * along[upper] * np.clip(1.0 + rel[upper] / 0.28, 0.0, 1.0) ** 0.5
    out[lower, 1] = -0.03 * along[lower]
    return out


def displacements(
    rest: np.ndarray, intensities: dict[str, float], t: float = 0.0, *, clean: bool = False
):
    """Return pixel displacements (468, 2) of the mesh for the given action intensities.

    Parameters
    ----------
    rest : numpy.ndarray
        (468, 2+) mesh of the face at rest, in pixels.
    intensities : dict of str to float
        Intensity in [0, 1] per action name of :data:`ACTIONS`; missing ones are 0.
    t : float
        Time in seconds (drives the chin quiver's oscillation).
    clean : bool
        Spread each action's moves on its own, then add them, and smooth the brows' moves
        along the brow. Where actions meet (a lowered brow above a closing lid, an opening
        lower lip above a stretched chin) the neighbours then follow each action instead of
        being pinned by the other, so fewer triangles fold and thin dark lines (glasses
        rims) bend instead of tearing. For the demo video; the default keeps the frames the
        tests were tuned on.

    Returns
    -------
    numpy.ndarray
        (468, 2) displacements in pixels.
    """
    unknown = set(intensities) - set(ACTIONS)
    if unknown:
        raise ValueError(f"unknown actions {sorted(unknown)}; known: {ACTIONS}")
    axes = FaceAxes.from_points(rest)
    uv = axes.to_local(rest)
    k = {a: float(np.clip(intensities.get(a, 0.0), 0.0, 1.0)) for a in ACTIONS}
    if not clean:
        return axes.to_pixels_delta(_spread(uv, _moves(uv, k, t)))
    total = np.zeros_like(uv)
    for name in ACTIONS:
        if k[name]:
            alone = {a: (k[a] if a == name else 0.0) for a in ACTIONS}
            total += _spread(uv, _moves(uv, alone, t), blur=name == "brow_bulge")
    return axes.to_pixels_delta(total)


def _moves(uv: np.ndarray, k: dict[str, float], t: float) -> np.ndarray:
    """Return the moves (468, 2), in face units, of the points each action acts on."""
    duv = np.zeros_like(uv)
    if k["brow_bulge"]:
        for brow, inner in ((M.RIGHT_BROW, M.RIGHT_BROW_INNER), (M.LEFT_BROW, M.LEFT_BROW_INNER)):
            for i in brow:
                weight = 1.0 if i in inner else 0.5
                duv[i] += k["brow_bulge"] * np.array([-0.07 * np.sign(uv[i, 0]) * weight, 0.10])
    if k["eye_squeeze"]:
        for outer, inner in (
            (M.RIGHT_EYE_OUTER, M.RIGHT_EYE_INNER),
            (M.LEFT_EYE_OUTER, M.LEFT_EYE_INNER),
        ):
            duv += k["eye_squeeze"] * _eye_closing(uv, outer, inner)
    if k["nasolabial_furrow"]:
        s = k["nasolabial_furrow"]
        for i in _ALAE:
            duv[i] += s * np.array([0.04 * np.sign(uv[i, 0]), -0.05])
        for i in _UPPER_LIP:
            duv[i] += s * np.array([0.0, -0.07])
        for i in (M.MOUTH_RIGHT, M.MOUTH_LEFT):
            duv[i] += s * np.array([0.0, -0.06])
    if k["open_lips"]:
        for i in _LOWER_LIP:
            duv[i] += k["open_lips"] * np.array([0.0, 0.10])
        for i in M.LIPS_UPPER_INNER[1:-1]:
            duv[i] += k["open_lips"] * np.array([0.0, -0.02])
    if k["vertical_stretch"]:
        corner_v = uv[[M.MOUTH_RIGHT, M.MOUTH_LEFT], 1].mean()
        ramp = np.clip((uv[:, 1] - corner_v) / (uv[M.CHIN, 1] - corner_v), 0.0, 1.0)
        duv[:, 1] += k["vertical_stretch"] * 0.22 * np.sqrt(ramp)
    mouth_u = uv[[M.MOUTH_RIGHT, M.MOUTH_LEFT], 0].mean()
    half_width = abs(uv[M.MOUTH_LEFT, 0] - uv[M.MOUTH_RIGHT, 0]) / 2
    if k["horizontal_stretch"]:
        for i in _LIPS:
            duv[i, 0] += k["horizontal_stretch"] * 0.14 * (uv[i, 0] - mouth_u) / half_width
    if k["lip_purse"]:
        for i in _LIPS:
            duv[i, 0] -= k["lip_purse"] * 0.30 * (uv[i, 0] - mouth_u)
    if k["chin_quiver"]:
        corner_v = uv[[M.MOUTH_RIGHT, M.MOUTH_LEFT], 1].mean()
        ramp = np.clip((uv[:, 1] - corner_v) / (uv[M.CHIN, 1] - corner_v), 0.0, 1.0)
        duv[:, 1] += k["chin_quiver"] * 0.05 * ramp * np.sin(2 * np.pi * QUIVER_HZ * t)
    return duv


def _spread(uv: np.ndarray, duv: np.ndarray, sigma: float = 0.1, blur: bool = False) -> np.ndarray:
    """Let points near the moved ones follow them, with a Gaussian fall-off.

    Moving a few mesh points alone folds the triangles around them and tears the picture;
    neighbours that follow a distance-weighted average of the moves keep the warp smooth.
    With ``blur`` the moved points also take that average, which evens out steps between
    neighbouring moved points.
    """
    moved = np.abs(duv).sum(axis=1) > 0
    if not moved.any():
        return duv
    d2 = ((uv[:, None, :] - uv[None, moved, :]) ** 2).sum(axis=2)
    k = np.exp(-d2 / (2 * sigma**2))
    near = k.max(axis=1)
    follow = (k @ duv[moved]) / np.maximum(k.sum(axis=1), 1e-12)[:, None]
    out = follow * near[:, None]
    if not blur:
        out[moved] = duv[moved]
    return out
