"""The Qt event loop around a painsign window (the bedside dashboard, the central
station): one QApplication set up the same way, the alarm-sound check, scripted exit and
screenshot for tests, Ctrl+C, and an orderly teardown while Qt is still up."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger("painsign.gui")


def qt_application():
    """The QApplication, made with painsign's settings: Qt's messages to the log
    (:mod:`painsign.gui.qt_messages`), antialiased plots, and on the invisible platform
    (screenshots, tests) no warning about window hints on every redraw."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from painsign.gui.qt_messages import route_qt_messages

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
    route_qt_messages()
    pg.setConfigOptions(antialias=True)
    return QApplication.instance() or QApplication([])


def run_until_closed(
    app,
    window,
    sound,
    exit_after: float | None = None,
    screenshot: Path | None = None,
    before_teardown: Callable[[], None] | None = None,
) -> None:
    """Show ``window`` and run Qt's event loop until it closes.

    Parameters
    ----------
    app : QApplication
        From :func:`qt_application`.
    window : QWidget
        With ``refresh()`` and a polling ``timer`` (QTimer).
    sound : AlarmSound
        Checked once a second (a sound server that refuses the alarm sounds says so late).
    exit_after : float, optional
        Close by itself after this many seconds.
    screenshot : pathlib.Path, optional
        Save the window as PNG just before closing.
    before_teardown : callable, optional
        Run first once the loop has ended (stop the engine, close dialogs).
    """
    from PySide6.QtCore import QTimer

    audio_check = QTimer(window)
    audio_check.timeout.connect(sound.check)
    audio_check.start(1000)
    window.show()

    def finish() -> None:
        window.refresh()
        if screenshot is not None:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(screenshot))
            logger.info("screenshot saved to %s", screenshot)
        window.close()

    if exit_after is not None:
        QTimer.singleShot(int(exit_after * 1000), finish)
    # Ctrl+C in the terminal closes the window like the close button (Qt's event loop
    # would otherwise keep Python from seeing the signal until the next event).
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: window.close())
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)
    try:
        app.exec()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if before_teardown is not None:
            before_teardown()
        wake.stop()
        audio_check.stop()
        window.timer.stop()
        window.deleteLater()
        app.processEvents()  # let deleteLater run while Qt is still up
