"""Pictures for the screen and the opt-in snapshots, and the per-frame work item."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Widest picture handed to the view (px).
DISPLAY_WIDTH = 480
GREEN, RED = (80, 220, 60), (60, 60, 230)


def face_crop(bgr: np.ndarray, box) -> np.ndarray | None:
    """The face with a margin, for an opt-in snapshot."""
    x1, y1, x2, y2 = box
    if not np.isfinite(x1):
        return None
    mx, my = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
    h, w = bgr.shape[:2]
    xa, ya = int(max(0, x1 - mx)), int(max(0, y1 - my))
    xb, yb = int(min(w, x2 + mx)), int(min(h, y2 + my))
    return bgr[ya:yb, xa:xb].copy() if xb > xa and yb > ya else None


def display_frame(bgr: np.ndarray, face) -> np.ndarray:
    """The picture for the screen: at most 480 px wide, face box and oval guide drawn."""
    h, w = bgr.shape[:2]
    scale = min(1.0, DISPLAY_WIDTH / w)
    small = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    colour = GREEN if face.found else RED
    if face.found:
        x1, y1, x2, y2 = (round(float(v) * scale) for v in face.box)
        cv2.rectangle(small, (x1, y1), (x2, y2), colour, 2, cv2.LINE_AA)
        centre, axes = ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2 + 8,
                                                             (y2 - y1) // 2 + 14)
    else:
        centre, axes = (sw // 2, sh // 2), (sw // 5, sh // 3)
    cv2.ellipse(small, centre, axes, 0, 0, 360, colour, 2, cv2.LINE_AA)
    return small


@dataclass
class Result:
    """What the worker computed outside the lock for one frame."""

    frame: object
    t: float
    record: object = None
    face: object = None
    display: np.ndarray | None = None
    error: Exception | None = None
    started: float = 0.0
    done: float = 0.0
