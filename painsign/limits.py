"""Bounds on what painsign accepts as input, checked before any decoding.

One pixel limit for still images and video frames, and one check that a path is a
regular file, so that a hostile or mistaken input is refused with one clear line
instead of exhausting memory or blocking on a named pipe.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from painsign.errors import InputError

#: Largest frame or image accepted, in pixels (width x height): 40 megapixels. It admits
#: 8K video (7680 x 4320 = 33.2 MP; DCI 8K 8192 x 4320 = 35.4 MP) and ordinary camera
#: photos, while one decoded BGR frame stays under 120 MB. The detector works on faces a
#: few hundred pixels wide; a larger picture only costs memory and time.
MAX_FRAME_PIXELS = 40_000_000

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def require_regular_file(path: str | Path, what: str = "file") -> Path:
    """Return ``path`` if it is a regular file; refuse anything else without opening it.

    Only ``os.stat`` is called (symbolic links are followed), so a named pipe, a socket
    or a device is never opened and never blocks.

    Parameters
    ----------
    path : str or pathlib.Path
        The input file.
    what : str
        What the file is, for the message ("video", "image").

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        When ``path`` does not exist, cannot be examined, or is not a regular file (a
        folder, named pipe, socket or device).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be examined: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise InputError(f"{what} {path} is {kind}, not a regular file")
    return path


def check_frame_size(width: int, height: int, what: str) -> None:
    """Refuse a frame or image of more than :data:`MAX_FRAME_PIXELS` pixels.

    Parameters
    ----------
    width, height : int
        The size announced by the file's header or container, before decoding.
    what : str
        What is being checked, for the message (e.g. "video demo.mp4").

    Raises
    ------
    InputError
        When ``width * height`` exceeds the limit.
    """
    if int(width) * int(height) > MAX_FRAME_PIXELS:
        raise InputError(
            f"{what} is {int(width)} x {int(height)} pixels "
            f"({int(width) * int(height) / 1e6:.1f} megapixels), more than the limit of "
            f"{MAX_FRAME_PIXELS / 1e6:g} megapixels"
        )
