"""Start the dashboard around a running engine; scripted exit and screenshot for tests."""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger("painsign.gui")


def run_dashboard(engine, exit_after: float | None = None, screenshot: Path | None = None,
                  play_sound: bool = True) -> int:
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
    from painsign.gui.sound import AlarmSound

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        # The invisible platform (screenshots, tests) warns about window hints on every
        # redraw; a Python message handler instead trips a PySide6 refcount bug at exit.
        os.environ.setdefault("QT_LOGGING_RULES", "default.warning=false")
    pg.setConfigOptions(antialias=True)
    app = QApplication.instance() or QApplication([])
    sound = AlarmSound(play=play_sound)
    if sound.problem:
        engine.report_audio_problem(sound.problem)
    window = Dashboard(engine, sound)
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
    try:
        app.exec()
    finally:
        engine.stop()
        window.timer.stop()
        window.deleteLater()
    return 1 if engine.error is not None else 0
