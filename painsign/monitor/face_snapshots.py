"""Opt-in face snapshots of the monitor: the rule says when, this cuts, encodes and hands
the PNG to the recorder (which only stores bytes)."""

from __future__ import annotations

import cv2
import numpy as np

from painsign.monitor.ports import Recorder
from painsign.signal.snapshot_rule import SnapshotRule
from painsign.vision.draw import face_crop


def encode_png(image_bgr: np.ndarray) -> bytes:
    """Encode a BGR (or grayscale) uint8 image as PNG bytes (lossless).

    Raises
    ------
    ValueError
        For an empty or non-uint8 image, or one OpenCV cannot encode.
    """
    image = np.ascontiguousarray(image_bgr)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected a non-empty uint8 BGR image, got {image.dtype} {image.shape}")
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} image as PNG")
    return buf.tobytes()


class FaceSnapshots:
    """Store the first face image of each pain / no-pain state of one scorer's live sign.

    Parameters
    ----------
    threshold : float
        The scorer's threshold (:class:`~painsign.signal.snapshot_rule.SnapshotRule`).
    scorer : str
        Scorer name stored with each snapshot.
    recorder : Recorder
        Receives :meth:`~painsign.storage.recorder.SessionRecorder.add_snapshot`.
    """

    def __init__(self, threshold: float, scorer: str, recorder: Recorder) -> None:
        self.rule = SnapshotRule(threshold)
        self.scorer = scorer
        self.recorder = recorder

    def update(self, t: float, p: float, bgr: np.ndarray, box) -> bool:
        """Feed the live value ``p`` of the frame ``bgr`` (face ``box``) at session time
        ``t``; return True when a snapshot was stored now. The face is cut only when the
        rule wants it; without a face crop the rule keeps wanting it."""
        state = self.rule.update(p)
        if state is None:
            return False
        crop = face_crop(bgr, box)
        if crop is None:
            return False
        self.recorder.add_snapshot(t, state, self.scorer, encode_png(crop))
        self.rule.taken()
        return True
