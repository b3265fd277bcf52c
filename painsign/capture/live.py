"""Live sources: newest frame only, a watchdog, reconnection with exponential backoff.

A camera or network stream must never build up latency, and OpenCV cannot be trusted to
report its death (it may block, repeat the last frame, or claim success after a
disconnect). :class:`LiveSource` keeps one frame slot, watches arrival times and contents
with :class:`~painsign.capture.watchdog.Watchdog` (from a second thread too, so a blocked
driver is still noticed), and reopens the device after 0.5, 1, 2, 2, ... s (so a camera
that comes back is seen again within about 2 s: an outage is not lengthened by the backoff).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from painsign.capture.base import FrameSource, logger
from painsign.capture.watchdog import FROZEN, LOST, OK, Backoff, Watchdog
from painsign.video.reader import VideoFrame


class LiveSource(FrameSource):
    """A live device: newest frame only, a watchdog, reconnection with exponential backoff.

    Subclasses implement ``_open()`` (raise on failure), ``_grab()`` (return a BGR array,
    or None / raise on a failed read) and ``_close()``; optionally ``_interrupt()`` to
    unblock a ``_grab`` stuck in I/O. All three run only in the capture thread.

    On "lost" (no new frame for ``stall_s``, even while ``_grab`` is blocked: a second
    thread watches the clock), on a failed read or open, the device is closed and reopened
    after 0.5, 1, 2, 2, ... s by default (status "reconnecting"); the first frame afterwards
    brings "ok" back, with a logged recovery message, and counts a reconnect.

    Parameters
    ----------
    stall_s : float
        Seconds without a new frame before the input is "lost".
    frozen_s : float
        Seconds of identical frames before the input is "frozen".
    backoff_initial, backoff_max : float
        First and largest delay between reopening attempts.
    on_status : callable, optional
        See :class:`FrameSource`.
    """

    live = True

    def __init__(
        self,
        stall_s: float = 3.0,
        frozen_s: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 2.0,
        on_status=None,
    ):
        super().__init__(on_status=on_status)
        self.watchdog = Watchdog(stall_s=stall_s, frozen_s=frozen_s)
        self._backoff = Backoff(backoff_initial, backoff_max)
        self._slot: VideoFrame | None = None
        self._connected = False
        self._watch_thread: threading.Thread | None = None

    # -- device hooks -----------------------------------------------------------------

    def _open(self) -> None:
        raise NotImplementedError

    def _grab(self) -> np.ndarray | None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- machinery --------------------------------------------------------------------

    def _threads(self) -> list[threading.Thread]:
        return [t for t in (self._thread, self._watch_thread) if t is not None]

    def start(self) -> FrameSource:
        """Start the capture thread and its watchdog timer; return ``self``."""
        first = self._thread is None
        super().start()
        if first and self._watch_thread is None:
            self._watch_thread = threading.Thread(
                target=self._watch,
                name=f"painsign-watchdog {self.describe()}",
                daemon=True,
            )
            self._watch_thread.start()
        return self

    def _read(self, timeout: float | None) -> VideoFrame | None:
        with self._cond:
            self._cond.wait_for(
                lambda: self._slot is not None or self._stopped or self._status == "failed",
                timeout,
            )
            if self._stopped:
                return None
            frame, self._slot = self._slot, None
            if frame is not None:
                self._delivered += 1
            return frame

    def _publish(self, bgr: np.ndarray, now: float) -> None:
        with self._cond:
            if self._slot is not None:
                self._dropped += 1
            self._slot = VideoFrame(self._captured, now - self._started_at, bgr)
            self._captured += 1
            self._note_arrival(now)
            self._cond.notify_all()

    def _watch(self) -> None:
        """Second thread: declare "lost" / "frozen" even while ``_grab`` is blocked."""
        wd = self.watchdog
        period = max(0.02, min(wd.stall_s, wd.frozen_s) / 5)
        while not self._stopping.wait(period):
            with self._cond:
                state = wd.check(time.monotonic()) if self._connected else None
            if state == LOST:
                self._set_status(
                    "lost",
                    f"no new frame for {wd.stall_s:g} s",
                    only_from=("starting", "ok", "frozen"),
                )
            elif state == FROZEN:
                self._set_status(
                    "frozen", f"identical frames for {wd.frozen_s:g} s", only_from=("ok",)
                )

    def _run(self) -> None:
        try:
            self._capture_loop()
        finally:
            with self._cond:
                self._connected = False
            self._safe_close()

    def _safe_close(self) -> None:
        try:
            self._close()
        except Exception:
            logger.exception("%s: releasing the device failed", self.describe())

    def _capture_loop(self) -> None:
        wd = self.watchdog
        reopened = False  # the device was reopened after a loss and has not delivered yet
        trouble_since: float | None = None
        while not self._stopping.is_set():
            if not self._connected:
                try:
                    self._open()
                except Exception as exc:
                    if trouble_since is None:
                        trouble_since = time.monotonic()
                    if self._back_off(f"cannot open {self.describe()}: {exc}"):
                        return
                    reopened = True
                    continue
                with self._cond:
                    self._connected = True
                    wd.reset(time.monotonic())
            error = None
            try:
                bgr = self._grab()
                if bgr is None or getattr(bgr, "size", 0) == 0:
                    bgr, error = None, "read returned no frame"
            except Exception as exc:
                bgr, error = None, f"read failed: {exc}"
            now = time.monotonic()
            if self._stopping.is_set():
                return
            with self._cond:
                late = wd.check(now) == LOST
            if bgr is None or late or self._status == "lost":
                if trouble_since is None:
                    trouble_since = now
                with self._cond:
                    self._connected = False
                self._safe_close()
                if self._back_off(error or f"no new frame for {wd.stall_s:g} s"):
                    return
                reopened = True
                continue
            self._publish(bgr, now)
            with self._cond:
                state = wd.feed(now, bgr)
            if reopened:
                reopened = False
                with self._cond:
                    self._reconnects += 1
            if state == OK:
                if self._status != "ok":
                    self._set_status("ok", self._ok_message(bgr, now, trouble_since))
                trouble_since = None
                self._backoff.reset()
            elif state == FROZEN:
                trouble_since = None
                self._backoff.reset()
                self._set_status("frozen", f"identical frames for {wd.frozen_s:g} s")

    def _ok_message(self, bgr: np.ndarray, now: float, trouble_since: float | None) -> str:
        size = f"{bgr.shape[1]}x{bgr.shape[0]}"
        old = self._status
        if old == "starting":
            return f"receiving frames ({size})"
        if old == "frozen":
            since = self.watchdog.last_change
            return "frames changing again" + (f" (after {now - since:.1f} s)" if since else "")
        lasted = f" after {now - trouble_since:.1f} s" if trouble_since is not None else ""
        return f"recovered{lasted}: frames again ({size}), reconnect #{self._reconnects}"

    def _back_off(self, reason: str) -> bool:
        """Report a loss, wait the next backoff delay; True when stopped meanwhile."""
        self._set_status("lost", reason, only_from=("starting", "ok", "frozen"))
        delay = self._backoff.next()
        self._set_status(
            "reconnecting",
            f"{reason}; reopening in {delay:g} s (attempt {self._backoff.attempts})",
        )
        if self._backoff.attempts > 1:
            logger.info("%s: %s; next attempt in %g s", self.describe(), reason, delay)
        return self._stopping.wait(delay)
