"""Keep libraries' messages off stderr unless ``--debug``: one error line is the contract.

Three routes reach stderr without painsign choosing it, each closed where it starts:

* Python warnings (matplotlib's, Pillow's, numpy's) go to :mod:`logging` at DEBUG.
* Records of third-party loggers (matplotlib's "building the font cache", Pillow's)
  are demoted to DEBUG by a filter on the root handlers.
* C libraries writing to file descriptor 2: OpenCV's own log and FFmpeg's are set to
  silent in :func:`quiet_opencv`; still images are decoded by Pillow, which reports
  through exceptions, instead of OpenCV's libpng and libjpeg, which print
  (see :mod:`painsign.vision.image_file`); onnxruntime sessions log at error level only.
  Redirecting descriptor 2 itself is not done: it is shared by every thread of the
  process (the monitor's among them), so it would hide their output too, and a crash's
  last words with it.
"""

from __future__ import annotations

import logging
import os
import warnings

logger = logging.getLogger("painsign.warnings")

_OWN = "painsign"


class DemoteThirdParty(logging.Filter):
    """Lower records of non-painsign loggers to DEBUG; drop them unless DEBUG is shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether ``record`` is still shown once demoted."""
        if record.name == _OWN or record.name.startswith(_OWN + "."):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().getEffectiveLevel() <= logging.DEBUG


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    logger.debug("%s: %s (%s:%s)", category.__name__, message, filename, lineno)


def route_chatter() -> None:
    """Send warnings and third-party log records to DEBUG logging (hidden without --debug).

    Call after :func:`logging.basicConfig`; calling it again adds nothing twice.
    """
    warnings.showwarning = _log_warning
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, DemoteThirdParty) for f in handler.filters):
            handler.addFilter(DemoteThirdParty())


def quiet_opencv() -> None:
    """Stop OpenCV and FFmpeg printing their own warnings (a bad file becomes one error)."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when FFmpeg first loads
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
