"""Base classes of frame sources: a capture thread behind start / read / stop, status, stats.

Two delivery policies, as in vidgear's capture thread:

- a **live** source (camera, network stream) keeps only the newest frame in a one-slot
  buffer; a frame overwritten before anyone read it counts as dropped, so latency never
  grows when the consumer is slow;
- a **file** source (:class:`painsign.capture.file.FileSource`) uses a bounded queue and
  makes its decoder wait, so no frame is lost.

Status (``source.status``) is one of "starting", "ok", "lost", "frozen", "reconnecting",
"ended", "failed". Every change is logged on the ``painsign.capture`` logger and passed to
the ``on_status(old, new, message)`` callback, which the monitor turns into technical alarms.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from painsign.video.reader import VideoFrame

logger = logging.getLogger("painsign.capture")

Status = Literal["starting", "ok", "lost", "frozen", "reconnecting", "ended", "failed"]
#: Every status a source can report.
STATUSES: tuple[str, ...] = (
    "starting",
    "ok",
    "lost",
    "frozen",
    "reconnecting",
    "ended",
    "failed",
)
#: Statuses in which frames are not trustworthy or not coming (technical alarm material).
TROUBLE: frozenset[str] = frozenset({"lost", "frozen", "reconnecting", "failed"})


@dataclass(frozen=True)
class CaptureStats:
    """A snapshot of a source's counters.

    Attributes
    ----------
    frames_captured : int
        Frames that came out of the device or decoder.
    frames_delivered : int
        Frames returned by ``read``.
    frames_dropped : int
        Live sources: frames overwritten before being read. Always 0 for files.
    input_fps : float
        Frames per second over the last ~2 s (captured frames for a live source, delivered
        frames for a file, whose decoder runs ahead); decays to 0 when frames stop.
    last_frame_age_s : float
        Seconds since that last frame; ``inf`` before the first one.
    reconnects : int
        Times a live source got frames again after reopening its device.
    """

    frames_captured: int
    frames_delivered: int
    frames_dropped: int
    input_fps: float
    last_frame_age_s: float
    reconnects: int


class RateMeter:
    """Events per second over a sliding window (default 2 s)."""

    def __init__(self, window_s: float = 2.0):
        self.window_s = window_s
        self._times: deque[float] = deque()
        self._first: float | None = None

    def add(self, now: float) -> None:
        """Count one event at ``now``."""
        if self._first is None:
            self._first = now
        self._times.append(now)
        self._prune(now)

    def rate(self, now: float) -> float:
        """Events per second in the window ending at ``now`` (shorter at the start)."""
        self._prune(now)
        if self._first is None or not self._times:
            return 0.0
        span = min(self.window_s, now - self._first)
        return len(self._times) / span if span > 0 else 0.0

    def _prune(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()


class FrameSource:
    """Base of all frame sources: a capture thread, a status and counters.

    Subclasses implement ``_run`` (the capture thread's body) and ``_read``; they count
    frames with ``_note_captured`` / ``_note_delivered`` and change status with
    ``_set_status``.

    Parameters
    ----------
    on_status : callable, optional
        ``on_status(old, new, message)``, called on every status change from the source's
        own threads (the capture thread or, for "lost"/"frozen" noticed while the driver
        blocks, the watchdog thread; for a file, "ok" and "ended" come from the thread
        calling ``read``). Calls never overlap. Keep it quick; it may call :meth:`stop`;
        exceptions it raises are logged and otherwise ignored.

    Attributes
    ----------
    live : bool
        True for cameras and network streams (newest frame only), False for files.
    on_status : callable or None
        The status callback; may be set after construction, before :meth:`start`.
    """

    live: bool = False

    def __init__(self, on_status=None):
        self.on_status = on_status
        self._cond = threading.Condition()
        self._transition_lock = threading.RLock()  # on_status may call stop()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._status: str = "starting"
        self._status_message = "not started"
        self._started_at: float | None = None
        self._captured = 0
        self._delivered = 0
        self._dropped = 0
        self._reconnects = 0
        self._meter = RateMeter()
        self._last_frame_at: float | None = None

    # -- public API -------------------------------------------------------------------

    def describe(self) -> str:
        """A short human-readable name, e.g. "camera 0" or "file demo.mp4"."""
        return type(self).__name__

    def start(self) -> FrameSource:
        """Start the capture thread (once); return ``self``.

        Raises
        ------
        RuntimeError
            When the source was stopped: create a new one instead.
        """
        with self._cond:
            if self._stopped:
                raise RuntimeError(f"{self.describe()} was stopped; create a new source")
            if self._thread is not None:
                return self
            self._started_at = time.monotonic()
            self._status_message = "starting"
            self._thread = threading.Thread(
                target=self._run_guarded,
                name=f"painsign-capture {self.describe()}",
                daemon=True,
            )
        self._thread.start()
        return self

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        """Return the next frame, or None on timeout or when no frame will come.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait; None waits until a frame comes or the source ends, fails or
            is stopped.

        Returns
        -------
        VideoFrame or None
            Live sources: the newest frame not yet read (``t`` in seconds since
            :meth:`start`, ``index`` counting captured frames). Files: the next frame in
            order, with the file's time stamps.
        """
        if self._thread is None and not self._stopped:
            raise RuntimeError(f"call start() before read() on {self.describe()}")
        return self._read(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the capture thread, wait for it (up to ``timeout`` s) and release the device.

        Idempotent. A reader blocked in :meth:`read` gets None. If the driver blocks the
        thread longer than ``timeout``, a warning is logged and the thread releases the
        device when the driver returns. Called from ``on_status`` (a capture thread), it
        only signals the threads, which end and release the device right after.
        """
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._stopping.set()
            self._cond.notify_all()
        self._interrupt()
        own = threading.current_thread() in self._threads()
        for thread in [] if own else self._threads():  # from on_status: signal, don't join
            thread.join(timeout)
            if thread.is_alive():
                logger.warning(
                    "%s: capture thread still blocked in the driver after %.1f s; "
                    "it will release the device when the driver returns",
                    self.describe(),
                    timeout,
                )
        if self._status not in ("ended", "failed"):
            self._set_status("ended", "stopped")

    @property
    def status(self) -> str:
        """The current status (see :data:`STATUSES`)."""
        return self._status

    @property
    def status_message(self) -> str:
        """Why the source is in its current status, in words."""
        return self._status_message

    @property
    def started_at(self) -> float | None:
        """``time.monotonic()`` at :meth:`start`: a live frame was captured at
        ``started_at + frame.t``."""
        return self._started_at

    @property
    def stats(self) -> CaptureStats:
        """A consistent snapshot of the counters."""
        now = time.monotonic()
        with self._cond:
            age = math.inf if self._last_frame_at is None else now - self._last_frame_at
            return CaptureStats(
                frames_captured=self._captured,
                frames_delivered=self._delivered,
                frames_dropped=self._dropped,
                input_fps=self._meter.rate(now),
                last_frame_age_s=age,
                reconnects=self._reconnects,
            )

    def wait_for_status(self, *statuses: str, timeout: float | None = None) -> bool:
        """Block until the status is one of ``statuses``; False on timeout."""
        unknown = set(statuses) - set(STATUSES)
        if unknown:
            raise ValueError(f"unknown status {sorted(unknown)}; choose from {STATUSES}")
        with self._cond:
            return self._cond.wait_for(lambda: self._status in statuses, timeout)

    def __enter__(self) -> FrameSource:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()!r} status={self._status!r}>"

    # -- for subclasses ---------------------------------------------------------------

    def _run(self) -> None:
        raise NotImplementedError

    def _read(self, timeout: float | None) -> VideoFrame | None:
        raise NotImplementedError

    def _interrupt(self) -> None:
        """Unblock the capture thread if it waits on I/O (called by :meth:`stop`)."""

    def _threads(self) -> list[threading.Thread]:
        return [self._thread] if self._thread is not None else []

    def _run_guarded(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a bug or an unexpected driver error: say so, never hang
            logger.exception("%s: capture thread crashed", self.describe())
            self._set_status("failed", f"capture thread crashed: {exc!r}")

    def _set_status(self, new: str, message: str, only_from: tuple[str, ...] | None = None) -> bool:
        """Change status, log it and call ``on_status``; return whether it changed.

        Never call with ``self._cond`` held: the callback may read :attr:`stats`.
        """
        with self._transition_lock:
            with self._cond:
                old = self._status
                if only_from is not None and old not in only_from:
                    return False
                if self._stopped and new not in ("ended", "failed"):
                    return False  # a late report from a thread that is winding down
                self._status_message = message
                if new == old:
                    return False
                self._status = new
                self._cond.notify_all()
            level = logging.WARNING if new in TROUBLE else logging.INFO
            logger.log(level, "%s: %s -> %s: %s", self.describe(), old, new, message)
            callback = self.on_status
            if callback is not None:
                try:
                    callback(old, new, message)
                except Exception:
                    logger.exception("%s: on_status callback failed", self.describe())
        return True

    def _note_arrival(self, now: float) -> None:
        """Count a frame for ``input_fps`` / ``last_frame_age_s`` (call with the lock held)."""
        self._meter.add(now)
        self._last_frame_at = now
