"""Start the dashboard around a running engine; scripted exit and screenshot for tests."""

from __future__ import annotations

from pathlib import Path


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
    from painsign.gui.dashboard import Dashboard
    from painsign.gui.sound import AlarmSound
    from painsign.gui.window_loop import qt_application, run_until_closed

    app = qt_application()
    # A sound that cannot be played raises "Alarm sound unavailable" (banner, log, DB):
    # at once when QtMultimedia or an output device is missing, later when the sound
    # server refuses the effects (Qt reports that asynchronously).
    sound = AlarmSound(play=play_sound, on_problem=engine.report_audio_problem)
    window = Dashboard(engine, sound)
    run_until_closed(app, window, sound, exit_after, screenshot, before_teardown=engine.stop)
    return 1 if engine.error is not None else 0
