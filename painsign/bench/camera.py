"""A simulated live camera: a video file looped and delivered at a fixed frame rate."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from painsign.capture.live import LiveSource


class VideoCamera(LiveSource):
    """Behaves as a camera would (newest frame only, frames dropped if the consumer is
    slow), with the pictures of a video file, looped.

    Parameters
    ----------
    path : str or pathlib.Path
        The video file.
    fps : float
        Delivery rate.
    """

    def __init__(self, path: str | Path, fps: float = 30.0, **kwargs):
        # A synthetic face at rest repeats identical frames, which a real sensor's noise
        # never does: the frozen-picture check is off unless asked for.
        kwargs.setdefault("frozen_s", 1e9)
        super().__init__(**kwargs)
        self.path = Path(path)
        self.fps = fps
        self._cap = None
        self._next = 0.0

    def describe(self) -> str:
        """Name of the source for logs and the status line."""
        return f"simulated camera ({self.path.name} at {self.fps:g} fps)"

    def _open(self) -> None:
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise OSError(f"cannot open {self.path}")
        self._next = time.monotonic()

    def _grab(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        if not ok:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        self._next += 1.0 / self.fps
        time.sleep(max(0.0, self._next - time.monotonic()))
        return frame if ok else None

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
