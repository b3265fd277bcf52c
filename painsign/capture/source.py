"""Frame sources and :func:`open_source`, the factory; live sources are defined here.

The base classes live in :mod:`painsign.capture.base` (:class:`FrameSource`,
:class:`CaptureStats`) and :mod:`painsign.capture.live` (:class:`LiveSource`), the file
replay in :mod:`painsign.capture.file`; all are importable from here and from
:mod:`painsign.capture`.

OpenCV's return values are not trusted: :class:`~painsign.capture.live.LiveSource`
watches frame arrival and content. HTTP(S) MJPEG streams are read by the pure-Python
:class:`~painsign.capture.mjpeg.MjpegHttpStream`, whose timeouts hold (OpenCV blocks about
30 s on a silent IP camera); ``rtsp://`` and other schemes use OpenCV's FFmpeg backend
with its open and read timeouts set.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from painsign.capture.base import CaptureStats, FrameSource
from painsign.capture.file import FileSource
from painsign.capture.live import LiveSource
from painsign.capture.mjpeg import MjpegHttpStream
from painsign.errors import InputError

__all__ = [
    "CameraSource",
    "CaptureStats",
    "FileSource",
    "FrameSource",
    "LiveSource",
    "UrlSource",
    "check_url",
    "open_source",
    "redact_url",
]

#: URL schemes handed to OpenCV's FFmpeg backend.
FFMPEG_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtp", "udp", "tcp", "srt", "hls"})


class _Cv2Device:
    """A ``cv2.VideoCapture`` opened, read and released by one thread."""

    def __init__(
        self,
        target: int | str,
        api: int = cv2.CAP_ANY,
        params: list[int] | None = None,
        width: int | None = None,
        height: int | None = None,
        name: str = "",
    ):
        self.target, self.api, self.params = target, api, params or []
        self.width, self.height, self.name = width, height, name
        self.cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        cap = cv2.VideoCapture(self.target, self.api, self.params)
        if not cap.isOpened():
            cap.release()
            raise ConnectionError(
                "cv2.VideoCapture did not open it (absent, busy, unreachable or not supported)"
            )
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self.cap = cap

    def grab(self) -> np.ndarray | None:
        if self.cap is None:
            return None
        ok, frame = self.cap.read()
        return frame if ok else None

    def close(self) -> None:
        cap, self.cap = self.cap, None
        if cap is not None:
            cap.release()


class CameraSource(LiveSource):
    """A local camera (``cv2.VideoCapture(index)``), newest frame only.

    Parameters
    ----------
    index : int
        Camera number (0 is the first camera; ``/dev/video<index>`` on Linux).
    width, height : int, optional
        Requested frame size; the driver may choose another.
    stall_s, frozen_s, backoff_initial, backoff_max, on_status
        See :class:`~painsign.capture.live.LiveSource`.
    """

    def __init__(
        self,
        index: int,
        width: int | None = None,
        height: int | None = None,
        stall_s: float = 3.0,
        frozen_s: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 2.0,
        on_status=None,
    ):
        super().__init__(stall_s, frozen_s, backoff_initial, backoff_max, on_status)
        self.index = int(index)
        self._device = _Cv2Device(self.index, width=width, height=height, name=self.describe())

    def describe(self) -> str:
        """E.g. "camera 0"."""
        return f"camera {self.index}"

    def _open(self) -> None:
        self._device.open()

    def _grab(self) -> np.ndarray | None:
        return self._device.grab()

    def _close(self) -> None:
        self._device.close()


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (for logs and displays)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class UrlSource(LiveSource):
    """A network camera: HTTP(S) MJPEG (pure Python) or RTSP and others (OpenCV FFmpeg).

    Parameters
    ----------
    url : str
        E.g. ``http://192.168.1.20/video.mjpg`` or ``rtsp://192.168.1.20:554/stream1``.
    open_timeout_s : float
        Limit for connecting (and, for HTTP, receiving the response headers).
    stall_s, frozen_s, backoff_initial, backoff_max, on_status
        See :class:`~painsign.capture.live.LiveSource`. ``stall_s`` also limits the wait
        for one frame.

    Raises
    ------
    InputError
        When ``url`` has no scheme or host, or a scheme that is not a video stream.
    """

    def __init__(
        self,
        url: str,
        open_timeout_s: float = 5.0,
        stall_s: float = 3.0,
        frozen_s: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 2.0,
        on_status=None,
    ):
        super().__init__(stall_s, frozen_s, backoff_initial, backoff_max, on_status)
        self.url = check_url(url)
        self.scheme = urlsplit(self.url).scheme.lower()
        self.open_timeout_s = float(open_timeout_s)
        self._stream: MjpegHttpStream | None = None
        self._device: _Cv2Device | None = None
        self._lock = threading.Lock()
        if self.scheme not in ("http", "https"):
            ms = round(1000 * self.open_timeout_s), round(1000 * stall_s)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms[0], cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms[1]]
            self._device = _Cv2Device(self.url, cv2.CAP_FFMPEG, params, name=self.describe())

    def describe(self) -> str:
        """E.g. "url http://127.0.0.1:8080/video.mjpg" (password hidden)."""
        return f"url {redact_url(self.url)}"

    def _open(self) -> None:
        if self._device is not None:
            self._device.open()
            return
        stream = MjpegHttpStream(
            self.url, open_timeout_s=self.open_timeout_s, read_timeout_s=self.watchdog.stall_s
        )
        with self._lock:
            self._stream = stream
        if self._stopping.is_set():
            raise ConnectionError("stopped")
        stream.open()

    def _grab(self) -> np.ndarray | None:
        if self._device is not None:
            return self._device.grab()
        if self._stream is None:
            return None
        return self._stream.read()

    def _close(self) -> None:
        if self._device is not None:
            self._device.close()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def _interrupt(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.abort()


def check_url(url: str) -> str:
    """Return ``url`` if it names a video stream, else raise :class:`InputError`."""
    if not isinstance(url, str) or not url.strip():
        raise InputError(
            f"url {url!r} is empty; give e.g. http://HOST/video.mjpg or rtsp://HOST:554/stream"
        )
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        raise InputError(
            f"url {redact_url(url)!r} has no scheme or host; give e.g. "
            "http://HOST/video.mjpg or rtsp://HOST:554/stream"
        )
    if scheme not in FFMPEG_SCHEMES | {"http", "https"}:
        raise InputError(
            f"url scheme {scheme!r} is not a video stream; use http(s):// for "
            f"MJPEG or one of {', '.join(sorted(FFMPEG_SCHEMES))}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InputError(f"url {redact_url(url)!r}: {exc}") from None
    return url


def _check_camera(camera) -> int:
    if isinstance(camera, bool):
        camera = None
    elif isinstance(camera, str) and camera.strip().isdigit():
        camera = int(camera)
    if not isinstance(camera, int | np.integer) or camera < 0:
        raise InputError(f"camera {camera!r} must be a camera number >= 0 (0 is the first)")
    return int(camera)


def open_source(
    camera: int | str | None = None,
    video: str | Path | None = None,
    url: str | None = None,
    speed: float = 1.0,
    **options,
) -> FrameSource:
    """Create (not start) the frame source for exactly one of ``camera``, ``video``, ``url``.

    Parameters
    ----------
    camera : int or str, optional
        Camera number.
    video : str or pathlib.Path, optional
        Video file, replayed in real time × ``speed``.
    url : str, optional
        Network stream URL.
    speed : float
        Replay rate, for ``video`` only.
    **options
        Passed to the source class, e.g. ``stall_s``, ``frozen_s``, ``on_status`` (live) or
        ``realtime`` (file).

    Returns
    -------
    FrameSource
        A :class:`CameraSource`, :class:`FileSource` or :class:`UrlSource`; call ``start()``.

    Raises
    ------
    InputError
        When none or several inputs are given, or one is unusable (a missing file, a bad
        camera number or URL, a speed that is not positive or given for a live input).
    """
    given = [
        name
        for name, value in (("camera", camera), ("video", video), ("url", url))
        if value is not None
    ]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise InputError(f"give exactly one input: a camera, a video file or a url (got {what})")
    try:
        rate = float(speed)
    except (TypeError, ValueError):
        rate = math.nan
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"speed {speed!r} must be a positive number (1 = real time)")
    if video is not None:
        return FileSource(video, speed=rate, **options)
    if rate != 1.0:
        raise InputError(f"speed {speed!r} applies only to a video file; a {given[0]} is live")
    if camera is not None:
        return CameraSource(_check_camera(camera), **options)
    return UrlSource(url, **options)
