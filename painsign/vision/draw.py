"""Draw faces on an image for people to look at (boxes, keypoints, landmarks)."""

from __future__ import annotations

import cv2
import numpy as np

from painsign.vision.types import FaceResult

PATIENT_BGR = (80, 220, 60)
OTHER_BGR = (60, 160, 255)


def draw_faces(bgr: np.ndarray, faces: list[FaceResult]) -> np.ndarray:
    """Return a copy of ``bgr`` with each face's box, keypoints and landmarks drawn.

    The first face (the patient) is green, others orange. Line widths scale with the image.

    Parameters
    ----------
    bgr : numpy.ndarray
        (H, W, 3) BGR uint8 image.
    faces : list of FaceResult
        Faces to draw, patient first.

    Returns
    -------
    numpy.ndarray
        The annotated copy.
    """
    out = np.ascontiguousarray(bgr).copy()
    thick = max(1, round(max(out.shape[:2]) / 400))
    for i, face in enumerate(faces):
        if not face.found:
            continue
        colour = PATIENT_BGR if i == 0 else OTHER_BGR
        x1, y1, x2, y2 = (round(v) for v in face.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick, cv2.LINE_AA)
        label = f"{'patient' if i == 0 else 'face'} {face.score:.2f}"
        cv2.putText(out, label, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thick, colour, thick, cv2.LINE_AA)
        if face.landmarks is not None:
            for x, y in face.landmarks.points[:, :2]:
                cv2.circle(out, (round(x), round(y)), thick, (255, 255, 255), -1)
        if face.detection is not None:
            for x, y in face.detection.keypoints:
                cv2.circle(out, (round(x), round(y)), 2 * thick + 1, colour, -1)
    return out
