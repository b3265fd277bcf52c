"""Alarm sound: the sounding alarm's burst, repeated at its priority's interval.

QtMultimedia needs the system's PulseAudio library (``libpulse0``) and a sound server;
without them the adapter degrades to "no audio device" and says so through
:attr:`AlarmSound.problem` and the ``on_problem`` callback (the monitor then raises the
technical alarm "Alarm sound unavailable"); it never crashes. Three failures are caught:
QtMultimedia cannot be imported, Qt lists no audio output, and a sound effect reports an
error status (no sound server), which Qt says only after loading, so it is checked on
every :meth:`AlarmSound.update`.

The playing back end is pluggable (``backend``), so tests drive a fake one that fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from painsign.alarms import ALARM_WAV, Priority
from painsign.assets import asset_path

logger = logging.getLogger("painsign.sound")

#: Seconds between bursts while an alarm keeps sounding (0: once), per priority.
REPEAT_S = {Priority.HIGH: 5.0, Priority.MEDIUM: 15.0, Priority.LOW: 0.0}
#: Silence between stopping one priority's burst and starting another's: sound servers
#: keep ~30 ms of the stopped sound buffered, which would open the new burst.
SWITCH_GAP_S = 0.06


class QtEffects:
    """The real back end: one ``QSoundEffect`` per priority.

    Raises
    ------
    RuntimeError
        QtMultimedia cannot be imported (no libpulse) or Qt lists no audio output.
    """

    def __init__(self):
        try:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError as exc:  # libpulse missing, or no QtMultimedia in the wheel
            raise RuntimeError(f"QtMultimedia unavailable: {exc}") from exc
        if not QMediaDevices.audioOutputs():
            raise RuntimeError("no audio output device")
        self._error = QSoundEffect.Status.Error
        self.effects = {}
        for priority, name in ALARM_WAV.items():
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(asset_path(name))))
            effect.setVolume(1.0)
            self.effects[priority] = effect

    def play(self, priority: Priority) -> None:
        """Start ``priority``'s burst from its beginning."""
        self.effects[priority].play()

    def stop(self) -> None:
        """Stop whatever plays."""
        for effect in self.effects.values():
            if effect.isPlaying():
                effect.stop()

    def failure(self) -> str | None:
        """Why sound cannot be played now, or None."""
        if any(e.status() == self._error for e in self.effects.values()):
            return "the sound server refused the alarm sounds (no sound server?)"
        return None


class AlarmSound:
    """Play the burst of whichever alarm should sound, and repeat it.

    Parameters
    ----------
    clock : callable
        Monotonic time in seconds.
    play : bool
        False to schedule without playing (tests, ``--mute``): no problem is reported.
    backend : callable, optional
        Factory of the player (``play(priority)``, ``stop()``, ``failure()``); raises
        when sound is impossible. Default :class:`QtEffects`.
    on_problem : callable, optional
        ``on_problem(message)``, called once when sound turns out to be unavailable
        (e.g. ``engine.report_audio_problem``).

    Attributes
    ----------
    scheduled : list of (float, Priority, str)
        Every burst started: clock time, priority and WAV file name.
    problem : str or None
        Why no sound can be played, if so.
    """

    def __init__(self, clock=time.monotonic, play: bool = True, backend=None,
                 on_problem: Callable[[str], object] | None = None):
        self.clock = clock
        self.scheduled: list[tuple[float, Priority, str]] = []
        self.problem: str | None = None
        self.on_problem = on_problem
        self._player = None
        self._current: Priority | None = None
        self._next_at = 0.0
        self._reported = False
        if play:
            try:
                self._player = (backend or QtEffects)()
            except Exception as exc:
                self._fail(f"no audio device ({exc})")

    def _fail(self, message: str) -> None:
        if self.problem is None:
            self.problem = message
            logger.warning("alarm sound unavailable: %s", message)
        self._report()

    def _report(self) -> None:
        if self.problem is not None and not self._reported and self.on_problem is not None:
            self._reported = True
            try:
                self.on_problem(self.problem)
            except Exception:
                logger.exception("on_problem callback failed")

    def check(self) -> str | None:
        """Look for a failure of the player now; return the problem, if any."""
        if self.problem is None and self._player is not None:
            failure = self._player.failure()
            if failure:
                self._fail(f"no audio device ({failure})")
        self._report()
        return self.problem

    @property
    def available(self) -> bool:
        """Whether bursts can be played."""
        return self.check() is None and self._player is not None

    def update(self, sounding) -> None:
        """Start or repeat the burst for ``sounding`` (an alarm state, or None for silence)."""
        self.check()
        now = self.clock()
        priority = sounding.priority if sounding is not None else None
        if priority is None:
            if self._current is not None:
                self._stop()
            self._current = None
            return
        if priority != self._current:
            # Stop the previous priority's burst at once; start the new one after a short
            # silence so the old tone still buffered in the sound server does not open it.
            switching = self._current is not None
            if switching:
                self._stop()
            self._current = priority
            self._next_at = now + (SWITCH_GAP_S if switching else 0.0)
        if now >= self._next_at:
            self._burst(priority, now)
            repeat = REPEAT_S[priority]
            self._next_at = now + repeat if repeat > 0 else float("inf")

    def _burst(self, priority: Priority, now: float) -> None:
        self.scheduled.append((now, priority, ALARM_WAV[priority]))
        if self._player is not None and self.problem is None:
            self._stop()
            self._player.play(priority)

    def _stop(self) -> None:
        if self._player is not None:
            self._player.stop()
