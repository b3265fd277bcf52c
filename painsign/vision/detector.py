"""BlazeFace face detection: letterbox, ONNX inference, box decoding, weighted NMS."""

from __future__ import annotations

import numpy as np

from painsign.model_store import ModelStore
from painsign.runtime import create_session, session_provider
from painsign.vision.anchors import FULL_RANGE, SHORT_RANGE, ssd_anchors
from painsign.vision.geometry import box_iou, crop, letterbox_rect
from painsign.vision.image import to_rgb
from painsign.vision.types import Detection

DETECTORS = {
    "full_range": ("face_detection_full_range", FULL_RANGE),
    "short_range": ("face_detection_short_range", SHORT_RANGE),
}
#: MediaPipe clips raw scores to +-100; 80 keeps float32 sigmoid finite.
RAW_SCORE_LIMIT = 80.0


class FaceDetector:
    """MediaPipe BlazeFace detector on onnxruntime.

    Parameters
    ----------
    kind : {"full_range", "short_range"}
        Full range sees faces up to about 5 m and small in the picture; short range is
        faster and meant for faces within about 2 m.
    store : ModelStore, optional
        Where the model comes from; the default models when omitted.
    min_score : float
        Minimum detector confidence (MediaPipe: 0.5).
    iou_threshold : float
        Detections overlapping more than this are merged by weighted NMS (MediaPipe: 0.3).
    providers : list of str, optional
        onnxruntime providers; CUDA when present, else CPU.
    """

    def __init__(
        self,
        kind: str = "full_range",
        store: ModelStore | None = None,
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
        providers: list[str] | None = None,
    ):
        if kind not in DETECTORS:
            raise ValueError(f"detector kind must be one of {sorted(DETECTORS)}, not {kind!r}")
        model_name, anchor_opts = DETECTORS[kind]
        store = store or ModelStore()
        self.kind = kind
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self.session = create_session(store.read_verified(model_name), model_name, providers)
        self.provider = session_provider(self.session)
        self.input_size = anchor_opts["input_size"]
        self.anchors = ssd_anchors(**anchor_opts)
        self._input_name = self.session.get_inputs()[0].name

    def detect(self, image: np.ndarray, order: str = "bgr") -> list[Detection]:
        """Find every face in ``image``.

        Parameters
        ----------
        image : numpy.ndarray
            Grayscale or colour image of any size (see :func:`painsign.vision.image.to_rgb`).
        order : {"bgr", "rgb"}
            Channel order of a colour image.

        Returns
        -------
        list of Detection
            Faces in image pixels, highest score first; empty when there is none.
        """
        rgb = to_rgb(image, order)
        return self.detect_rgb(rgb)

    def detect_rgb(self, rgb: np.ndarray) -> list[Detection]:
        """Like :meth:`detect` for an image already validated by ``to_rgb``."""
        h, w = rgb.shape[:2]
        rect = letterbox_rect(w, h)
        size = self.input_size
        tensor = crop(rgb, rect, size, size).astype(np.float32)
        tensor = (tensor * (1.0 / 127.5) - 1.0).transpose(2, 0, 1)[None]
        raw_boxes, raw_scores = self.session.run(None, {self._input_name: tensor})
        boxes, scores = self._decode(raw_boxes[0], raw_scores[0, :, 0])
        merged = weighted_nms(boxes, scores, self.iou_threshold)
        out = []
        for box, score in merged:
            pts = rect.to_image(box.reshape(-1, 2))
            out.append(Detection(
                box=np.concatenate([pts[0], pts[1]]).astype(np.float32),
                score=float(score),
                keypoints=pts[2:].astype(np.float32),
            ))
        return out

    def _decode(self, raw: np.ndarray, raw_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode raw regressors into normalised [x1, y1, x2, y2, kx0, ky0, ...] rows."""
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = scores >= self.min_score
        if not keep.any():
            return np.empty((0, 16), np.float32), np.empty(0, np.float32)
        pts = raw[keep].reshape(-1, 8, 2) / self.input_size
        anchors = self.anchors[keep][:, None, :]
        centre = pts[:, 0] + anchors[:, 0]
        half = pts[:, 1] / 2
        keypoints = pts[:, 2:] + anchors
        boxes = np.concatenate(
            [centre - half, centre + half, keypoints.reshape(-1, 12)], axis=1
        )
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return boxes[valid], scores[keep][valid]


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, iou_threshold: float
) -> list[tuple[np.ndarray, float]]:
    """Merge overlapping detections as MediaPipe's weighted non-maximum suppression does.

    The highest-scoring remaining detection gathers every remaining one whose IoU with it
    exceeds ``iou_threshold`` (itself included); their boxes and keypoints are averaged,
    weighted by score, and the group keeps the top score.

    Parameters
    ----------
    boxes : numpy.ndarray
        (N, 4 + 2K) rows ``[x1, y1, x2, y2, keypoints...]``.
    scores : numpy.ndarray
        (N,) confidences.
    iou_threshold : float
        Overlap above which detections are merged.

    Returns
    -------
    list of (numpy.ndarray, float)
        Merged rows and their scores, highest score first.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    remaining = np.ones(len(scores), dtype=bool)
    out = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        iou = box_iou(boxes[i, :4], boxes[:, :4])[0]
        group = remaining & (iou > iou_threshold)
        group[i] = True
        w = scores[group]
        merged = (boxes[group] * w[:, None]).sum(axis=0) / w.sum()
        out.append((merged, float(scores[i])))
        remaining &= ~group
    return out
