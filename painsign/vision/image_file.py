"""Read a still image file: regular files only, the pixel limit checked before decoding.

Images are decoded with Pillow rather than ``cv2.imdecode``: OpenCV's libpng and libjpeg
write their warnings ("libpng warning: iCCP: ...", "Corrupt JPEG data: ...") straight to
file descriptor 2, where no Python code can catch them short of redirecting the whole
process's stderr (which would also swallow other threads' output). Pillow reports
problems as Python exceptions and warnings, reads the size from the header before it
decodes anything, and keeps float, 16-bit, grayscale and alpha images. The one kind
Pillow cannot open, a TIFF of three or four float samples, is read by OpenCV's TIFF
decoder (whose libtiff messages go through OpenCV's silenced logging) once its size has
been read from the TIFF header here.
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from painsign.errors import InputError
from painsign.limits import check_frame_size, require_regular_file
from painsign.vision.image import to_rgb

logger = logging.getLogger(__name__)

#: Pillow modes read as they are; every other mode is converted to RGB first.
_NATIVE_MODES = {"1", "L", "RGB", "RGBA", "F", "I;16", "I;16L", "I;16B", "I;16N", "I"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257
#: Samples per pixel of each PNG colour type, and the Adam7 passes (x0, y0, dx, dy).
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))
_INFLATE_STEP = 1 << 22

# Pillow's own bomb check would raise for some sizes and warn for others; the pixel
# limit below is checked before any decoding, and it is far smaller.
Image.MAX_IMAGE_PIXELS = None


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as a BGR uint8 array, refusing what cannot be read safely.

    Parameters
    ----------
    path : str or pathlib.Path
        A PNG, JPEG, BMP, TIFF, WebP, GIF or PPM file. 16-bit, float (values in 0-1),
        grayscale and alpha images are accepted; EXIF orientation is applied.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 in BGR order, C-contiguous.

    Raises
    ------
    InputError
        One line naming the file: missing, not a regular file (a named pipe is refused
        without being opened), empty, more than :data:`painsign.limits.MAX_FRAME_PIXELS`
        pixels (read from the header), not decodable, or holding NaN, infinite or
        out-of-range float values.
    """
    path = require_regular_file(path, "image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror or exc}") from None
    if not data:
        raise InputError(f"image {path} is empty")
    try:
        rgb = _decode_pillow(data, path)
    except _NotForPillow:
        rgb = _decode_float_tiff(data, path)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


class _NotForPillow(Exception):
    """Pillow does not know the file; OpenCV's TIFF decoder may."""


def _decode_pillow(data: bytes, path: Path) -> np.ndarray:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = Image.open(io.BytesIO(data))
        except Image.UnidentifiedImageError:
            if data[:4] in _TIFF_MAGIC:
                raise _NotForPillow from None
            raise InputError(f"{path} is not a readable image (not an image format "
                             "painsign knows)") from None
        except Exception as exc:  # a garbled header raises many types; none is a bug here
            raise _unreadable(path, exc) from None
        check_frame_size(*image.size, f"image {path}")
        kind = image.format
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode not in _NATIVE_MODES:
                image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            array = np.asarray(image)
        except InputError:
            raise
        except Exception as exc:  # truncated or corrupt data: OSError, ValueError, ...
            raise _unreadable(path, exc) from None
    for warning in caught:
        logger.debug("%s: %s", path, warning.message)
    if kind == "PNG" and _png_short_of_data(data):
        raise InputError(f"{path} is not a readable image (damaged PNG: its image data "
                         "ends before the last row)")
    if image.mode.startswith("I;16"):
        array = array.astype(np.uint16)
    elif image.mode == "I":
        array = _int32_to_uint16(array, path)
    return _checked_rgb(array, "rgb", path)


def _decode_float_tiff(data: bytes, path: Path) -> np.ndarray:
    check_frame_size(*_tiff_size(data, path), f"image {path}")
    try:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise _unreadable(path, exc) from None
    if array is None:
        raise InputError(f"{path} is not a readable image (a TIFF painsign cannot decode)")
    return _checked_rgb(array, "bgr", path)


def _png_short_of_data(data: bytes) -> bool:
    """Whether a PNG's compressed data inflates to fewer bytes than its rows need.

    Pillow fills the missing rows with zeros when the zlib stream ends early; libpng
    calls it "Not enough image data". Only as many bytes as the rows need are inflated.
    """
    width, height, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", data, 16)
    bits = depth * _PNG_SAMPLES.get(colour, 1)
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    need = 0
    for x0, y0, dx, dy in passes:
        cols, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if cols > 0 and rows > 0:
            need += rows * (1 + -(-cols * bits // 8))
    inflate, got, pos = zlib.decompressobj(), 0, 8
    while pos + 8 <= len(data) and got < need:
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IDAT":
            try:
                chunk = data[pos + 8:pos + 8 + length]
                while chunk and got < need:
                    got += len(inflate.decompress(chunk, _INFLATE_STEP))
                    chunk = inflate.unconsumed_tail
            except zlib.error:
                return True
        elif kind == b"IEND":
            break
        pos += 12 + length
    return got < need


def _tiff_size(data: bytes, path: Path) -> tuple[int, int]:
    """Width and height from the first image directory of a classic TIFF."""
    endian = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack_from(endian + "I", data, 4)
        (count,) = struct.unpack_from(endian + "H", data, offset)
        size = {}
        for i in range(count):
            tag, kind, _, value = struct.unpack_from(endian + "HHI4s", data, offset + 2 + 12 * i)
            if tag in (_TIFF_WIDTH, _TIFF_HEIGHT):
                fmt = "H" if kind == 3 else "I"
                size[tag] = struct.unpack_from(endian + fmt, value)[0]
        return size[_TIFF_WIDTH], size[_TIFF_HEIGHT]
    except (struct.error, KeyError):
        raise InputError(f"{path} is not a readable image (damaged TIFF header)") from None


def _int32_to_uint16(array: np.ndarray, path: Path) -> np.ndarray:
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 65535:
        raise InputError(f"image {path} holds 32-bit integers from {low} to {high}; "
                         "painsign reads integer images of up to 16 bits")
    return array.astype(np.uint16)


def _checked_rgb(array: np.ndarray, order: str, path: Path) -> np.ndarray:
    try:
        return to_rgb(array, order)
    except InputError as exc:
        raise InputError(f"image {path}: {exc}") from None


def _unreadable(path: Path, exc: BaseException) -> InputError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputError(f"{path} is not a readable image (damaged or truncated: {reason})")

