"""Read a recorded video file frame by frame with time stamps, past damaged frames.

A decoding thread fills a bounded queue so decoding overlaps inference and no frame is
dropped (a file is not a live camera: the reader waits for the consumer). A frame the
decoder refuses is skipped and counted, and reading goes on: the next good frame keeps
its own time stamp, so the damaged stretch shows as a gap in time.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from painsign.errors import InputError
from painsign.limits import check_frame_size, require_regular_file

#: Undecodable frames in a row after which reading stops. OpenCV's ``read()`` returns
#: False both for a packet its decoder refuses and at the real end of the stream, and
#: nothing tells the two apart (``CAP_PROP_POS_FRAMES`` stops moving in both cases). Each
#: failed read consumes one packet mid-file and returns at once at the end (1000 of them
#: took 40 ms after an MP4, 1 ms after an AVI), so this bound costs little at the end of
#: every file, and a damaged stretch is crossed unless it is longer than 1000 frames (33 s
#: at 30 fps); beyond that, the rest of the file counts as missing.
MAX_UNDECODABLE_RUN = 1000
#: Frames short of the container's count, and frame intervals short of its duration,
#: that do not count as missing. The count is exact where the container stores it (MP4,
#: AVI) and otherwise OpenCV's estimate from duration x rate, rounded, which may be off by
#: a frame or two. A variable-rate file can announce many more frames than it has; it
#: still reaches its duration, hence both conditions (short in frames and in time).
MISSING_TOLERANCE_FRAMES = 2
#: Memory the decoded-ahead frames of one reader may take: 16 frames of 1080p (100 MB)
#: fit; an 8K video gets 2 frames ahead.
QUEUE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video file.

    ``frame_count`` is 0 when the container does not say.
    """

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        """Nominal duration from the frame count and rate."""
        return self.frame_count / self.fps if self.fps > 0 else float("nan")

    @property
    def frames_expected(self) -> int | None:
        """The container's frame count; None when unknown."""
        return self.frame_count or None


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: its index in the stream, time stamp in seconds and BGR pixels.

    The index counts undecodable frames too, so it is the frame's place in the file.
    """

    index: int
    t: float
    bgr: np.ndarray


def probe(path: str | Path) -> VideoInfo:
    """Open ``path`` and return its properties, refusing unusable files before decoding.

    Raises
    ------
    InputError
        When the file is missing, not a regular file (folder, named pipe, socket, device:
        refused without opening it), empty, cannot be opened by any decoder (a plain MP4
        cut off mid-recording has no index), or announces frames of more than
        :data:`~painsign.limits.MAX_FRAME_PIXELS` pixels.
    """
    path = require_regular_file(path, "video")
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
        check_frame_size(info.width, info.height, f"video {path}")
    finally:
        cap.release()
    return info


def queue_frames(info: VideoInfo, wanted: int) -> int:
    """How many decoded frames may wait in a queue: ``wanted``, fewer for huge frames."""
    frame_bytes = max(1, info.width * info.height * 3)
    return max(2, min(int(wanted), QUEUE_BYTES // frame_bytes))


def read_decodable(
    cap: cv2.VideoCapture, fps: float, index: int, last_t: float | None
) -> tuple[np.ndarray, float, int] | None:
    """Read the next frame that decodes, skipping at most :data:`MAX_UNDECODABLE_RUN`.

    Parameters
    ----------
    cap : cv2.VideoCapture
        An open capture.
    fps : float
        The nominal rate, for time stamps where the container has none.
    index : int
        The stream index of the frame that ``cap`` reads next.
    last_t : float or None
        The previous frame's time stamp; None before the first frame.

    Returns
    -------
    tuple or None
        ``(bgr, t, skipped)``: the frame, its time stamp (the container's; where it has
        none or it does not advance, the previous one plus a frame interval for the frame
        and each skipped one, so a skipped stretch stays a gap) and how many frames before
        it did not decode (the frame's index is ``index + skipped``). None at the end of
        the stream, or after too many undecodable frames in a row.
    """
    for skipped in range(MAX_UNDECODABLE_RUN):
        ok, bgr = cap.read()
        if not ok or bgr is None:
            continue
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if last_t is None:
            if not math.isfinite(t) or (t <= 0 and index + skipped > 0):
                t = (index + skipped) / fps
        elif not math.isfinite(t) or t <= last_t:
            t = last_t + (1 + skipped) / fps
        return bgr, t, skipped
    return None


def open_capture(path: str | Path) -> cv2.VideoCapture:
    """Open ``path`` for reading frames, with one decoding thread.

    FFmpeg's frame threads conceal a damaged frame from whichever reference frames are at
    hand, so two reads of one damaged file gave different pixels (22-39 of the 819 frames
    of the demo with 100 flipped bytes, measured) and so different scores; one thread
    decodes the same pixels every time, the same frames, and cost less CPU (0.23 instead
    of 0.30 ms a 640x480 MPEG-4 frame). Where FFmpeg cannot open the file, OpenCV's other
    back-ends are tried as before.
    """
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    if not cap.isOpened():
        cap = cv2.VideoCapture(str(path))
    return cap


def seek(cap: cv2.VideoCapture, fps: float, start_s: float) -> int:
    """Move ``cap`` to the frame at ``start_s`` seconds; return that frame's stream index.

    OpenCV's FFmpeg back-end seeks to the key frame before the wanted frame and decodes
    forward to it, so the frames read next are exactly those a read from the start gets
    there (measured on MPEG-4 and H.264 files: same pixels, index and time stamp; about
    6 ms a seek). Frame ``k`` is the one at ``k / fps``, so a variable-rate file lands
    near, not exactly at, ``start_s``. In a damaged stretch the seek lands off by some
    frames and the frames up to the next intact key frame may decode differently (the
    decoder conceals damage from other reference frames); :class:`VideoReader` takes the
    first frame's index from its time stamp. Where the back-end cannot seek, it reads
    from the start (index 0).

    Parameters
    ----------
    cap : cv2.VideoCapture
        An open capture, not read yet.
    fps : float
        The nominal frame rate.
    start_s : float
        Where to start, in seconds; 0 or less reads from the start.

    Returns
    -------
    int
        The stream index of the frame that ``cap`` reads next.
    """
    frame = math.ceil(start_s * fps - 1e-6) if start_s > 0 else 0
    if frame <= 0 or not cap.set(cv2.CAP_PROP_POS_FRAMES, frame):
        return 0
    return max(0, round(cap.get(cv2.CAP_PROP_POS_FRAMES)))


_END = object()


class VideoReader:
    """Iterate over the decodable frames of a video file, decoded ahead in a background thread.

    Frames the decoder refuses are skipped and counted (:attr:`frames_skipped`); reading
    stops at the end of the stream or after :data:`MAX_UNDECODABLE_RUN` undecodable
    frames in a row. After iterating, :meth:`damage` says whether the file was damaged.

    Parameters
    ----------
    path : str or pathlib.Path
        The video file.
    queue_size : int
        Frames decoded ahead of the consumer (fewer for frames so large that this many
        would take more than :data:`QUEUE_BYTES`).
    start_s : float
        Start reading at the frame of this time instead of the first (see :func:`seek`):
        frame indices and time stamps are those of reading from the start.
    threaded : bool
        Decode in a background thread (the default), so decoding overlaps the consumer's
        work on a second core. False decodes in the consumer's thread, for a process that
        has one core to itself: the same frames, with less CPU in all (no hand-over
        between threads).

    Attributes
    ----------
    info : VideoInfo
        Container properties.
    frames_read : int
        Frames decoded and delivered so far.
    frames_skipped : int
        Undecodable frames skipped so far (each followed by a decodable one).
    last_t : float
        Time stamp of the last frame delivered (NaN before the first).

    Raises
    ------
    InputError
        See :func:`probe`.
    """

    def __init__(
        self, path: str | Path, queue_size: int = 16, start_s: float = 0.0, threaded: bool = True
    ):
        self.info = probe(path)
        self.start_s = float(start_s)
        self.threaded = threaded
        self.frames_read = 0
        self.frames_skipped = 0
        self.last_t = float("nan")
        self._queue_size = queue_frames(self.info, queue_size)

    def __iter__(self) -> Iterator[VideoFrame]:
        items = self._in_thread() if self.threaded else self._decoded(threading.Event())
        try:
            for skipped, frame in items:
                self.frames_skipped += skipped
                self.frames_read += 1
                self.last_t = frame.t
                yield frame
        except InputError:
            raise
        except Exception as exc:  # OpenCV's own errors, in whichever thread decoded
            raise InputError(f"decoding {self.info.path} failed: {exc}") from exc
        finally:
            items.close()  # stops the decoding thread, releases the capture

    def _decoded(self, stop: threading.Event) -> Iterator[tuple[int, VideoFrame]]:
        """Decode in the calling thread: ``(frames skipped before it, frame)`` pairs."""
        cap = open_capture(self.info.path)
        try:
            index, last_t = seek(cap, self.info.fps, self.start_s), None
            sought = index > 0
            while not stop.is_set():
                found = read_decodable(cap, self.info.fps, index, last_t)
                if found is None:
                    break
                bgr, last_t, skipped = found
                if sought:
                    # Past damage the seek may land off by some frames; the time stamp
                    # (from 0, as OpenCV gives it) says where it landed.
                    index, skipped, sought = round(last_t * self.info.fps), 0, False
                else:
                    index += skipped
                yield skipped, VideoFrame(index, last_t, bgr)
                index += 1
        finally:
            cap.release()

    def _in_thread(self) -> Iterator[tuple[int, VideoFrame]]:
        """:meth:`_decoded` in a background thread, up to the queue's size ahead."""
        q: queue.Queue = queue.Queue(maxsize=self._queue_size)
        stop = threading.Event()

        def decode() -> None:
            try:
                for item in self._decoded(stop):
                    q.put(item)
            except Exception as exc:  # reported to the consumer, not lost in the thread
                q.put(exc)
            finally:
                q.put(_END)

        worker = threading.Thread(target=decode, name="painsign-decode", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is _END:
                    break
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()
            while worker.is_alive():
                try:
                    q.get_nowait()
                except queue.Empty:
                    worker.join(0.05)

    @property
    def frames_missing(self) -> int:
        """Frames the container announced beyond those decoded or skipped (0 if unknown)."""
        expected = self.info.frames_expected
        return max(0, expected - self.frames_read - self.frames_skipped) if expected else 0

    def damage(self) -> str | None:
        """Say how the file is damaged, after iterating; None when it is not.

        A file is damaged when frames could not be decoded, or when it ended more than
        :data:`MISSING_TOLERANCE_FRAMES` frames short of the container's count and as
        many frame intervals short of its duration (see the constant for why both).

        Raises
        ------
        InputError
            When not a single frame decoded (an unusable file, not a damaged one).
        """
        if self.frames_read == 0:
            raise InputError(f"video {self.info.path} has no decodable frame")
        return damage_text(
            self.info, self.frames_read, self.frames_skipped, self.last_t + 1.0 / self.info.fps
        )


def damage_text(info: VideoInfo, decoded: int, skipped: int, reached_s: float) -> str | None:
    """The one-line description of a damaged file, or None when it is not damaged.

    Parameters
    ----------
    info : VideoInfo
        The container's properties.
    decoded, skipped : int
        Frames decoded, and frames that did not decode but were followed by one that did.
    reached_s : float
        Where the decoded stream ended: the last frame's time stamp plus one interval.

    Returns
    -------
    str or None
        E.g. "video a.mp4 is damaged: 30 frames could not be decoded, 0 of 900 expected
        frames missing; the report covers the 870 frames decoded".

    Examples
    --------
    >>> from pathlib import Path
    >>> info = VideoInfo(Path("a.avi"), 30.0, 90, 480, 480)
    >>> damage_text(info, 80, 0, 80 / 30.0).split("; ")[0]
    'video a.avi is damaged: 0 frames could not be decoded, 10 of 90 expected frames missing'
    >>> damage_text(info, 89, 0, 89 / 30.0) is None
    True
    """
    missing = missing_frames(info, decoded, skipped, reached_s)
    if not skipped and not missing:
        return None
    return (
        f"video {info.path} is damaged: {damage_details(info, skipped, missing)}; "
        f"the report covers the {_frames(decoded)} decoded"
    )


def _frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"


def damage_details(info: VideoInfo, skipped: int, missing: int) -> str:
    """E.g. "30 frames could not be decoded, 0 of 900 expected frames missing"."""
    expected = info.frames_expected
    lost = (
        f"{missing} of {expected} expected frames missing"
        if expected
        else "the container does not say how many frames to expect"
    )
    return f"{_frames(skipped)} could not be decoded, {lost}"


def missing_frames(info: VideoInfo, decoded: int, skipped: int, reached_s: float) -> int:
    """Frames missing from the end of the stream beyond the tolerance; else 0."""
    expected = info.frames_expected
    if not expected:
        return 0
    missing = expected - decoded - skipped
    short_s = info.duration_s - reached_s
    tolerance = MISSING_TOLERANCE_FRAMES
    if missing > tolerance and short_s > tolerance / info.fps:
        return missing
    return 0
