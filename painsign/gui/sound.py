"""Alarm sound: the sounding alarm's burst, repeated at its priority's interval.

QtMultimedia needs the system's PulseAudio library and a sound server; without them the
adapter degrades to "no audio device" and says so (the monitor then raises a technical
alarm), it never crashes.
"""

from __future__ import annotations

import logging
import time

from painsign.alarms import ALARM_WAV, Priority
from painsign.assets import asset_path

logger = logging.getLogger("painsign.sound")

#: Seconds between bursts while an alarm keeps sounding (0: once), per priority.
REPEAT_S = {Priority.HIGH: 5.0, Priority.MEDIUM: 15.0, Priority.LOW: 0.0}


class AlarmSound:
    """Play the burst of whichever alarm should sound, and repeat it.

    Parameters
    ----------
    clock : callable
        Monotonic time in seconds.
    play : bool
        False to schedule without playing (tests, headless runs).

    Attributes
    ----------
    scheduled : list of (float, Priority, str)
        Every burst started: clock time, priority and WAV file name.
    problem : str or None
        Why no sound can be played, if so.
    """

    def __init__(self, clock=time.monotonic, play: bool = True):
        self.clock = clock
        self.scheduled: list[tuple[float, Priority, str]] = []
        self.problem: str | None = None
        self._effects = {}
        self._current: Priority | None = None
        self._next_at = 0.0
        if play:
            self._load()

    def _load(self) -> None:
        try:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QSoundEffect
        except ImportError as exc:  # libpulse missing
            self.problem = f"no audio device (QtMultimedia unavailable: {exc})"
            logger.warning(self.problem)
            return
        for priority, name in ALARM_WAV.items():
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(asset_path(name))))
            effect.setVolume(1.0)
            self._effects[priority] = effect

    @property
    def available(self) -> bool:
        """Whether bursts can be played."""
        if self.problem is None and self._effects:
            from PySide6.QtMultimedia import QSoundEffect

            if any(e.status() == QSoundEffect.Status.Error for e in self._effects.values()):
                self.problem = "no audio device (the sound server refused the alarm sounds)"
        return self.problem is None and bool(self._effects)

    def update(self, sounding) -> None:
        """Start or repeat the burst for ``sounding`` (an alarm state, or None for silence)."""
        now = self.clock()
        priority = sounding.priority if sounding is not None else None
        if priority is None:
            self._current = None
            self._stop()
            return
        if priority != self._current:
            self._current = priority
            self._next_at = now
        if now >= self._next_at:
            self._burst(priority, now)
            repeat = REPEAT_S[priority]
            self._next_at = now + repeat if repeat > 0 else float("inf")

    def _burst(self, priority: Priority, now: float) -> None:
        self.scheduled.append((now, priority, ALARM_WAV[priority]))
        effect = self._effects.get(priority)
        if effect is not None and self.problem is None:
            self._stop()
            effect.play()

    def _stop(self) -> None:
        for effect in self._effects.values():
            if effect.isPlaying():
                effect.stop()
