"""The alarm half of the monitor engine's controls: acknowledge, audio pause, sound fault."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from painsign.alarms import AlarmId, AlarmManager

logger = logging.getLogger("painsign.monitor")


class AlarmControls:
    """What a view may do with the alarms; mixed into
    :class:`~painsign.monitor.engine.MonitorEngine` (its alarm manager and state lock)."""

    alarms: AlarmManager
    _lock: threading.RLock
    _audio_problem: str | None

    def acknowledge(self, kinds: Iterable[str] | None = None, by: str = "") -> list[str]:
        """Acknowledge every alarm, or those of ``kinds`` (silences them; clears latched
        ones whose cause ended).

        Parameters
        ----------
        kinds : iterable of str, optional
            Alarm kind ids; every alarm when None (the bedside button).
        by : str, optional
            Who and where when not at the bedside (``"from the central station at HOST by
            USER"``), written in the alarm log.

        Returns
        -------
        list of str
            The kind ids acknowledged.
        """
        with self._lock:
            if kinds is None:
                return self.alarms.acknowledge(by=by)
            done: list[str] = []
            for kind in kinds:
                try:
                    done += self.alarms.acknowledge(kind, by=by)
                except ValueError:  # a kind this bedside does not know
                    logger.warning("alarm %r not acknowledged: no such alarm kind", kind)
            return done

    def pause_audio(self, seconds: float | None = None) -> bool:
        """Pause alarm sound (visuals continue; higher priority breaks through).

        Pressing it while a pause runs changes nothing (it does not restart the 2 min);
        end a pause with :meth:`cancel_pause`. Returns whether a pause started.
        """
        with self._lock:
            return self.alarms.pause_audio(seconds)

    def cancel_pause(self) -> bool:
        """End the audio pause now (logged); False if audio was not paused."""
        with self._lock:
            return self.alarms.resume_audio()

    def toggle_pause_audio(self) -> bool:
        """One button: start a pause, or cancel the running one; return whether paused now."""
        with self._lock:
            if self.alarms.audio_paused():
                self.alarms.resume_audio()
                return False
            return self.alarms.pause_audio()

    def report_audio_problem(self, message: str) -> None:
        """Raise the technical alarm "Alarm sound unavailable" (idempotent)."""
        with self._lock:
            if self._audio_problem is None:
                logger.warning("alarm sound unavailable: %s", message)
            self._audio_problem = message
            self.alarms.set_condition(AlarmId.AUDIO_FAILURE, True)
