"""Read image files, and turn whatever image a caller has into the contiguous RGB uint8
array the models need."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from painsign.errors import InputError

ORDERS = ("bgr", "rgb")


def to_rgb(image: np.ndarray, order: str = "bgr") -> np.ndarray:
    """Return ``image`` as a C-contiguous (H, W, 3) RGB uint8 array.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) grayscale, (H, W, 1), (H, W, 3) colour in ``order``, or (H, W, 4) with
        alpha (dropped). uint8 is used as is; uint16 is scaled from 0-65535; float and
        bool arrays are read as 0-1. Views and non-contiguous arrays are fine.
    order : {"bgr", "rgb"}
        Channel order of a colour ``image`` (OpenCV frames are BGR).

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8, C-contiguous; the input is never modified.

    Raises
    ------
    TypeError
        When ``image`` is not a numpy array.
    InputError
        When its shape, size, dtype or ``order`` is unusable.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, not {type(image).__name__}")
    if order not in ORDERS:
        raise InputError(f"colour order must be one of {ORDERS}, not {order!r}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InputError(
            f"image shape {image.shape} is not (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"image is empty (shape {image.shape})")
    image = _to_uint8(image)
    if image.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if order == "bgr" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    if order == "bgr":
        # cvtColor is several times faster than a reversed-stride copy.
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        finite = np.nan_to_num(image, nan=0.0, posinf=1.0, neginf=0.0)
        return (np.clip(finite, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise InputError(f"image dtype {image.dtype} is not supported (use uint8, uint16, float)")


def read_image(path: Path) -> np.ndarray:
    """Read an image file as BGR, or raise :class:`InputError` naming the file.

    Parameters
    ----------
    path : pathlib.Path
        Image file (PNG, JPEG, BMP, TIFF, ...).

    Returns
    -------
    numpy.ndarray
        (H, W, 3) BGR uint8, as ``cv2.imread``.

    Raises
    ------
    InputError
        The file cannot be read or is not a decodable image.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"{path} is not a readable image (empty, truncated or not an image)")
    return image
