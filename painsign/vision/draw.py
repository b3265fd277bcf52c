"""Pictures of faces for people to look at: annotated frames, the monitor's display frame
and the face crop of a snapshot."""

from __future__ import annotations

import cv2
import numpy as np

from painsign.vision.geometry import clip_box, grow_box
from painsign.vision.types import FaceResult

PATIENT_BGR = (80, 220, 60)
OTHER_BGR = (60, 160, 255)
NO_FACE_BGR = (60, 60, 230)
#: Widest display frame (px).
DISPLAY_WIDTH = 480
#: Margin of a snapshot's face crop, as a fraction of the face box on each side.
SNAPSHOT_MARGIN = 0.2


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
        cv2.putText(
            out,
            label,
            (x1, max(12, y1 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * thick,
            colour,
            thick,
            cv2.LINE_AA,
        )
        if face.landmarks is not None:
            for x, y in face.landmarks.points[:, :2]:
                cv2.circle(out, (round(x), round(y)), thick, (255, 255, 255), -1)
        if face.detection is not None:
            for x, y in face.detection.keypoints:
                cv2.circle(out, (round(x), round(y)), 2 * thick + 1, colour, -1)
    return out


def display_frame(bgr: np.ndarray, face: FaceResult) -> np.ndarray:
    """The monitor's picture: at most :data:`DISPLAY_WIDTH` px wide, with the face box and
    an oval guide (green) or, without a face, a centred red oval where to place it.

    Parameters
    ----------
    bgr : numpy.ndarray
        (H, W, 3) BGR uint8 frame.
    face : FaceResult
        The patient's face in ``bgr`` (``found``, ``box`` in frame pixels).

    Returns
    -------
    numpy.ndarray
        A new, possibly smaller, BGR image.
    """
    h, w = bgr.shape[:2]
    scale = min(1.0, DISPLAY_WIDTH / w)
    small = cv2.resize(
        bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    sh, sw = small.shape[:2]
    colour = PATIENT_BGR if face.found else NO_FACE_BGR
    if face.found:
        x1, y1, x2, y2 = (round(float(v) * scale) for v in face.box)
        cv2.rectangle(small, (x1, y1), (x2, y2), colour, 2, cv2.LINE_AA)
        centre, axes = ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2 + 8, (y2 - y1) // 2 + 14)
    else:
        centre, axes = (sw // 2, sh // 2), (sw // 5, sh // 3)
    cv2.ellipse(small, centre, axes, 0, 0, 360, colour, 2, cv2.LINE_AA)
    return small


def face_crop(bgr: np.ndarray, box) -> np.ndarray | None:
    """The face with a :data:`SNAPSHOT_MARGIN` margin (:func:`~painsign.vision.geometry.
    grow_box`), cut to the frame, as a copy; None without a finite box or when nothing of
    it lies in the frame.

    Parameters
    ----------
    bgr : numpy.ndarray
        (H, W, 3) frame.
    box : array-like
        ``[x1, y1, x2, y2]`` in pixels (NaN when no face was found).
    """
    box = np.asarray(box, dtype=np.float64).ravel()
    if box.size != 4 or not np.isfinite(box).all():
        return None
    inside = clip_box(grow_box(box, SNAPSHOT_MARGIN), bgr.shape)
    if inside is None:
        return None
    x1, y1, x2, y2 = inside
    return bgr[y1:y2, x1:x2].copy()
