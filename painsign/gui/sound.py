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
import math
import time
from collections.abc import Callable

from painsign.alarms import ALARM_WAV, Priority, burst_pattern
from painsign.assets import asset_path

logger = logging.getLogger("painsign.sound")

#: Seconds between bursts while an alarm keeps sounding (0: once), per priority.
REPEAT_S = {Priority.HIGH: 5.0, Priority.MEDIUM: 15.0, Priority.LOW: 0.0}
#: Silence between stopping one priority's burst and starting another's.
SWITCH_GAP_S = 0.06
#: A stopped sound effect still plays about 30 ms of what it had buffered, just before
#: the next sound starts (measured through a PulseAudio null sink), and its output lags
#: play() by 20-30 ms. So a burst that must give way is stopped STOP_MARGIN_S into a gap
#: of at least MIN_GAP_S (medium: between pulses; high: between its two groups; or at its
#: end): the leftover is silence, not a fragment of the old tone opening the next burst.
STOP_MARGIN_S = 0.05
MIN_GAP_S = 0.1


#: Longest leftover of a stopped effect (s), with room to spare.
LEFTOVER_S = 0.04


def stop_point(priority: Priority, elapsed: float) -> float:
    """Seconds into a burst of ``priority`` at which to stop it, at or after ``elapsed``:
    ``STOP_MARGIN_S`` into a gap of at least ``MIN_GAP_S`` (or after the end), leaving
    ``LEFTOVER_S`` of that gap for what the sound server still plays.

    Examples
    --------
    >>> [round(stop_point(Priority.MEDIUM, e), 3) for e in (0.05, 0.24, 0.28)]
    [0.23, 0.24, 0.53]
    >>> round(stop_point(Priority.HIGH, 0.12), 3)  # its 50-ms gaps are too short
    0.75
    """
    t = 0.0
    for on, off in burst_pattern(priority):
        last = off == 0.0
        if last or off >= MIN_GAP_S:
            latest = math.inf if last else t + on + off - LEFTOVER_S
            if elapsed <= latest:
                return max(t + on + STOP_MARGIN_S, elapsed)
        t += on + off
    return max(elapsed, t)


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

    def __init__(
        self,
        clock=time.monotonic,
        play: bool = True,
        backend=None,
        on_problem: Callable[[str], object] | None = None,
    ):
        self.clock = clock
        self.scheduled: list[tuple[float, Priority, str]] = []
        self.problem: str | None = None
        self.on_problem = on_problem
        self._player = None
        self._current: Priority | None = None
        self._next_at = 0.0
        self._playing: tuple[Priority, float] | None = None  # burst playing, its start
        self._stop_at: float | None = None
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
        if priority != self._current:
            # The burst playing gives way at its next silent moment (see STOP_MARGIN_S);
            # a new priority starts SWITCH_GAP_S after that.
            stop_at = self._silence_from(now)
            self._stop_at = stop_at
            self._current = priority
            self._next_at = stop_at + SWITCH_GAP_S if stop_at > now else now
        if self._stop_at is not None and now >= self._stop_at:
            self._stop_at = None
            self._stop()
        if priority is None:
            return
        if now >= self._next_at:
            self._burst(priority, now)
            repeat = REPEAT_S[priority]
            self._next_at = now + repeat if repeat > 0 else float("inf")

    def _silence_from(self, now: float) -> float:
        """When the burst playing is (next) silent: ``now`` if none plays or it is in a gap."""
        if self._playing is None:
            return now
        priority, start = self._playing
        return start + stop_point(priority, now - start)

    def _burst(self, priority: Priority, now: float) -> None:
        self.scheduled.append((now, priority, ALARM_WAV[priority]))
        if self._player is not None and self.problem is None:
            self._stop()
            self._player.play(priority)
            self._playing = (priority, now)

    def _stop(self) -> None:
        self._playing = None
        if self._player is not None:
            self._player.stop()
