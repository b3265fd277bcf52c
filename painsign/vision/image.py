"""Turn whatever image a caller has into the contiguous RGB uint8 array the models need.

Image files are read by :mod:`painsign.vision.image_file`."""

from __future__ import annotations

import cv2
import numpy as np

from painsign.errors import InputError

ORDERS = ("bgr", "rgb")
#: Float images are read as 0-1; rounding error up to half a grey level beyond is clipped.
FLOAT_SLACK = 0.5 / 255


def to_rgb(image: np.ndarray, order: str = "bgr") -> np.ndarray:
    """Return ``image`` as a C-contiguous (H, W, 3) RGB uint8 array.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) grayscale, (H, W, 1), (H, W, 3) colour in ``order``, or (H, W, 4) with
        alpha (dropped). uint8 is used as is; uint16 is scaled from 0-65535; float and
        bool arrays are read as 0-1 (floats must be finite and within 0-1). Views and
        non-contiguous arrays are fine.
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
        When its shape, size, dtype or ``order`` is unusable, or a float image holds
        NaN, infinite or out-of-range values.
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
        low, high = float(np.min(image)), float(np.max(image))
        if not (np.isfinite(low) and np.isfinite(high)):
            raise InputError("image holds NaN or infinite values")
        if low < -FLOAT_SLACK or high > 1.0 + FLOAT_SLACK:
            raise InputError(
                f"float image values run from {low:g} to {high:g}; float "
                "images must be scaled to 0-1"
            )
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise InputError(f"image dtype {image.dtype} is not supported (use uint8, uint16, float)")
