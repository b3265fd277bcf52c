"""MediaPipe Face Mesh: 468 landmarks from a rotated, padded crop around a face."""

from __future__ import annotations

import cv2
import numpy as np

from painsign.model_store import ModelStore
from painsign.runtime import create_session, session_provider
from painsign.vision.geometry import RotatedRect, face_rect, point_extent
from painsign.vision.geometry import crop as crop_rect
from painsign.vision.model_signatures import check_signature
from painsign.vision.types import Detection, FaceLandmarks

MODEL_NAME = "face_landmark"
INPUT_SIZE = 192
#: Mesh indices of the outer eye corners (subject's right, then left) that level the crop
#: when tracking from landmarks, as MediaPipe's face_landmark_landmarks_to_roi does.
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
#: Side of the crop relative to the face box (MediaPipe: 1.5).
ROI_SCALE = 1.5
_SCALE = np.float32(1.0 / 255.0)


def roi_from_detection(detection: Detection, scale: float = ROI_SCALE) -> RotatedRect:
    """Return the landmark crop for a detector result, levelled on its two eyes."""
    return face_rect(detection.box, detection.keypoints[0], detection.keypoints[1], scale)


def roi_from_landmarks(points: np.ndarray, scale: float = ROI_SCALE) -> RotatedRect:
    """Return the next frame's landmark crop from this frame's mesh (tracking)."""
    xy = points[:, :2]
    box = np.concatenate(point_extent(xy))
    return face_rect(box, xy[RIGHT_EYE_OUTER], xy[LEFT_EYE_OUTER], scale)


def crop_face(rgb: np.ndarray, roi: RotatedRect) -> np.ndarray:
    """Return the (192, 192, 3) RGB crop the mesh model sees for ``roi`` (edges replicated)."""
    return crop_rect(rgb, roi, INPUT_SIZE, INPUT_SIZE, border=cv2.BORDER_REPLICATE)


class FaceLandmarker:
    """468-point face mesh on onnxruntime.

    Parameters
    ----------
    store : ModelStore, optional
        Where the model comes from; the default models when omitted.
    providers : list of str, optional
        onnxruntime providers; CUDA when present, else CPU.
    """

    def __init__(self, store: ModelStore | None = None, providers: list[str] | None = None):
        store = store or ModelStore()
        self.session = create_session(store.read_verified(MODEL_NAME), MODEL_NAME, providers)
        check_signature(MODEL_NAME, self.session, store.path(MODEL_NAME))
        self.provider = session_provider(self.session)
        self._input_name = self.session.get_inputs()[0].name

    def landmarks(self, rgb: np.ndarray, roi: RotatedRect) -> FaceLandmarks:
        """Run the mesh model on ``roi`` of ``rgb``.

        Parameters
        ----------
        rgb : numpy.ndarray
            (H, W, 3) RGB uint8 (see :func:`painsign.vision.image.to_rgb`).
        roi : RotatedRect
            The crop, from :func:`roi_from_detection` or :func:`roi_from_landmarks`.

        Returns
        -------
        FaceLandmarks
            Points in image pixels and the face-presence probability; a low presence
            means the crop holds no face and the points are meaningless.
        """
        # Scaled channel by channel straight into a contiguous NCHW tensor: a transposed
        # view made onnxruntime copy it again.
        tensor = np.empty((1, 3, INPUT_SIZE, INPUT_SIZE), np.float32)
        for i, channel in enumerate(cv2.split(crop_face(rgb, roi))):
            np.multiply(channel, _SCALE, out=tensor[0, i], dtype=np.float32)
        raw, presence = self.session.run(None, {self._input_name: tensor})
        pts = raw.reshape(-1, 3).astype(np.float64) / INPUT_SIZE
        xy = roi.to_image(pts[:, :2])
        z = pts[:, 2:] * roi.width
        logit = float(np.clip(presence.ravel()[0], -80.0, 80.0))
        return FaceLandmarks(
            points=np.concatenate([xy, z], axis=1).astype(np.float32),
            presence=1.0 / (1.0 + np.exp(-logit)),
            roi=roi,
        )
