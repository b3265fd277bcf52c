"""Read a recorded video file frame by frame with time stamps, failing clearly.

A decoding thread fills a bounded queue so decoding overlaps inference and no frame is
dropped (a file is not a live camera: the reader waits for the consumer).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from painsign.errors import InputError


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video file."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        """Nominal duration from the frame count and rate."""
        return self.frame_count / self.fps if self.fps > 0 else float("nan")


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: its index, time stamp in seconds and BGR pixels."""

    index: int
    t: float
    bgr: np.ndarray


def probe(path: str | Path) -> VideoInfo:
    """Open ``path`` and return its properties.

    Raises
    ------
    InputError
        When the file is missing, empty, or no decoder can open it (a plain MP4 cut off
        mid-recording has no index and cannot be opened).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    if path.stat().st_size == 0:
        raise InputError(f"video {path} is empty (0 bytes)")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError(
                f"video {path} cannot be opened: not a video, or truncated (an MP4 cut off "
                "mid-recording has no index; MKV survives)"
            )
        fps = cap.get(cv2.CAP_PROP_FPS)
        info = VideoInfo(
            path=path,
            fps=float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0,
            frame_count=max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))),
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
    finally:
        cap.release()
    return info


_END = object()


class VideoReader:
    """Iterate over the frames of a video file, decoded in a background thread.

    Parameters
    ----------
    path : str or pathlib.Path
        The video file.
    queue_size : int
        Frames decoded ahead of the consumer.

    Attributes
    ----------
    info : VideoInfo
        Container properties.
    frames_read : int
        Frames delivered so far.
    """

    def __init__(self, path: str | Path, queue_size: int = 16):
        self.info = probe(path)
        self.frames_read = 0
        self.last_t = float("nan")
        self._queue_size = queue_size

    def __iter__(self) -> Iterator[VideoFrame]:
        q: queue.Queue = queue.Queue(maxsize=self._queue_size)
        stop = threading.Event()

        def decode() -> None:
            cap = cv2.VideoCapture(str(self.info.path))
            try:
                index = 0
                last_t = -np.inf
                while not stop.is_set():
                    ok, frame = cap.read()
                    if not ok or frame is None:
                        break
                    t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                    # Some containers report no time stamps (0 throughout): fall back to the
                    # nominal rate, and never let time go backwards.
                    if not np.isfinite(t) or (index > 0 and t <= last_t):
                        t = last_t + 1.0 / self.info.fps if index > 0 else 0.0
                    last_t = t
                    q.put(VideoFrame(index, t, frame))
                    index += 1
            except Exception as exc:  # reported to the consumer, not lost in the thread
                q.put(exc)
            finally:
                cap.release()
                q.put(_END)

        worker = threading.Thread(target=decode, name="painsign-decode", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is _END:
                    break
                if isinstance(item, Exception):
                    raise InputError(f"decoding {self.info.path} failed: {item}") from item
                self.frames_read += 1
                self.last_t = item.t
                yield item
        finally:
            stop.set()
            while worker.is_alive():
                try:
                    q.get_nowait()
                except queue.Empty:
                    worker.join(0.05)

    def check_complete(self) -> None:
        """Raise :class:`InputError` when fewer frames decoded than the file announced.

        Call after iterating. No frame at all means an empty file; fewer than 90 % of the
        announced frames that also end before 90 % of the announced duration mean a
        truncated one (a variable-rate file may announce a frame count estimated from its
        duration, so the count alone would cry wolf).
        """
        if self.frames_read == 0:
            raise InputError(f"video {self.info.path} has no decodable frame")
        expected = self.info.frame_count
        reached = self.last_t + 1.0 / self.info.fps
        if (expected > 0 and self.frames_read < 0.9 * expected
                and reached < 0.9 * self.info.duration_s):
            raise InputError(
                f"video {self.info.path} is truncated: decoded {self.frames_read} of "
                f"{expected} frames"
            )
