"""Replay a recorded video file as a frame source: no frame lost, paced to real time.

The decoder thread fills a bounded queue and waits when it is full, so a slow consumer
loses nothing. A frame that does not decode is skipped and counted (the next one keeps its
own time stamp); :meth:`FileSource.damage` says whether frames were skipped or the file
ended before the frames its container announces.

Pacing happens on the reading side: :meth:`FileSource.read` hands a frame over when its
time stamp is due (real time × ``speed``), so :meth:`~FileSource.pause`,
:meth:`~FileSource.set_speed` and :meth:`~FileSource.seek` take effect at once, whatever
the decoder has queued. A consumer slower than real time gets frames as fast as it reads.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from painsign.capture.base import FrameSource, logger
from painsign.errors import InputError
from painsign.video.reader import (
    VideoFrame,
    VideoInfo,
    damage_details,
    missing_frames,
    probe,
    queue_frames,
    read_decodable,
)

_END = object()


def _check_speed(speed: float) -> float:
    try:
        value = float(speed)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"speed {speed!r} must be a positive number (1 = real time)")
    return value


class FileSource(FrameSource):
    """Frames of a video file, in order, paced like the recording.

    Parameters
    ----------
    path : str or pathlib.Path
        The video file.
    speed : float
        Playback rate when ``realtime``: 2 plays twice as fast.
    realtime : bool
        Pace frames by their time stamps; False delivers them as fast as they are read.
    queue_size : int
        Frames the decoder may run ahead of the consumer.
    on_status : callable, optional
        See :class:`~painsign.capture.base.FrameSource`.

    Attributes
    ----------
    info : VideoInfo
        Container properties (frame rate, count, size).

    Raises
    ------
    InputError
        When the file is missing, not a regular file, empty, cannot be opened or has
        frames that are too large (see :func:`~painsign.video.reader.probe`), or
        ``speed`` is not positive.

    Examples
    --------
    >>> with FileSource("demo.mp4", speed=2.0) as src:  # doctest: +SKIP
    ...     while (frame := src.read(timeout=1.0)) is not None:
    ...         print(frame.index, frame.t)
    """

    live = False

    def __init__(
        self,
        path: str | Path,
        speed: float = 1.0,
        realtime: bool = True,
        queue_size: int = 16,
        on_status=None,
    ):
        super().__init__(on_status=on_status)
        self.info: VideoInfo = probe(path)
        self.path = self.info.path
        self.realtime = bool(realtime)
        self._speed = _check_speed(speed)
        self._queue_size = queue_frames(self.info, max(1, int(queue_size)))
        self._buf: deque = deque()
        self._generation = 0
        self._seek_to: float | None = None
        self._pending: VideoFrame | None = None
        self._anchor: tuple[float, float] | None = None  # (monotonic, media t) in step
        self._paused = False
        self._ended = False
        self._position = math.nan
        self._timeline: list[float] = []  # time stamps of frames 0, 1, ... decoded in order
        self._time_stamps: bool | None = None  # whether the container has any
        self._skipped: set[int] = set()  # indices of the frames that did not decode
        self._end: tuple[int, float] | None = None  # (frames counted, reached s) at the end

    def describe(self) -> str:
        """E.g. "file demo.mp4"."""
        return f"file {self.path.name}"

    @property
    def speed(self) -> float:
        """The current playback rate."""
        return self._speed

    @property
    def paused(self) -> bool:
        """Whether :meth:`pause` holds frames back."""
        return self._paused

    @property
    def frames_skipped(self) -> int:
        """Frames that did not decode so far (each counted once, whatever the seeks)."""
        with self._cond:
            return len(self._skipped)

    @property
    def end_position(self) -> float | None:
        """Where the decoder met the end of the file (s); None before it did."""
        with self._cond:
            return None if self._end is None else self._end[1]

    def damage(self) -> str | None:
        """How the file is damaged, e.g. "30 frames could not be decoded, 0 of 900
        expected frames missing"; None while no frame was skipped and the decoder has
        not met an early end (fewer frames than the container announces, see
        :func:`~painsign.video.reader.missing_frames`)."""
        with self._cond:
            skipped, end = len(self._skipped), self._end
        missing = 0
        if end is not None:
            counted, reached = end
            missing = missing_frames(self.info, counted - skipped, skipped, reached)
        if not skipped and not missing:
            return None
        return damage_details(self.info, skipped, missing)

    @property
    def ended_early(self) -> bool:
        """Whether the decoder met the end of the file before the frames it announces."""
        with self._cond:
            end, skipped = self._end, len(self._skipped)
        return end is not None and missing_frames(self.info, end[0] - skipped, skipped, end[1]) > 0

    @property
    def position(self) -> float:
        """Time stamp of the last frame delivered (NaN before the first)."""
        return self._position

    # -- replay controls --------------------------------------------------------------

    def pause(self) -> None:
        """Hold frames back: :meth:`read` returns None on timeout until :meth:`resume`."""
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        """Deliver frames again, pacing from the next one."""
        with self._cond:
            self._paused = False
            self._anchor = None
            self._cond.notify_all()

    def set_speed(self, speed: float) -> None:
        """Change the playback rate from now on, without a jump in the position."""
        speed = _check_speed(speed)
        with self._cond:
            if self._anchor is not None:
                wall, media = self._anchor
                now = time.monotonic()
                self._anchor = (now, media + (now - wall) * self._speed)
            self._speed = speed
            self._cond.notify_all()

    def seek(self, t: float) -> None:
        """Continue from the frame at or just before ``t`` seconds (clipped to the file).

        Frames queued before the seek are discarded; a source that had ended plays again.
        """
        try:
            t = float(t)
        except (TypeError, ValueError):
            t = math.nan
        if not math.isfinite(t):
            raise InputError(f"seek time {t!r} must be a finite number of seconds")
        with self._cond:
            self._generation += 1
            self._seek_to = max(0.0, t)
            self._buf.clear()
            self._pending = None
            self._anchor = None
            self._ended = False
            self._cond.notify_all()

    # -- reading side -----------------------------------------------------------------

    def _read(self, timeout: float | None) -> VideoFrame | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        frame, ended = None, False
        with self._cond:
            while True:
                if self._stopped or self._status == "failed":
                    break
                if self._pending is None:
                    if self._buf:
                        generation, item = self._buf.popleft()
                        self._cond.notify_all()
                        if generation != self._generation:
                            continue
                        if item is _END:
                            self._ended = ended = True
                            break
                        self._pending = item
                    elif self._ended:
                        break
                    elif not self._wait_until(deadline):
                        break
                    continue
                if self._paused:
                    if not self._wait_until(deadline):
                        break
                    continue
                now = time.monotonic()
                if self.realtime:
                    if self._anchor is None:
                        self._anchor = (now, self._pending.t)
                    wall, media = self._anchor
                    due = wall + (self._pending.t - media) / self._speed
                    if now < due:
                        if not self._wait_until(due if deadline is None else min(due, deadline)):
                            if deadline is not None and time.monotonic() >= deadline:
                                break
                        continue
                frame, self._pending = self._pending, None
                self._delivered += 1
                self._position = frame.t
                self._note_arrival(now)
                break
        if ended:
            self._set_status(
                "ended",
                f"end of file after {self._position:.2f} s ({self._delivered} frames delivered)",
            )
        elif frame is not None and self._status != "ok":
            self._set_status(
                "ok",
                f"playing at {self._speed:g}x" if self.realtime else "reading as fast as possible",
            )
        return frame

    def _wait_until(self, deadline: float | None) -> bool:
        """Wait on the condition (lock held) until notified or ``deadline``; False if past it."""
        if deadline is None:
            self._cond.wait()
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._cond.wait(remaining)
        return True

    # -- decoding side ----------------------------------------------------------------

    def _put(self, generation: int, item) -> bool:
        """Queue ``item``, waiting while the queue is full; False when it became stale."""
        with self._cond:
            while (
                len(self._buf) >= self._queue_size
                and not self._stopping.is_set()
                and generation == self._generation
            ):
                self._cond.wait()
            if self._stopping.is_set() or generation != self._generation:
                return False
            self._buf.append((generation, item))
            if item is not _END:
                self._captured += 1
            self._cond.notify_all()
            return True

    def _timestamp(self, cap: cv2.VideoCapture, index: int, last_t: float | None) -> float:
        """The frame's time in seconds; the nominal rate where the container has none.

        ``last_t`` is the previous frame's time, None for the first frame or the first
        after a seek (where ``index`` is OpenCV's guess and only a real time stamp counts).
        """
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if last_t is None:
            if not np.isfinite(t) or (index > 0 and self._time_stamps is False):
                t = index / self.info.fps
        elif not np.isfinite(t) or t <= last_t:
            t = last_t + 1.0 / self.info.fps
        return t

    def _has_time_stamps(self, cap: cv2.VideoCapture) -> bool:
        """Whether the container has time stamps (some report 0 throughout).

        Known once the decoder has passed frame 1; before that, probed by rewinding (the
        caller repositions ``cap`` afterwards).
        """
        if self._time_stamps is None:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._time_stamps = bool(
                cap.read()[0] and cap.read()[0] and cap.get(cv2.CAP_PROP_POS_MSEC) > 0
            )
        return self._time_stamps

    def _seek(self, cap: cv2.VideoCapture, target: float):
        """Decode from the frame at or just before ``target``.

        OpenCV positions by frame number converted with the average rate, which lands on
        the wrong frame in a variable-rate file; the time stamps of the frames it then
        decodes are true, though. So: step back until the first decoded frame is not after
        ``target``, then decode forward to the last frame not after it.

        Returns
        -------
        tuple or None
            ``(bgr, t, lookahead, index)``: lookahead is ``(bgr, t)`` of the next frame or
            None at the end; index is the frame number when known (counted from the start
            of the file), else None. None when nothing decodes.
        """
        fps, eps = self.info.fps, 1e-6
        guess = math.floor(target * fps + eps)
        if self.info.frame_count > 0:
            guess = min(guess, self.info.frame_count - 1)
        back = 1
        self._has_time_stamps(cap)  # may rewind: before positioning
        while True:
            cap.set(cv2.CAP_PROP_POS_FRAMES, guess)
            ok, bgr = cap.read()
            if ok and bgr is not None:
                t = self._timestamp(cap, guess, None)
                if t <= target + eps or guess == 0:
                    break
                back = max(back, math.ceil((t - target) * fps))
            elif guess == 0:
                return None
            guess, back = max(0, guess - back), back * 2
        # From the start of the file, frames are counted exactly.
        index = 0 if guess == 0 else None
        while True:
            ok, following = cap.read()
            if not ok or following is None:
                return bgr, t, None, index
            t_following = self._timestamp(cap, guess, t)
            if t_following > target + eps:
                return bgr, t, (following, t_following), index
            bgr, t = following, t_following
            index = None if index is None else index + 1

    def _index_at(self, t: float) -> tuple[int, bool]:
        """Frame index of time ``t`` after a seek, and whether it is exact.

        Exact where the decoder has gone through that part of the file from the start;
        elsewhere ``round(t * fps)``, exact for a constant-rate file only.
        """
        timeline = self._timeline
        if timeline and t <= timeline[-1] + 1e-6:
            return bisect.bisect_left(timeline, t - 1e-6), True
        return round(t * self.info.fps), False

    def _note_skipped(
        self, index: int, skipped: int, last_t: float | None, t: float, exact: bool
    ) -> None:
        """Count frames ``index`` .. ``index + skipped - 1`` that did not decode; give them
        time stamps between their neighbours' in the timeline (for seeking)."""
        with self._cond:
            new = set(range(index, index + skipped)) - self._skipped
            self._skipped.update(new)
        if new:
            logger.info(
                "%s: %d frame(s) from frame %d did not decode, skipped",
                self.describe(),
                skipped,
                index,
            )
        if exact and index == len(self._timeline):
            before = t - skipped / self.info.fps if last_t is None else last_t
            step = (t - before) / (skipped + 1)
            self._timeline.extend(max(0.0, before + (k + 1) * step) for k in range(skipped))

    def _note_end(self, index: int, last_t: float | None) -> None:
        """The decoder met the end of the stream after frame ``index - 1`` at ``last_t``."""
        reached = 0.0 if last_t is None else last_t + 1.0 / self.info.fps
        with self._cond:
            if self._end is None or reached > self._end[1]:
                self._end = (index, reached)

    def _run(self) -> None:
        cap = cv2.VideoCapture(str(self.path))
        try:
            if not cap.isOpened():
                self._set_status("failed", f"video {self.path} cannot be opened")
                return
            generation, index, last_t, at_end = 0, 0, None, False
            exact, lookahead = True, None  # exact: ``index`` counts frames from the start
            while not self._stopping.is_set():
                with self._cond:
                    target = self._seek_to
                    if target is None and at_end:
                        self._cond.wait()
                        continue
                    self._seek_to = None
                    generation = self._generation
                if target is not None:
                    found = self._seek(cap, target)
                    at_end = found is None
                    if at_end:
                        self._put(generation, _END)
                        continue
                    bgr, t, lookahead, index = found
                    index, exact = (index, True) if index is not None else self._index_at(t)
                elif lookahead is not None:
                    (bgr, t), lookahead = lookahead, None
                else:
                    found = read_decodable(cap, self.info.fps, index, last_t)
                    if found is None:
                        at_end = True
                        self._note_end(index, last_t)
                        self._put(generation, _END)
                        continue
                    bgr, t, skipped = found
                    if skipped:
                        self._note_skipped(index, skipped, last_t, t, exact)
                        index += skipped
                    if exact and index == 1 and self._time_stamps is None:
                        self._time_stamps = cap.get(cv2.CAP_PROP_POS_MSEC) > 0
                if exact and index == len(self._timeline):
                    self._timeline.append(t)
                self._put(generation, VideoFrame(index, t, bgr))
                index, last_t = index + 1, t
        except Exception as exc:  # malformed file or decoder error: say so, never hang
            logger.exception("%s: decoding failed", self.describe())
            self._set_status("failed", f"decoding {self.path} failed: {exc}")
        finally:
            cap.release()
