"""Start the dashboard around a running engine; scripted exit and screenshot for tests."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

logger = logging.getLogger("painsign.gui")


def run_dashboard(
    engine, exit_after: float | None = None, screenshot: Path | None = None, play_sound: bool = True
) -> int:
    """Show the dashboard for a started ``engine`` until the window closes.

    Parameters
    ----------
    engine : MonitorEngine
        A started engine.
    exit_after : float, optional
        Close by itself after this many seconds.
    screenshot : pathlib.Path, optional
        Save the window as PNG just before closing.
    play_sound : bool
        Play alarm sounds (False: schedule only).

    Returns
    -------
    int
        0, or 1 when the engine's worker failed.
    """
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from painsign.gui.dashboard import Dashboard
    from painsign.gui.qt_messages import route_qt_messages
    from painsign.gui.sound import AlarmSound

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        # The invisible platform (screenshots, tests) warns about window hints on every
        # redraw: mute those warnings.
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
    route_qt_messages()
    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication([])
    # A sound that cannot be played raises "Alarm sound unavailable" (banner, log, DB):
    # at once when QtMultimedia or an output device is missing, later when the sound
    # server refuses the effects (Qt reports that asynchronously).
    sound = AlarmSound(play=play_sound, on_problem=engine.report_audio_problem)
    window = Dashboard(engine, sound)
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
        engine.stop()
        wake.stop()
        audio_check.stop()
        window.timer.stop()
        window.deleteLater()
        app.processEvents()  # let deleteLater run while Qt is still up
    return 1 if engine.error is not None else 0
