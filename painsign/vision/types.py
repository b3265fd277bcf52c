"""Results of face detection and landmarking, in image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from painsign.vision.geometry import RotatedRect, point_extent

#: BlazeFace keypoints, in model order. "Right" and "left" are the subject's.
KEYPOINT_NAMES = (
    "right_eye",
    "left_eye",
    "nose_tip",
    "mouth_center",
    "right_ear_tragion",
    "left_ear_tragion",
)


@dataclass(frozen=True)
class Detection:
    """One face found by the detector.

    Attributes
    ----------
    box : numpy.ndarray
        ``[x1, y1, x2, y2]`` in image pixels.
    score : float
        Detector confidence in [0, 1].
    keypoints : numpy.ndarray
        (6, 2) pixels, in :data:`KEYPOINT_NAMES` order.
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        x1, y1, x2, y2 = self.box
        return float(max(0.0, x2 - x1) * max(0.0, y2 - y1))

    def to_dict(self) -> dict:
        """Return a JSON-ready dict with ``box``, ``score`` and ``keypoints``."""
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "keypoints": [[round(float(x), 2), round(float(y), 2)] for x, y in self.keypoints],
        }


@dataclass(frozen=True)
class FaceLandmarks:
    """The 468-point face mesh of one face.

    Attributes
    ----------
    points : numpy.ndarray
        (468, 3): x, y in image pixels; z relative depth in the same pixel scale
        (smaller is nearer the camera).
    presence : float
        Face-presence probability from the landmark model.
    roi : RotatedRect
        The crop the points were computed in.
    """

    points: np.ndarray
    presence: float
    roi: RotatedRect

    @property
    def box(self) -> np.ndarray:
        """Axis-aligned bounding box ``[x1, y1, x2, y2]`` of the points."""
        xy = self.points[:, :2]
        return np.concatenate(point_extent(xy))


@dataclass(frozen=True)
class FaceResult:
    """The patient face in one frame, or an explicit "no face".

    Attributes
    ----------
    found : bool
        False when no face was found; then ``box``, ``landmarks`` are None.
    box : numpy.ndarray or None
        ``[x1, y1, x2, y2]`` of the face in pixels.
    score : float
        Detector score when the detector ran on this frame, else the landmark presence.
    landmarks : FaceLandmarks or None
        The face mesh.
    detection : Detection or None
        The detector's output, when the detector ran on this frame.
    detected : bool
        Whether the detector ran on this frame (False while tracking).
    others : tuple of Detection
        Other faces the detector saw in this frame (a parent, a nurse).
    """

    found: bool
    box: np.ndarray | None = None
    score: float = 0.0
    landmarks: FaceLandmarks | None = None
    detection: Detection | None = None
    detected: bool = False
    others: tuple[Detection, ...] = field(default_factory=tuple)

    @classmethod
    def none(cls, detected: bool = False) -> FaceResult:
        """Return the explicit "no face" result."""
        return cls(found=False, detected=detected)
