"""Follow the patient's face through a video: detect, landmark, track, re-detect.

As in MediaPipe's face mesh graph, the landmarks of one frame give the next frame's crop,
and the detector runs only when there is no track, when the face-presence score drops, or
every ``redetect_every`` frames. When several faces are present (a parent or nurse beside
the baby) the tracker keeps the face that continues the current track, else the largest.
"""

from __future__ import annotations

import numpy as np

from painsign.model_store import ModelStore
from painsign.vision.detector import FaceDetector
from painsign.vision.geometry import RotatedRect, box_iou
from painsign.vision.image import to_rgb
from painsign.vision.landmarks import FaceLandmarker, roi_from_detection, roi_from_landmarks
from painsign.vision.types import Detection, FaceLandmarks, FaceResult


def select_patient(
    detections: list[Detection], track_box: np.ndarray | None, match_iou: float = 0.3
) -> tuple[Detection | None, bool]:
    """Pick the patient's face among ``detections``.

    Parameters
    ----------
    detections : list of Detection
        Faces found in the frame.
    track_box : numpy.ndarray or None
        ``[x1, y1, x2, y2]`` of the face being tracked, if any.
    match_iou : float
        Least overlap with ``track_box`` for a detection to continue the track.

    Returns
    -------
    (Detection or None, bool)
        The face that continues the track (and True), else the largest face (and False),
        else ``(None, False)`` when there is no face.
    """
    if not detections:
        return None, False
    if track_box is not None:
        iou = box_iou(track_box, np.stack([d.box for d in detections]))[0]
        best = int(np.argmax(iou))
        if iou[best] >= match_iou:
            return detections[best], True
    return max(detections, key=lambda d: d.area), False


def steady_roi(previous: RotatedRect | None, new: RotatedRect, tolerance: float = 0.03
               ) -> RotatedRect:
    """Keep the previous crop unless the face moved, turned or resized noticeably.

    The mesh depends slightly on its crop and the crop on the mesh, so re-deriving the crop
    every frame makes a still face's landmarks flicker between two states. The crop is
    kept while its centre moved less than ``tolerance`` of its size, its size changed less
    than ``tolerance`` and its angle less than ``tolerance`` radians (about 1.7 degrees).
    """
    if previous is None:
        return new
    moved = np.hypot(new.cx - previous.cx, new.cy - previous.cy) / previous.width
    resized = abs(new.width / previous.width - 1.0)
    turned = abs((new.angle - previous.angle + np.pi) % (2 * np.pi) - np.pi)
    return previous if max(moved, resized, turned) < tolerance else new


class FaceTracker:
    """The patient face, frame after frame.

    Parameters
    ----------
    detector : FaceDetector, optional
        Face detector; the default full-range BlazeFace when omitted.
    landmarker : FaceLandmarker, optional
        Face mesh model; the default when omitted.
    store : ModelStore, optional
        Models folder for the defaults.
    redetect_every : int
        Run the detector at least every this many frames while tracking (0: every frame).
    min_presence : float
        Face-presence probability below which the track is lost (MediaPipe: 0.5).
    match_iou : float
        Overlap a detection needs with the tracked face to continue the track.
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        landmarker: FaceLandmarker | None = None,
        store: ModelStore | None = None,
        redetect_every: int = 30,
        min_presence: float = 0.5,
        match_iou: float = 0.3,
    ):
        if detector is None or landmarker is None:
            store = store or ModelStore()
        self.detector = detector or FaceDetector(store=store)
        self.landmarker = landmarker or FaceLandmarker(store=store)
        self.redetect_every = redetect_every
        self.min_presence = min_presence
        self.match_iou = match_iou
        self.reset()

    def reset(self) -> None:
        """Forget the current track (a new patient or a cut in the video)."""
        self._landmarks: FaceLandmarks | None = None
        self._roi: RotatedRect | None = None
        self._since_detect = 0

    @property
    def tracking(self) -> bool:
        """Whether a face is being tracked."""
        return self._landmarks is not None

    def process(self, image: np.ndarray, order: str = "bgr") -> FaceResult:
        """Find the patient face in the next frame.

        Parameters
        ----------
        image : numpy.ndarray
            The frame (any size; grayscale, BGR or RGB, see ``order``).
        order : {"bgr", "rgb"}
            Channel order of a colour frame.

        Returns
        -------
        FaceResult
            The face with its landmarks, or ``found=False``; never raises for a frame
            without a face.
        """
        return self.process_rgb(to_rgb(image, order))

    def process_rgb(self, rgb: np.ndarray) -> FaceResult:
        """Like :meth:`process` for a frame already converted by ``to_rgb``."""
        track = self._landmarks
        due = track is None or self._since_detect >= self.redetect_every
        detections: list[Detection] = []
        chosen = None
        if due:
            detections = self.detector.detect_rgb(rgb)
            chosen, continues = select_patient(
                detections, None if track is None else track.box, self.match_iou
            )
            self._since_detect = 0
            if chosen is None and track is None:
                return FaceResult.none(detected=True)
            if track is not None and not continues:
                chosen = None  # the tracked face was not re-found: keep following it
        # While tracking, the crop stays the tracked one even when the detector confirms
        # the face: a crop from the detector box would shift the mesh for one frame.
        roi = self._roi if track is not None else roi_from_detection(chosen)
        mesh = self.landmarker.landmarks(rgb, roi)
        if mesh.presence < self.min_presence and not due:
            # The track slipped off the face: look for it again in this same frame.
            due = True
            detections = self.detector.detect_rgb(rgb)
            chosen, _ = select_patient(detections, track.box, self.match_iou)
            if chosen is not None:
                mesh = self.landmarker.landmarks(rgb, roi_from_detection(chosen))
        if mesh.presence < self.min_presence:
            self.reset()
            return FaceResult(found=False, detected=due, others=tuple(detections))
        self._landmarks = mesh
        self._roi = steady_roi(self._roi, roi_from_landmarks(mesh.points))
        self._since_detect += 1
        return FaceResult(
            found=True,
            box=mesh.box,
            score=chosen.score if chosen is not None else mesh.presence,
            landmarks=mesh,
            detection=chosen,
            detected=due,
            others=tuple(d for d in detections if d is not chosen),
        )

    def analyse_image(self, image: np.ndarray, order: str = "bgr") -> list[FaceResult]:
        """Detect and landmark every face of a still image, patient face first.

        Returns
        -------
        list of FaceResult
            One per detected face with its mesh, the patient face (largest)
            first; empty when there is no face.
        """
        rgb = to_rgb(image, order)
        detections = self.detector.detect_rgb(rgb)
        patient, _ = select_patient(detections, None)
        ordered = sorted(detections, key=lambda d: d is not patient)
        out = []
        for det in ordered:
            mesh = self.landmarker.landmarks(rgb, roi_from_detection(det))
            out.append(FaceResult(
                found=True, box=det.box, score=det.score, landmarks=mesh, detection=det,
                detected=True,
            ))
        return out
