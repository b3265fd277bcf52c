"""One frame's work item: what the worker computes outside the state lock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from painsign.analysis.frames import FrameRecord
    from painsign.video.reader import VideoFrame
    from painsign.vision.types import FaceResult


@dataclass
class FrameWork:
    """What the worker computed outside the lock for one frame.

    Attributes
    ----------
    frame : VideoFrame
        The source's frame (``index``, media time ``t``, ``bgr``).
    t : float
        Session time of the frame.
    record : FrameRecord or None
        The analyzer's per-frame result (faces, each scorer's P(pain)).
    face : FaceResult or None
        The patient's face.
    display : numpy.ndarray or None
        The picture for the screen (:func:`~painsign.vision.draw.display_frame`).
    error : Exception or None
        Why inference failed on this frame.
    started, done : float
        Monotonic times the work started and ended (latency).
    """

    frame: VideoFrame
    t: float
    record: FrameRecord | None = None
    face: FaceResult | None = None
    display: np.ndarray | None = None
    error: Exception | None = None
    started: float = 0.0
    done: float = 0.0
