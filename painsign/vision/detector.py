"""BlazeFace face detection: letterbox, ONNX inference, box decoding, weighted NMS."""

from __future__ import annotations

import numpy as np

from painsign.model_store import ModelStore
from painsign.runtime import create_session, session_provider
from painsign.vision.anchors import FULL_RANGE, SHORT_RANGE, ssd_anchors
from painsign.vision.geometry import box_iou, crop, letterbox_rect
from painsign.vision.image import to_rgb
from painsign.vision.model_signatures import check_signature
from painsign.vision.types import Detection

DETECTORS = {
    "full_range": ("face_detection_full_range", FULL_RANGE),
    "short_range": ("face_detection_short_range", SHORT_RANGE),
}
#: MediaPipe clips raw scores to +-100; 80 keeps float32 sigmoid finite.
RAW_SCORE_LIMIT = 80.0
#: The model that backs up each model when it finds nothing. Short range (128 px input)
#: misses faces under about 15 % of the picture's width; full range (192 px) finds them
#: down to about 5 % but misses a face that fills the picture (measured on the astronaut
#: face: full range fails from about 95 % of the width, short range still finds it).
FALLBACK_KIND = {"short_range": "full_range", "full_range": "short_range"}
#: Still images: tiles per side of the extra full-range pass and their overlap, so a face
#: about 5 % of a large photo's width is about 10 % of a tile's (full range's sure range).
TILES_PER_SIDE = 2
TILE_OVERLAP = 0.25
#: A still image is tiled only when its long side exceeds this many detector inputs
#: (a small image gains nothing: the tiles would be upscaled).
TILE_MIN_SIDE = 2 * 192
#: A detection whose box lies mostly (this share of its area) inside a box already found
#: is the same face (a tile can cut a face; different models place boxes differently).
SAME_FACE_OVERLAP = 0.5


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
        self.store = store
        self.providers = providers
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self.session = create_session(store.read_verified(model_name), model_name, providers)
        check_signature(model_name, self.session, store.path(model_name))
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
            out.append(
                Detection(
                    box=np.concatenate([pts[0], pts[1]]).astype(np.float32),
                    score=float(score),
                    keypoints=pts[2:].astype(np.float32),
                )
            )
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
        boxes = np.concatenate([centre - half, centre + half, keypoints.reshape(-1, 12)], axis=1)
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return boxes[valid], scores[keep][valid]


def fallback_detector(detector) -> FaceDetector | None:
    """Return the other BlazeFace model, configured like ``detector``, as its back-up.

    Parameters
    ----------
    detector : FaceDetector or detector-like
        The primary detector. Anything that is not a :class:`FaceDetector` (a test
        double, a custom detector) gets no back-up.

    Returns
    -------
    FaceDetector or None
        Full range for short range and short range for full range, same store, score
        threshold, overlap and providers.
    """
    if not isinstance(detector, FaceDetector):
        return None
    return FaceDetector(
        FALLBACK_KIND[detector.kind],
        store=detector.store,
        min_score=detector.min_score,
        iou_threshold=detector.iou_threshold,
        providers=detector.providers,
    )


def tile_rects(
    width: int, height: int, per_side: int = TILES_PER_SIDE, overlap: float = TILE_OVERLAP
) -> list[tuple[int, int, int, int]]:
    """Return overlapping tiles ``(x0, y0, x1, y1)`` covering a ``width`` x ``height`` image.

    Parameters
    ----------
    width, height : int
        Image size in pixels.
    per_side : int
        Tiles along each side.
    overlap : float
        Share of a tile's side that it shares with its neighbour.

    Returns
    -------
    list of tuple of int
        ``per_side ** 2`` tiles, row by row.

    Examples
    --------
    >>> tile_rects(1000, 600)[:2]
    [(0, 0, 571, 343), (429, 0, 1000, 343)]
    """

    def spans(n: int) -> list[tuple[int, int]]:
        size = n / (per_side - (per_side - 1) * overlap)
        step = size * (1.0 - overlap)
        return [(round(i * step), min(n, round(i * step + size))) for i in range(per_side)]

    return [(x0, y0, x1, y1) for y0, y1 in spans(height) for x0, x1 in spans(width)]


def detect_tiled(
    detector: FaceDetector,
    rgb: np.ndarray,
    per_side: int = TILES_PER_SIDE,
    overlap: float = TILE_OVERLAP,
) -> list[Detection]:
    """Run ``detector`` on overlapping tiles of ``rgb`` and return every face in image pixels.

    A face a few percent of a large photo's width is only a few pixels in the detector's
    letterboxed input; in a tile it is ``per_side`` times larger. Faces cut by a tile edge
    are usually found whole in the neighbouring tile (see :func:`merge_detections`).

    Parameters
    ----------
    detector : FaceDetector
        Usually full range.
    rgb : numpy.ndarray
        (H, W, 3) RGB uint8.
    per_side, overlap
        See :func:`tile_rects`.

    Returns
    -------
    list of Detection
        Faces from all tiles, not yet merged.
    """
    h, w = rgb.shape[:2]
    out = []
    for x0, y0, x1, y1 in tile_rects(w, h, per_side, overlap):
        shift = np.array([x0, y0], np.float32)
        for d in detector.detect_rgb(np.ascontiguousarray(rgb[y0:y1, x0:x1])):
            out.append(
                Detection(
                    box=d.box + np.tile(shift, 2), score=d.score, keypoints=d.keypoints + shift
                )
            )
    return out


def same_face(a: np.ndarray, b: np.ndarray, overlap: float = SAME_FACE_OVERLAP) -> bool:
    """Whether boxes ``a`` and ``b`` show the same face: the smaller lies mostly in the other.

    Parameters
    ----------
    a, b : numpy.ndarray
        ``[x1, y1, x2, y2]``.
    overlap : float
        Least share of the smaller box's area inside the larger.

    Returns
    -------
    bool
    """
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return False
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return smaller > 0 and iw * ih >= overlap * smaller


def merge_detections(*passes: list[Detection]) -> list[Detection]:
    """Join detections of several passes; the first pass that found a face keeps it.

    The first pass is kept as it is. Within each later pass the highest scores come
    first; a detection of the same face as one already kept (:func:`same_face`) is
    dropped. So later passes only add faces the earlier ones missed.

    Parameters
    ----------
    *passes : list of Detection
        Detections of each pass, in order of preference.

    Returns
    -------
    list of Detection
    """
    if not passes:
        return []
    kept: list[Detection] = list(passes[0])
    for dets in passes[1:]:
        for d in sorted(dets, key=lambda d: -d.score):
            if not any(same_face(d.box, k.box) for k in kept):
                kept.append(d)
    return kept


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
