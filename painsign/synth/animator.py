"""Animate a real face: inject NFCS actions, occlusions and exits from the picture."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from painsign.synth.expressions import ACTIONS, displacements
from painsign.synth.warp import PiecewiseAffineWarp


@dataclass(frozen=True)
class Segment:
    """A stretch of time with given actions (intensity 0-1) and picture events.

    Attributes
    ----------
    start, end : float
        Seconds. Actions ramp up over ``ramp_s`` after ``start`` and down before ``end``.
    actions : dict of str to float
        Peak intensity per action.
    occluded : bool
        A patch (a hand, a pacifier) covers the middle of the face.
    away : bool
        The face is out of the picture (the camera is bumped).
    ramp_s : float
        Ramp duration in seconds.
    """

    start: float
    end: float
    actions: dict[str, float] = field(default_factory=dict)
    occluded: bool = False
    away: bool = False
    ramp_s: float = 0.25


@dataclass(frozen=True)
class FrameTruth:
    """What was injected in one frame."""

    t: float
    intensities: dict[str, float]
    occluded: bool
    away: bool


def truth_at(segments: list[Segment], t: float) -> FrameTruth:
    """Return the injected intensities and events at time ``t``."""
    levels = dict.fromkeys(ACTIONS, 0.0)
    occluded = away = False
    for seg in segments:
        if not seg.start <= t < seg.end:
            continue
        ramp = (
            min(1.0, (t - seg.start) / seg.ramp_s, (seg.end - t) / seg.ramp_s)
            if seg.ramp_s > 0
            else 1.0
        )
        for name, peak in seg.actions.items():
            levels[name] = max(levels[name], peak * ramp)
        occluded |= seg.occluded
        away |= seg.away
    return FrameTruth(t, levels, occluded, away)


class FaceAnimator:
    """Render frames of a real face making known facial actions.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, 3) BGR photo with one face at rest.
    rest_points : numpy.ndarray
        (468, 2+) Face Mesh of that face, in pixels.
    clean : bool
        Render with fewer warp artefacts: actions spread on their own
        (``displacements(..., clean=True)``) and folds smoothed out
        (:meth:`PiecewiseAffineWarp.untangle`). The demo video uses it; the tests keep the
        default frames.
    """

    def __init__(self, image: np.ndarray, rest_points: np.ndarray, clean: bool = False):
        self.image = np.ascontiguousarray(image)
        self.clean = clean
        self.rest = np.asarray(rest_points, dtype=np.float64)[:, :2]
        self._warp = PiecewiseAffineWarp(self.image, self.rest)
        lo, hi = self.rest.min(axis=0), self.rest.max(axis=0)
        self.face_box = np.concatenate([lo, hi])

    def frame(self, truth: FrameTruth) -> np.ndarray:
        """Render one frame for ``truth``."""
        moved = self.rest + displacements(self.rest, truth.intensities, truth.t, clean=self.clean)
        if self.clean:
            moved = self._warp.untangle(moved)
        out = self._warp.warp(moved)
        if truth.occluded:
            x1, y1, x2, y2 = self.face_box
            w, h = x2 - x1, y2 - y1
            pts = np.array(
                [
                    [x1 + 0.1 * w, y1 + 0.15 * h],
                    [x2 - 0.05 * w, y1 + 0.2 * h],
                    [x2 - 0.1 * w, y2 - 0.1 * h],
                    [x1 + 0.05 * w, y2 - 0.15 * h],
                ]
            )
            cv2.fillConvexPoly(out, pts.astype(np.int32), (150, 170, 215), cv2.LINE_AA)
        if truth.away:
            h, w = out.shape[:2]
            shift = np.float32([[1, 0, w * 0.9], [0, 1, 0]])
            out = cv2.warpAffine(
                out, shift, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(40, 40, 40)
            )
        return out

    def render(
        self, segments: list[Segment], fps: float, duration: float
    ) -> Iterator[tuple[FrameTruth, np.ndarray]]:
        """Yield ``(truth, frame)`` for every frame of a scenario."""
        for i in range(round(duration * fps)):
            truth = truth_at(segments, i / fps)
            yield truth, self.frame(truth)


def write_video(path, frames, fps: float, size: tuple[int, int]) -> int:
    """Write BGR ``frames`` to an MP4 (MPEG-4 Part 2) file; return the frame count."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write video {path}")
    n = 0
    try:
        for frame in frames:
            writer.write(frame)
            n += 1
    finally:
        writer.release()
    return n
