"""Geometric measures of the NFCS facial actions from the 468-point Face Mesh.

Every measure is a distance or ratio in face units (the inter-ocular distance between the
outer eye corners), so it does not depend on the face's size, position or roll. A facial
action is a change of its measure away from the patient's rest value (see
:mod:`painsign.scoring.nfcs`).

=============  ===========================================================  ==============
measure        definition (indices in :mod:`painsign.vision.mesh_indices`)  in pain
=============  ===========================================================  ==============
brow_eye       height of the inner brows above the eye-corner line          falls
brow_gap       distance between the two inner brow ends                     falls
eye_aperture   mean lid gap / eye width (corner to corner), both eyes       falls
nasolabial     mean distance nose wing -> mouth corner, both sides          falls
upper_lip      distance subnasale -> top of the upper lip                   falls
lip_gap        mean gap between the inner lips                              rises
face_height    distance subnasale -> chin                                   rises
mouth_width    distance between the mouth corners                           rises / falls
chin           chin height below the nose tip (for chin quiver)             oscillates
corner_lift    height of the mouth corners above the inner lips' midpoint   (smile: rises)
=============  ===========================================================  ==============

Mouth width rises in a horizontal stretch and falls in a lip purse. ``corner_lift`` is not
a pain action: lip corners pulled up (a smile) make the mouth wider and open it too, so the
scorer uses it to tell a smile from a pain face (see :mod:`painsign.scoring.nfcs`).
"""

from __future__ import annotations

import cv2
import numpy as np

from painsign.vision import mesh_indices as M
from painsign.vision.face_frame import FaceAxes
from painsign.vision.geometry import warp_linear

MEASURES = (
    "brow_eye",
    "brow_gap",
    "eye_aperture",
    "nasolabial",
    "upper_lip",
    "lip_gap",
    "face_height",
    "mouth_width",
    "chin",
    "corner_lift",
)


#: The landmark pairs whose distances the measures use, in this order: brow gap; the
#: right eye's three lid pairs and its width; the same for the left eye; the two nose
#: wing -> mouth corner distances; upper lip; the three inner-lip pairs; face height;
#: mouth width. Measured in one vectorised step: the measures run once per frame.
_PAIRS = (
    (M.RIGHT_BROW_INNER[0], M.LEFT_BROW_INNER[0]),
    *M.RIGHT_LIDS,
    (M.RIGHT_EYE_OUTER, M.RIGHT_EYE_INNER),
    *M.LEFT_LIDS,
    (M.LEFT_EYE_OUTER, M.LEFT_EYE_INNER),
    (M.RIGHT_ALA, M.MOUTH_RIGHT),
    (M.LEFT_ALA, M.MOUTH_LEFT),
    (M.SUBNASALE, M.UPPER_LIP_TOP),
    *M.INNER_LIP_PAIRS,
    (M.SUBNASALE, M.CHIN),
    (M.MOUTH_RIGHT, M.MOUTH_LEFT),
)
_EYE_CORNERS = (M.RIGHT_EYE_OUTER, M.RIGHT_EYE_INNER, M.LEFT_EYE_OUTER, M.LEFT_EYE_INNER)
_BROWS = M.RIGHT_BROW_INNER + M.LEFT_BROW_INNER
_LIPS_MID = (M.UPPER_LIP_INNER, M.LOWER_LIP_INNER)
_MOUTH_CORNERS = (M.MOUTH_RIGHT, M.MOUTH_LEFT)
#: Every landmark the measures read, once; ``_POS`` maps a landmark to its row there.
_USED = tuple(
    dict.fromkeys(
        [i for pair in _PAIRS for i in pair] + [*_EYE_CORNERS, *_BROWS, *_LIPS_MID, M.CHIN]
    )
)
_POS = {i: k for k, i in enumerate(_USED)}
_A = np.array([_POS[a] for a, _ in _PAIRS])
_B = np.array([_POS[b] for _, b in _PAIRS])


def _mean(values) -> float:
    return sum(values) / len(values)


