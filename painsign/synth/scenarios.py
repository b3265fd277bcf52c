"""Ready-made scenarios for the demo video and the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from painsign.synth.animator import FaceAnimator, Segment, write_video
from painsign.vision.tracker import FaceTracker

GRIMACE = {
    "brow_bulge": 0.9,
    "eye_squeeze": 0.9,
    "nasolabial_furrow": 0.8,
    "open_lips": 0.7,
    "vertical_stretch": 0.6,
}
CRY = {
    "brow_bulge": 1.0,
    "eye_squeeze": 1.0,
    "horizontal_stretch": 0.8,
    "open_lips": 0.8,
    "chin_quiver": 0.8,
}


def demo_scenario() -> tuple[list[Segment], float]:
    """The bundled demo: rest, grimace, rest, occlusion, rest, cry, face away, rest (30 s)."""
    return [
        Segment(5.0, 9.0, GRIMACE, ramp_s=0.4),
        Segment(13.0, 15.0, occluded=True, ramp_s=0.0),
        Segment(18.0, 23.0, CRY, ramp_s=0.4),
        Segment(23.0, 25.0, away=True, ramp_s=0.0),
    ], 30.0


def animator_for(
    image_bgr: np.ndarray, tracker: FaceTracker | None = None, clean: bool = False
) -> FaceAnimator:
    """Return an animator for the (single, resting) face of ``image_bgr``."""
    tracker = tracker or FaceTracker()
    faces = tracker.analyse_image(image_bgr)
    if not faces:
        raise ValueError("no face found in the base image")
    return FaceAnimator(image_bgr, faces[0].landmarks.points, clean=clean)


def make_demo_video(
    image_bgr: np.ndarray, path: str | Path, fps: float = 30.0, tracker: FaceTracker | None = None
) -> int:
    """Render the demo scenario of ``image_bgr``'s face to ``path``; return frame count.

    Frames are rendered with ``clean=True`` (see :class:`FaceAnimator`).
    """
    animator = animator_for(image_bgr, tracker, clean=True)
    segments, duration = demo_scenario()
    h, w = image_bgr.shape[:2]
    frames = (frame for _, frame in animator.render(segments, fps, duration))
    return write_video(path, frames, fps, (w, h))
