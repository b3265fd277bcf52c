"""Follow the patient's face through a video: detect, landmark, track, re-detect.

As in MediaPipe's face mesh graph, the landmarks of one frame give the next frame's crop,
and the detector runs only when there is no track, when the face-presence score drops, or
every ``redetect_every`` frames. When several faces are present (a parent or nurse beside
the baby) the tracker keeps the face that continues the current track, else the largest.
"""

from __future__ import annotations

import numpy as np

from painsign.model_store import ModelStore
from painsign.vision.detector import (
    TILE_MIN_SIDE,
    FaceDetector,
    detect_tiled,
    fallback_detector,
    same_face,
)
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


def steady_roi(
    previous: RotatedRect | None, new: RotatedRect, tolerance: float = 0.03
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


#: Face-presence probability of the face mesh below which a crop holds no face. A
#: detection counts as a face only when the mesh on its crop reaches it (MediaPipe: 0.5).
MIN_FACE_PRESENCE = 0.5
#: While no face is tracked and the primary detector finds none, the back-up model runs on
#: one frame in this many (the first such frame included): a face only the back-up model
#: sees is found within 0.2 s at 30 fps (the time a face must stay before it counts,
#: painsign.analysis.frames.MIN_FACE_RUN_S), and faceless stretches cost little more
#: (measured: 1 frame in 3 added about 20 % CPU to a faceless video, 1 in 6 about 8 %).
FALLBACK_EVERY = 6
#: Detections tried, largest first, when the landmark model rejects the largest.
MAX_CANDIDATES = 3


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
        Face-presence probability below which a crop holds no face: a detection is the
        patient's face only when the mesh confirms it, and the track is lost below it
        (:data:`MIN_FACE_PRESENCE`, MediaPipe's 0.5).
    match_iou : float
        Overlap a detection needs with the tracked face to continue the track.
    fallback : FaceDetector, None or "auto"
        Detector tried when ``detector`` finds nothing: "auto" (default) is the other
        BlazeFace model (:func:`~painsign.vision.detector.fallback_detector`: full range
        behind short range for small faces, short range behind full range for a face
        filling the picture); None tries nothing else.
    fallback_every : int
        While searching for a face, try the fallback on one frame in this many
        (:data:`FALLBACK_EVERY`); on re-detection of a tracked face and on still images it
        is always tried.
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        landmarker: FaceLandmarker | None = None,
        store: ModelStore | None = None,
        redetect_every: int = 30,
        min_presence: float = MIN_FACE_PRESENCE,
        match_iou: float = 0.3,
        fallback: FaceDetector | str | None = "auto",
        fallback_every: int = FALLBACK_EVERY,
    ):
        if detector is None or landmarker is None:
            store = store or ModelStore()
        self.detector = detector or FaceDetector(store=store)
        self.landmarker = landmarker or FaceLandmarker(store=store)
        if isinstance(fallback, str):
            if fallback != "auto":
                raise ValueError(f"fallback must be a detector, None or 'auto', not {fallback!r}")
            fallback = fallback_detector(self.detector)
        self.fallback = fallback
        if fallback_every < 1:
            raise ValueError(f"fallback_every must be >= 1, got {fallback_every!r}")
        self.fallback_every = fallback_every
        self.redetect_every = redetect_every
        self.min_presence = min_presence
        self.match_iou = match_iou
        self.reset()

    def reset(self) -> None:
        """Forget the current track (a new patient or a cut in the video)."""
        self._landmarks: FaceLandmarks | None = None
        self._roi: RotatedRect | None = None
        self._since_detect = 0
        self._searches = 0

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
            without a face. A face is found only when the face mesh confirms it
            (presence at least ``min_presence``).
        """
        return self.process_rgb(to_rgb(image, order))

    def process_rgb(self, rgb: np.ndarray) -> FaceResult:
        """Like :meth:`process` for a frame already converted by ``to_rgb``."""
        track = self._landmarks
        if track is None:
            return self._acquire(rgb)
        due = self._since_detect >= self.redetect_every
        detections: list[Detection] = []
        chosen = None
        if due:
            detections, chosen, continues = self._redetect(rgb, track.box)
            self._since_detect = 0
            if not continues:
                chosen = None  # the tracked face was not re-found: keep following it
        # While tracking, the crop stays the tracked one even when the detector confirms
        # the face: a crop from the detector box would shift the mesh for one frame.
        mesh = self.landmarker.landmarks(rgb, self._roi)
        if mesh.presence < self.min_presence and not due:
            # The track slipped off the face: look for it again in this same frame.
            due = True
            detections, chosen, _ = self._redetect(rgb, track.box)
            if chosen is not None:
                mesh = self.landmarker.landmarks(rgb, roi_from_detection(chosen))
        if mesh.presence < self.min_presence:
            self.reset()
            return FaceResult(found=False, detected=due, others=tuple(detections))
        return self._follow(mesh, chosen, due, detections)

    def _follow(
        self,
        mesh: FaceLandmarks,
        chosen: Detection | None,
        detected: bool,
        detections: list[Detection],
    ) -> FaceResult:
        """Record a confirmed face as the track and return its result."""
        self._landmarks = mesh
        self._roi = steady_roi(self._roi, roi_from_landmarks(mesh.points))
        self._since_detect += 1
        self._searches = 0
        return FaceResult(
            found=True,
            box=mesh.box,
            score=chosen.score if chosen is not None else mesh.presence,
            landmarks=mesh,
            detection=chosen,
            detected=detected,
            others=tuple(d for d in detections if d is not chosen),
        )

    def _acquire(self, rgb: np.ndarray) -> FaceResult:
        """No track: detect, and start a track on the first face the mesh confirms."""
        self._since_detect = 0
        detections = self.detector.detect_rgb(rgb)
        found = self._confirm(rgb, detections)
        if found is None and self.fallback is not None:
            if self._searches % self.fallback_every == 0:
                extra = self._new_faces(self.fallback.detect_rgb(rgb), detections)
                detections = detections + extra
                found = self._confirm(rgb, extra)
            self._searches += 1
        if found is None:
            if not detections:
                return FaceResult.none(detected=True)
            return FaceResult(found=False, detected=True, others=tuple(detections))
        chosen, mesh = found
        return self._follow(mesh, chosen, True, detections)

    def _redetect(
        self, rgb: np.ndarray, track_box: np.ndarray
    ) -> tuple[list[Detection], Detection | None, bool]:
        """Detect while tracking; the fallback too when the primary loses the tracked face."""
        detections = self.detector.detect_rgb(rgb)
        chosen, continues = select_patient(detections, track_box, self.match_iou)
        if not continues and self.fallback is not None:
            extra = self._new_faces(self.fallback.detect_rgb(rgb), detections)
            if extra:
                detections = detections + extra
                chosen, continues = select_patient(detections, track_box, self.match_iou)
        return detections, chosen, continues

    @staticmethod
    def _new_faces(candidates: list[Detection], known: list[Detection]) -> list[Detection]:
        """The candidates that are not the same face as a known detection."""
        return [d for d in candidates if not any(same_face(d.box, k.box) for k in known)]

    def _confirm(
        self, rgb: np.ndarray, detections: list[Detection]
    ) -> tuple[Detection, FaceLandmarks] | None:
        """The largest detection whose mesh confirms a face (up to :data:`MAX_CANDIDATES`)."""
        for det in sorted(detections, key=lambda d: -d.area)[:MAX_CANDIDATES]:
            mesh = self.landmarker.landmarks(rgb, roi_from_detection(det))
            if mesh.presence >= self.min_presence:
                return det, mesh
        return None

    def analyse_image(self, image: np.ndarray, order: str = "bgr") -> list[FaceResult]:
        """Detect and landmark every face of a still image, patient face first.

        Three passes, each adding only faces the earlier ones missed: the detector, the
        fallback model, and for a large image the full-range model on overlapping tiles
        (:func:`~painsign.vision.detector.detect_tiled`), so faces down to about 5 % of
        the image width are found. A detection counts only when the face mesh confirms
        it (presence at least ``min_presence``).

        Parameters
        ----------
        image : numpy.ndarray
            The image (grayscale, BGR or RGB, see ``order``).
        order : {"bgr", "rgb"}
            Channel order of a colour image.

        Returns
        -------
        list of FaceResult
            One per confirmed face with its mesh, the patient face (largest) first;
            empty when there is no face.
        """
        rgb = to_rgb(image, order)
        h, w = rgb.shape[:2]
        passes = [lambda: self.detector.detect_rgb(rgb)]
        if self.fallback is not None:
            passes.append(lambda: self.fallback.detect_rgb(rgb))
        full = next(
            (d for d in (self.detector, self.fallback) if getattr(d, "kind", None) == "full_range"),
            None,
        )
        if full is not None and max(h, w) > TILE_MIN_SIDE:
            passes.append(lambda: detect_tiled(full, rgb))
        confirmed: list[tuple[Detection, FaceLandmarks]] = []
        for run_pass in passes:
            known = [c[0] for c in confirmed]
            for det in self._new_faces(sorted(run_pass(), key=lambda d: -d.score), known):
                if any(same_face(det.box, c[0].box) for c in confirmed):
                    continue
                mesh = self.landmarker.landmarks(rgb, roi_from_detection(det))
                if mesh.presence >= self.min_presence:
                    confirmed.append((det, mesh))
        patient, _ = select_patient([c[0] for c in confirmed], None)
        confirmed.sort(key=lambda c: c[0] is not patient)
        return [
            FaceResult(
                found=True,
                box=det.box,
                score=det.score,
                landmarks=mesh,
                detection=det,
                detected=True,
            )
            for det, mesh in confirmed
        ]
