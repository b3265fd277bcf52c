"""Qt's own messages go to the log, not to stderr.

Qt prints its diagnostics straight to stderr: QtMultimedia's search for PipeWire and
PulseAudio ("Couldn't load pipewire-0.3 library", "pa_context_connect() failed"), window
hints of the offscreen platform, font fallbacks. On a bedside or central screen nobody
reads them, and in a log they hide the lines that matter, so they go to the logger
``painsign.qt``: debug, info and warnings at DEBUG (shown with ``--debug``), critical
messages at WARNING. What painsign itself makes of a problem (e.g. "Alarm sound
unavailable") is raised as an alarm and logged by painsign.
"""

from __future__ import annotations

import atexit
import logging

logger = logging.getLogger("painsign.qt")


def route_qt_messages() -> None:
    """Send Qt's messages to :data:`logger` (call before the QApplication is made)."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.DEBUG,
        QtMsgType.QtWarningMsg: logging.DEBUG,
        QtMsgType.QtCriticalMsg: logging.WARNING,
        QtMsgType.QtFatalMsg: logging.ERROR,
    }

    def handler(kind, context, message: str) -> None:
        category = getattr(context, "category", None) or "qt"
        logger.log(levels.get(kind, logging.DEBUG), "%s: %s", category, message)

    qInstallMessageHandler(handler)
    # Qt's threads may still speak while Python shuts down: give Qt its own handler back
    # before the interpreter that runs ours is gone.
    atexit.register(qInstallMessageHandler, None)
