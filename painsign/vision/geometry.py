"""Rotated rectangles in image pixels and the crops that feed the face models.

A :class:`RotatedRect` is where a model looks: the letterboxed whole image for the detector,
a rotated square around the face for the landmark model. :func:`crop` samples it into the
model's input size; :meth:`RotatedRect.to_image` maps model coordinates back to pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class RotatedRect:
    """A rectangle in image pixels, rotated by ``angle`` radians about its centre.

    ``angle`` is clockwise in image coordinates (y down): a rect rotated by ``angle`` has
    its local x axis along ``(cos angle, sin angle)``.
    """

    cx: float
    cy: float
    width: float
    height: float
    angle: float = 0.0

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Map normalised rect coordinates (0..1 across, 0..1 down) to image pixels.

        Parameters
        ----------
        uv : numpy.ndarray
            Shape (..., 2), coordinates inside the rect, (0, 0) its top-left corner.

        Returns
        -------
        numpy.ndarray
            Same shape, in image pixels.
        """
        uv = np.asarray(uv, dtype=np.float64)
        lx = (uv[..., 0] - 0.5) * self.width
        ly = (uv[..., 1] - 0.5) * self.height
        c, s = math.cos(self.angle), math.sin(self.angle)
        return np.stack([self.cx + c * lx - s * ly, self.cy + s * lx + c * ly], axis=-1)

    def corners(self) -> np.ndarray:
        """Return the four corners (top-left, top-right, bottom-right, bottom-left), (4, 2)."""
        return self.to_image(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64))

    def affine_to(self, out_w: int, out_h: int) -> np.ndarray:
        """Return the 2x3 matrix mapping image pixels into an ``out_w`` x ``out_h`` crop."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        sx, sy = out_w / self.width, out_h / self.height
        # Inverse of to_image: rotate by -angle about the centre, scale, shift to the crop.
        m = np.array([[c * sx, s * sx, 0.0], [-s * sy, c * sy, 0.0]], dtype=np.float64)
        m[:, 2] = np.array([out_w / 2, out_h / 2]) - m[:, :2] @ np.array([self.cx, self.cy])
        return m


def square_rect(center: tuple[float, float], size: float, angle: float = 0.0) -> RotatedRect:
    """Return a square :class:`RotatedRect` of side ``size`` around ``center``."""
    return RotatedRect(float(center[0]), float(center[1]), float(size), float(size), angle)


def letterbox_rect(width: int, height: int) -> RotatedRect:
    """Return the square that letterboxes a ``width`` x ``height`` image (image centred)."""
    return square_rect((width / 2, height / 2), max(width, height))


def face_rect(
    box: np.ndarray, left: np.ndarray, right: np.ndarray, scale: float = 1.5
) -> RotatedRect:
    """Return MediaPipe's landmark crop: a square around ``box`` turned to level the eyes.

    Parameters
    ----------
    box : numpy.ndarray
        ``[x1, y1, x2, y2]`` in pixels.
    left, right : numpy.ndarray
        The points that should lie level after rotation, from image-left to image-right
        (the subject's right eye then left eye).
    scale : float
        Side of the square relative to the longer side of ``box`` (MediaPipe uses 1.5).
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    angle = math.atan2(float(right[1] - left[1]), float(right[0] - left[0]))
    side = max(x2 - x1, y2 - y1) * scale
    return square_rect(((x1 + x2) / 2, (y1 + y2) / 2), side, angle)


def crop(
    image: np.ndarray,
    rect: RotatedRect,
    out_w: int,
    out_h: int,
    border: int = cv2.BORDER_CONSTANT,
) -> np.ndarray:
    """Sample ``rect`` of ``image`` into an ``out_w`` x ``out_h`` array.

    Only the rect's bounding region is touched, and when the crop shrinks it more than
    twofold that region is first reduced with area averaging, so huge images neither cost
    a full-frame warp nor alias.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, C) uint8.
    rect : RotatedRect
        Region to sample, in image pixels; parts outside the image are filled per
        ``border`` (black for ``BORDER_CONSTANT``, edge pixels for ``BORDER_REPLICATE``).
    out_w, out_h : int
        Output size.
    border : int
        OpenCV border mode.

    Returns
    -------
    numpy.ndarray
        (out_h, out_w, C) uint8.
    """
    h, w = image.shape[:2]
    pts = rect.corners()
    x0 = int(max(0, math.floor(pts[:, 0].min())))
    y0 = int(max(0, math.floor(pts[:, 1].min())))
    x1 = int(min(w, math.ceil(pts[:, 0].max()) + 1))
    y1 = int(min(h, math.ceil(pts[:, 1].max()) + 1))
    m = rect.affine_to(out_w, out_h)
    if x1 <= x0 or y1 <= y0:  # the rect lies wholly outside the image
        if border == cv2.BORDER_REPLICATE:
            x0, y0 = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
            x1, y1 = x0 + 1, y0 + 1
        else:
            return np.zeros((out_h, out_w, *image.shape[2:]), dtype=image.dtype)
    region = image[y0:y1, x0:x1]
    shift = np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]])
    m = m @ np.vstack([shift, [0.0, 0.0, 1.0]])
    zoom = min(out_w / rect.width, out_h / rect.height)
    if zoom < 0.5:
        f = 2.0 * zoom
        rw, rh = max(1, round(region.shape[1] * f)), max(1, round(region.shape[0] * f))
        fx, fy = rw / region.shape[1], rh / region.shape[0]
        region = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA)
        m = m @ np.array([[1 / fx, 0.0, 0.0], [0.0, 1 / fy, 0.0], [0.0, 0.0, 1.0]])
    out = warp_linear(region, m, (out_w, out_h), border)
    return out.reshape((out_h, out_w, *image.shape[2:]))