def face_measures(points: np.ndarray) -> np.ndarray:
    """Return the NFCS measures of one face, in :data:`MEASURES` order.

    Parameters
    ----------
    points : numpy.ndarray
        (468, 2+) Face Mesh points in pixels.

    Returns
    -------
    numpy.ndarray
        (10,) float64 measures in face units (see the module table).

    Examples
    --------
    >>> import numpy as np
    >>> face_measures(np.random.default_rng(0).normal(size=(468, 2))).shape
    (10,)
    """
    axes = FaceAxes.from_points(points)
    uv = axes.to_local(np.asarray(points)[list(_USED)])
    d = uv[_A] - uv[_B]
    dist = np.sqrt((d * d).sum(axis=-1)).tolist()
    v = uv[:, 1].tolist()
    brow_eye = _mean([v[_POS[i]] for i in _EYE_CORNERS]) - _mean([v[_POS[i]] for i in _BROWS])
    apertures = (_mean(dist[1:4]) / dist[4], _mean(dist[5:8]) / dist[8])
    lips_mid = _mean([v[_POS[i]] for i in _LIPS_MID])
    return np.array(
        [
            brow_eye,
            dist[0],
            _mean(apertures),
            _mean(dist[9:11]),
            dist[11],
            _mean(dist[12:15]),
            dist[15],
            dist[16],
            v[_POS[M.CHIN]],
            lips_mid - _mean([v[_POS[i]] for i in _MOUTH_CORNERS]),
        ]
    )


#: Canonical face crop: the inter-ocular distance in pixels, the crop side, and where
#: the nose tip lands.
CANON_IOD = 64.0
CANON_SIZE = 160
CANON_NOSE = (80.0, 88.0)


