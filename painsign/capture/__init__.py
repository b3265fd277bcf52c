"""Live and recorded frame sources behind one interface, with a watchdog (no Qt).

``open_source(camera=0)``, ``open_source(video="demo.mp4", speed=2)`` or
``open_source(url="http://host/video.mjpg")`` return a :class:`FrameSource`; ``start()`` it,
``read(timeout)`` frames, watch ``status`` / ``stats`` (or the ``on_status`` callback) and
``stop()`` it. Live sources keep only the newest frame; files lose none.
"""

from painsign.capture.base import (
    STATUSES,
    TROUBLE,
    CaptureStats,
    FrameSource,
    Status,
)
from painsign.capture.file import FileSource
from painsign.capture.live import LiveSource
from painsign.capture.mjpeg import MjpegHttpStream
from painsign.capture.source import CameraSource, UrlSource, check_url, open_source, redact_url
from painsign.capture.watchdog import Backoff, Watchdog, frame_fingerprint

__all__ = [
    "STATUSES",
    "TROUBLE",
    "Backoff",
    "CameraSource",
    "CaptureStats",
    "FileSource",
    "FrameSource",
    "LiveSource",
    "MjpegHttpStream",
    "Status",
    "UrlSource",
    "Watchdog",
    "check_url",
    "frame_fingerprint",
    "open_source",
    "redact_url",
]
