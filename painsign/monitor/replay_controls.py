"""The replay half of the monitor engine's controls: length, damage, speed, pause, seek."""

from __future__ import annotations

import threading

from painsign.monitor.ports import Source


class ReplayControls:
    """What a view may ask of, and do with, a replayed file; mixed into
    :class:`~painsign.monitor.engine.MonitorEngine`, whose state it uses (the source, the
    state lock, the damage found at the end, the pending seek and the worker)."""

    source: Source
    _lock: threading.RLock
    _damage: str | None
    _seek_request: tuple[float, str] | None
    _started: bool
    _stop: threading.Event

    @property
    def running(self) -> bool:  # the engine's worker
        raise NotImplementedError

    def _spawn(self) -> None:  # the engine starts its worker
        raise NotImplementedError

    def replay_duration(self) -> float | None:
        """Length of a replayed file in seconds; None for a live source."""
        info = getattr(self.source, "info", None)
        if getattr(self.source, "live", True) or info is None:
            return None
        return float(info.duration_s)

    @property
    def replay_damage(self) -> str | None:
        """How the replayed file was damaged, once its end was reached (skipped frames,
        or fewer frames than announced); None otherwise and for a live source."""
        with self._lock:
            return self._damage

    @property
    def replay_ended_early(self) -> bool:
        """Whether the replayed file ended before the frames its container announces."""
        return bool(self._damage) and bool(getattr(self.source, "ended_early", False))

    @property
    def is_replay(self) -> bool:
        """Whether the source is a replayed file (it can pause, change speed and seek)."""
        return not self.source.live

    @property
    def replay_speed(self) -> float:
        """Replay speed (1.0: real time); 1.0 for a live source."""
        return float(getattr(self.source, "speed", 1.0) or 1.0)

    def set_replay_speed(self, speed: float) -> None:
        """Play a replayed file ``speed`` times faster than real time (> 0)."""
        self._replay().set_speed(float(speed))

    def pause_replay(self) -> None:
        """Pause a replayed file (session time stops; no stall is raised)."""
        self._replay().pause()

    def resume_replay(self) -> None:
        """Resume a paused replay."""
        self._replay().resume()

    def _replay(self):
        if self.source.live:
            raise ValueError(f"{self.source.describe()} is live: it is not a replay")
        return self.source

    def seek(self, t: float, reason: str = "seek") -> None:
        """Jump a replayed file to ``t`` seconds (media time): a new segment starts.

        The worker performs it before reading its next frame; repeated calls (a slider
        being dragged) collapse into the last one. The signs, plot, trend and gaps
        restart; session time goes on from where it was (never backwards). After the
        end of the file this plays again from ``t``.
        """
        if getattr(self.source, "live", True):
            raise ValueError(f"{self.source.describe()} is live: only a replay can seek")
        with self._lock:
            self._seek_request = (float(t), reason)
            if self._started and not self._stop.is_set() and not self.running:
                self._spawn()

    def restart(self) -> None:
        """Replay the file again from the start, as a new segment."""
        self.seek(0.0, reason="restart")