def warp_linear(
    image: np.ndarray, m: np.ndarray, size: tuple[int, int], border: int = cv2.BORDER_CONSTANT
) -> np.ndarray:
    """``cv2.warpAffine`` with bilinear sampling, three-channel images through four.

    OpenCV 5.0's warpAffine has no vectorised path for three uint8 channels: a 192x192
    crop took 177 us, against 91 us with four channels and 15 us to add the fourth
    (measured, one thread). The colour channels come out bit-identical either way.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) or (H, W, C) uint8.
    m : numpy.ndarray
        (2, 3) matrix from image to output coordinates, as ``cv2.warpAffine`` takes it.
    size : tuple of int
        Output ``(width, height)``.
    border : int
        OpenCV border mode; a constant border is black.

    Returns
    -------
    numpy.ndarray
        (height, width) or (height, width, C) uint8, C as in ``image``.
    """
    if image.ndim == 3 and image.shape[2] == 3:
        four = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)  # the channels' order is kept
        out = cv2.warpAffine(four, m, size, flags=cv2.INTER_LINEAR, borderMode=border)
        return cv2.cvtColor(out, cv2.COLOR_RGBA2RGB)
    return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=border)


def point_extent(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-coordinate minimum and maximum of points, ``xy.min(axis=0), xy.max(axis=0)``.

    The same values (min and max are exact) several times faster: numpy reduces over the
    first axis of an (N, 2) array slowly (26 against 3 us for the 468-point mesh, which
    is measured three times a frame).

    Parameters
    ----------
    xy : numpy.ndarray
        (N, D) points.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        (D,) minimum and maximum, in ``xy``'s dtype.

    Examples
    --------
    >>> point_extent(np.array([[1.0, 5.0], [3.0, 2.0]]))
    (array([1., 2.]), array([3., 5.]))
    """
    cols = np.ascontiguousarray(np.asarray(xy).T)
    return cols.min(axis=1), cols.max(axis=1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``a`` (N, 4) and ``b`` (M, 4) as (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def grow_box(box, margin: float) -> tuple[int, int, int, int]:
    """Grow ``box`` by ``margin`` of its width and height on each side, in whole pixels.

    The one definition of a face crop with a margin: the crop an ONNX classifier sees
    (:class:`~painsign.scoring.onnx_scorer.OnnxClassifierScorer`), the heatmap that explains
    it (:mod:`painsign.research.explain`) and the monitor's face snapshot. Corners are
    rounded half to even (Python's ``round``), so shifting the box by an even number of
    pixels shifts the result by the same amount. Not clipped to the image (see
    :func:`clip_box`); at least one pixel wide and high.

    Parameters
    ----------
    box : array-like
        ``[x1, y1, x2, y2]`` in pixels.
    margin : float
        Fraction of the box's size added on each side (0.2: 20 %).

    Returns
    -------
    tuple of int
        ``(x1, y1, x2, y2)``.

    Examples
    --------
    >>> grow_box([10, 20, 110, 70], 0.1)
    (0, 15, 120, 75)
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, dtype=np.float64).ravel())
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    ix1, iy1 = round(x1 - dx), round(y1 - dy)
    return ix1, iy1, max(round(x2 + dx), ix1 + 1), max(round(y2 + dy), iy1 + 1)


def clip_box(box: tuple[int, int, int, int], shape) -> tuple[int, int, int, int] | None:
    """The part of an integer ``box`` inside an image of ``shape`` (H, W, ...); None when
    nothing of it is.

    Examples
    --------
    >>> clip_box((-5, 10, 50, 200), (100, 40)), clip_box((50, 0, 60, 10), (100, 40))
    ((0, 10, 40, 100), None)
    """
    h, w = shape[:2]
    x1, y1, x2, y2 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None
