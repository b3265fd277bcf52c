"""Read a still image file: regular files only, the pixel limit checked before decoding.

Each format goes to the decoder that reports problems to Python instead of printing them
on file descriptor 2 (where nothing short of redirecting the whole process's stderr,
other threads' output included, could catch them):

* PNG, JPEG, BMP, WebP, GIF, PPM: Pillow. OpenCV's libpng and libjpeg print
  ("libpng warning: iCCP: ...", "Corrupt JPEG data: ..."); Pillow raises or warns, and
  reads the size from the header before it decodes anything.
* TIFF: OpenCV. Pillow's libtiff prints ("LZWDecode: Not enough data at scanline ...",
  found by tests/test_fuzz.py); OpenCV routes libtiff's messages to its own log, which
  the command line silences. The size is read from the TIFF header here first. OpenCV
  also reads the float TIFFs of three samples that Pillow cannot open.
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
_BIGTIFF_MAGIC = (b"II+\x00", b"MM\x00+")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", *_BIGTIFF_MAGIC)
_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257
#: Samples per pixel of each PNG colour type, and the Adam7 passes (x0, y0, dx, dy).
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
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
    if data[:4] in _TIFF_MAGIC:
        return cv2.cvtColor(_decode_tiff(data, path), cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(_decode_pillow(data, path), cv2.COLOR_RGB2BGR)


def _decode_pillow(data: bytes, path: Path) -> np.ndarray:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = Image.open(io.BytesIO(data))
        except Image.UnidentifiedImageError:
            raise InputError(
                f"{path} is not a readable image (not an image format painsign knows)"
            ) from None
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
    damage = _png_damage(data) if kind == "PNG" else None
    if damage is not None:
        raise InputError(f"{path} is not a readable image (damaged PNG: {damage})")
    if image.mode.startswith("I;16"):
        array = array.astype(np.uint16)
    elif image.mode == "I":
        array = _int32_to_uint16(array, path)
    return _checked_rgb(array, "rgb", path)


def _decode_tiff(data: bytes, path: Path) -> np.ndarray:
    check_frame_size(*_tiff_size(data, path), f"image {path}")
    try:
        # Any depth (float, 16-bit) and gray or colour; alpha is dropped, EXIF
        # orientation applied.
        array = cv2.imdecode(
            np.frombuffer(data, np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
        )
    except cv2.error as exc:
        raise _unreadable(path, exc) from None
    if array is None:
        raise InputError(
            f"{path} is not a readable image (damaged TIFF, or a kind of TIFF "
            "painsign cannot decode)"
        )
    return _checked_rgb(array, "bgr", path)


def _png_damage(data: bytes) -> str | None:
    """What libpng would refuse in a PNG that Pillow decodes anyway, or None.

    Pillow does not check the CRC of image data chunks, and fills the missing rows with
    zeros when the zlib stream ends early (libpng: "Not enough image data"). Only as many
    bytes as the rows need are inflated.
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
        crc = data[pos + 8 + length : pos + 12 + length]
        if kind[:1].isupper() and crc != struct.pack(
            ">I", zlib.crc32(data[pos + 4 : pos + 8 + length]) & 0xFFFFFFFF
        ):
            return f"{kind.decode('latin-1')} chunk fails its CRC"
        if kind == b"IDAT":
            try:
                chunk = data[pos + 8 : pos + 8 + length]
                while chunk and got < need:
                    got += len(inflate.decompress(chunk, _INFLATE_STEP))
                    chunk = inflate.unconsumed_tail
            except zlib.error as exc:
                return f"image data does not inflate ({exc})"
        elif kind == b"IEND":
            break
        pos += 12 + length
    return "image data ends before the last row" if got < need else None


def _tiff_size(data: bytes, path: Path) -> tuple[int, int]:
    """Width and height from the first image directory of a TIFF or BigTIFF."""
    endian = "<" if data[:2] == b"II" else ">"
    big = data[:4] in _BIGTIFF_MAGIC
    # Classic: 4-byte offsets, 2-byte entry count, 12-byte entries; BigTIFF: 8, 8, 20.
    offset_fmt, count_fmt, entry_fmt = ("HHQ", "Q", "HHQ8s") if big else ("I", "H", "HHI4s")
    try:
        offset = struct.unpack_from(endian + offset_fmt, data, 4)[-1]
        (count,) = struct.unpack_from(endian + count_fmt, data, offset)
        first = offset + struct.calcsize(endian + count_fmt)
        step = struct.calcsize(endian + entry_fmt)
        size = {}
        for i in range(min(count, (len(data) - first) // step)):
            tag, kind, _, value = struct.unpack_from(endian + entry_fmt, data, first + step * i)
            if tag in (_TIFF_WIDTH, _TIFF_HEIGHT):
                fmt = {3: "H", 16: "Q"}.get(kind, "I")  # SHORT, LONG8, else LONG
                size[tag] = struct.unpack_from(endian + fmt, value)[0]
        return size[_TIFF_WIDTH], size[_TIFF_HEIGHT]
    except (struct.error, KeyError):
        raise InputError(f"{path} is not a readable image (damaged TIFF header)") from None


def _int32_to_uint16(array: np.ndarray, path: Path) -> np.ndarray:
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 65535:
        raise InputError(
            f"image {path} holds 32-bit integers from {low} to {high}; "
            "painsign reads integer images of up to 16 bits"
        )
    return array.astype(np.uint16)


def _checked_rgb(array: np.ndarray, order: str, path: Path) -> np.ndarray:
    try:
        return to_rgb(array, order)
    except InputError as exc:
        raise InputError(f"image {path}: {exc}") from None


def _unreadable(path: Path, exc: BaseException) -> InputError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputError(f"{path} is not a readable image (damaged or truncated: {reason})")