def canonical_face(gray: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp a face to a canonical, level, fixed-scale grayscale crop.

    Parameters
    ----------
    gray : numpy.ndarray
        (H, W) grayscale or (H, W, 3) RGB uint8 frame; a colour frame is turned to gray
        after the warp, on the small crop rather than the whole frame.
    points : numpy.ndarray
        (468, 2+) mesh of the face in ``gray``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The (160, 160) uint8 crop, with the eyes level and 64 px apart and the nose tip at
        (80, 88), and the mesh points in crop pixels (468, 2).
    """
    axes = FaceAxes.from_points(points)
    scale = CANON_IOD / axes.iod
    a = np.vstack([axes.ex, axes.ey]) * scale
    m = np.c_[a, np.asarray(CANON_NOSE) - a @ axes.origin]
    crop = warp_linear(gray, m, (CANON_SIZE, CANON_SIZE), cv2.BORDER_REPLICATE)
    if crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    pts = np.asarray(points, dtype=np.float64)[:, :2] @ m[:, :2].T + m[:, 2]
    return crop, pts


def eye_openness(crop: np.ndarray, pts: np.ndarray) -> float:
    """Fraction of dark (iris, pupil, lash) pixels in the eye bands of a canonical crop.

    The band spans the middle 70 % of each eye, 0.1 inter-ocular distances above and
    below the corner line; "dark" is below 75 % of the median brightness of the cheek
    under the eye. A squeezed eye shows lid skin instead and the fraction falls. The
    mesh's own lid points barely move when an eye closes (measured), hence appearance.
    """
    values = []
    for outer, inner in (
        (M.RIGHT_EYE_OUTER, M.RIGHT_EYE_INNER),
        (M.LEFT_EYE_OUTER, M.LEFT_EYE_INNER),
    ):
        x0, x1 = sorted((pts[outer, 0], pts[inner, 0]))
        w = x1 - x0
        yc = (pts[outer, 1] + pts[inner, 1]) / 2
        band = _patch(
            crop, x0 + 0.15 * w, x1 - 0.15 * w, yc - 0.1 * CANON_IOD, yc + 0.1 * CANON_IOD
        )
        cheek = _patch(crop, x0, x1, yc + 0.35 * CANON_IOD, yc + 0.55 * CANON_IOD)
        if band.size == 0 or cheek.size == 0:
            continue
        values.append(np.count_nonzero(band < 0.75 * _median(cheek)) / band.size)
    return sum(values) / len(values) if values else float("nan")


def brow_drop(rest_crop: np.ndarray, rest_pts: np.ndarray, crop: np.ndarray) -> float:
    """How far the inner brows moved down relative to the eye corners since rest.

    Sparse optical flow (pyramidal Lucas-Kanade) from the rest crop to the current
    canonical crop, tracked at the inner brow points and at the eye corners: the brows'
    mean downward shift minus the corners', in inter-ocular distances. The mesh
    regularises brow motion away (measured), so the skin's motion is read instead.
    Points the tracker loses count as not moved.
    """
    idx = list(M.RIGHT_BROW_INNER + M.LEFT_BROW_INNER) + list(_CORNERS)
    start = rest_pts[idx].astype(np.float32).reshape(-1, 1, 2)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(  # type: ignore[call-overload]
        rest_crop, crop, start, None, winSize=(15, 15), maxLevel=2
    )  # None: OpenCV allocates
    dy = (moved - start)[:, 0, 1] * status[:, 0]
    n_brow = len(M.RIGHT_BROW_INNER) * 2
    return float(dy[:n_brow].mean() - dy[n_brow:].mean()) / CANON_IOD


def centred(image: np.ndarray) -> tuple[np.ndarray, float]:
    """An image as float64 less its mean, and its sum of squares (for :func:`ncc`)."""
    a = np.asarray(image, dtype=np.float64)
    a = a - a.mean()
    return a, float((a * a).sum())


def ncc(a: tuple[np.ndarray, float], b: tuple[np.ndarray, float]) -> float:
    """Normalised cross-correlation of two :func:`centred` images of one size, in [-1, 1].

    A reference image's centred form can be kept and reused: the occlusion check
    compares every frame with the same rest crop.
    """
    den = float(np.sqrt(a[1] * b[1]))
    return float((a[0] * b[0]).sum() / den) if den > 0 else 0.0


_CORNERS = (M.RIGHT_EYE_OUTER, M.RIGHT_EYE_INNER, M.LEFT_EYE_OUTER, M.LEFT_EYE_INNER)


def _median(img: np.ndarray) -> np.float64:
    """``np.median`` of a small uint8 patch, without its general machinery (per frame)."""
    flat = np.sort(img, axis=None)
    mid = flat.size // 2
    if flat.size % 2:
        return np.float64(flat[mid])
    return (np.float64(flat[mid - 1]) + np.float64(flat[mid])) / 2


def _patch(img: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    h, w = img.shape[:2]
    xa, xb = int(max(0, np.floor(x0))), int(min(w, np.ceil(x1)))
    ya, yb = int(max(0, np.floor(y0))), int(min(h, np.ceil(y1)))
    return img[ya:yb, xa:xb]


def quiver_spread(samples) -> float:
    """Robust spread of the chin height about its quadratic trend over a short window.

    Parameters
    ----------
    samples : sequence of (float, float)
        ``(t, chin)`` in time order: time stamps in seconds and the chin measure.

    Returns
    -------
    float
        ``1.4826 * median(|chin - trend|)``, the trend the least-squares parabola in time
        (a steady movement, the jaw opening or the head moving, is no quiver; the median
        ignores the few samples a single step moves). 0 with fewer than 4 samples or
        no time span.

    Notes
    -----
    The fit projects onto polynomials orthogonal over the window's own time stamps, in
    plain Python: the same parabola as ``numpy.polyfit(t, chin, 2)`` to rounding (about
    1e-16 of the chin here), at a tenth of its cost, which ran once per frame. With
    fewer than three distinct time stamps the fit is underdetermined and falls back to
    ``numpy.polyfit`` (its minimum-norm answer).

    Examples
    --------
    >>> quiver_spread([(i / 30, 0.9 + 0.01 * (i / 30) ** 2) for i in range(18)]) < 1e-12
    True
    """
    n = len(samples)
    if n < 4:
        return 0.0
    t_last = samples[-1][0]
    xs = [s[0] - t_last for s in samples]
    ys = [s[1] for s in samples]
    if max(xs) - min(xs) <= 0:
        return 0.0
    if len(set(xs)) < 3:
        x = np.array(xs)
        trend = np.polyval(np.polyfit(x, ys, 2), x).tolist()
    else:
        trend = _parabola(xs, ys)
    res = sorted(abs(y - f) for y, f in zip(ys, trend, strict=True))
    mid = n // 2
    median = res[mid] if n % 2 else (res[mid - 1] + res[mid]) / 2
    return 1.4826 * float(median)


def _parabola(xs: list[float], ys: list[float]) -> list[float]:
    """Least-squares parabola through (xs, ys) at xs, by Gram-Schmidt on 1, x, x^2."""
    n = len(xs)
    xm, c0 = sum(xs) / n, sum(ys) / n
    p1 = [x - xm for x in xs]
    yc = [y - c0 for y in ys]
    sq = [u * u for u in p1]
    sq_mean = sum(sq) / n
    q = [s - sq_mean for s in sq]
    n1 = sum(u * u for u in p1)
    k = sum(a * u for a, u in zip(q, p1, strict=True)) / n1
    p2 = [a - k * u for a, u in zip(q, p1, strict=True)]
    n2 = sum(a * a for a in p2)
    c1 = sum(y * u for y, u in zip(yc, p1, strict=True)) / n1
    c2 = sum(y * a for y, a in zip(yc, p2, strict=True)) / n2 if n2 > 0 else 0.0
    return [c0 + c1 * u + c2 * a for u, a in zip(p1, p2, strict=True)]
