"""Per-frame processing shared by replay and live use: face, detail columns, P(pain) per
scorer."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from painsign.scoring.base import (
    FaceFrame,
    Scorer,
    detail_columns,
    detail_sources,
    detail_values,
)
from painsign.scoring.guard import guarded_score
from painsign.vision.image import to_rgb
from painsign.vision.tracker import FaceTracker
from painsign.vision.types import FaceResult

THUMB_SIZE = 64
#: A face counts toward the sign only once it has been seen without a break for this long
#: (and in at least :data:`MIN_FACE_RUN_FRAMES` frames). A false detection (letters on a
#: title card, a pattern on a blanket) lasts a frame or two; a real face stays. 0.2 s is
#: 6 frames at 30 fps, 5 at 24 fps: a fifth of the 1-s average and far below the 3-s
#: surge window, so a real face loses only its first 0.2 s.
MIN_FACE_RUN_S = 0.2
#: ... and at least this many frames, so that one or two frames never count, whatever
#: the frame rate (at 5 fps one frame already spans 0.2 s).
MIN_FACE_RUN_FRAMES = 3
#: A longer step between frames, or time going backwards (a seek), breaks a run.
MAX_RUN_GAP_S = 0.5


@dataclass(frozen=True)
class FrameRecord:
    """Everything one frame contributes to the pain sign.

    Attributes
    ----------
    index, t : int, float
        Frame number and time stamp (s).
    face : bool
        Whether the patient face was found.
    box : tuple of 4 float
        Face box in pixels (NaN without a face).
    actions : dict of str to float
        The detail columns the scorers declare and their values (for the default
        scorers the eight NFCS action intensities; see
        :func:`~painsign.scoring.base.detail_columns`), NaN without a face.
    p_raw : dict of str to float
        P(pain) per scorer name (NaN without a face, where the scorer cannot score the
        face, e.g. covered, and where it failed).
    details : dict of str to dict
        Each scorer's details.
    unconfirmed : bool
        The tracker found a face here, but it had not been seen long enough to count
        (:class:`FaceConfirmation`): ``face`` is False and every P is NaN.
    """

    index: int
    t: float
    face: bool
    box: tuple[float, float, float, float]
    actions: dict[str, float]
    p_raw: dict[str, float]
    details: dict[str, dict[str, float]] = field(default_factory=dict)
    unconfirmed: bool = False
    #: Scorer name -> why it failed on this frame (raised, or gave NaN without a reason,
    #: inf or a value outside [0, 1]); its ``p_raw`` is NaN. The others are unaffected.
    failed: dict[str, str] = field(default_factory=dict)


class FaceConfirmation:
    """Count a face only once it has been seen without a break for a while.

    Causal, one frame at a time, so that replay and the live monitor agree: the frames of
    a run of found faces count from the frame at which the run spans ``min_run_s`` seconds
    and ``min_frames`` frames; before that, and for runs that end sooner (an isolated false
    detection), they are treated as frames without a face.

    Parameters
    ----------
    min_run_s : float
        Least duration of a run (:data:`MIN_FACE_RUN_S`). A run of n frames spans from
        its first frame's time stamp to its last frame's plus one frame interval.
    min_frames : int
        Least number of frames of a run (:data:`MIN_FACE_RUN_FRAMES`).
    max_gap_s : float
        A step between frames longer than this, or not forward, starts a new run.

    Examples
    --------
    >>> gate = FaceConfirmation()
    >>> [gate.update(i / 30, True) for i in range(7)]
    [False, False, False, False, False, True, True]
    >>> gate.update(7 / 30, False), gate.update(8 / 30, True)
    (False, False)
    """

    def __init__(
        self,
        min_run_s: float = MIN_FACE_RUN_S,
        min_frames: int = MIN_FACE_RUN_FRAMES,
        max_gap_s: float = MAX_RUN_GAP_S,
    ):
        self.min_run_s = float(min_run_s)
        self.min_frames = int(min_frames)
        self.max_gap_s = float(max_gap_s)
        self.reset()

    def reset(self) -> None:
        """Forget the current run."""
        self._start: float | None = None
        self._last = 0.0
        self._frames = 0

    def update(self, t: float, found: bool) -> bool:
        """Add one frame; return whether its face counts.

        Parameters
        ----------
        t : float
            The frame's time stamp in seconds.
        found : bool
            Whether the tracker found the face in it.

        Returns
        -------
        bool
            True when the face was found and its run is long enough.
        """
        if not found:
            self.reset()
            return False
        step = t - self._last
        if self._start is None or not 0.0 < step <= self.max_gap_s:
            self._start, self._last, self._frames = t, t, 1
            return self.min_frames <= 1 and self.min_run_s <= 0.0
        self._last = t
        self._frames += 1
        span = t - self._start + step
        return self._frames >= self.min_frames and span >= self.min_run_s - 1e-9


class FrameAnalyzer:
    """Run the face tracker and every scorer on frames, one at a time.

    Parameters
    ----------
    tracker : FaceTracker
        Finds and follows the patient face.
    scorers : list of Scorer
        Pain scorers with distinct names.
    confirmation : FaceConfirmation, optional
        When a found face starts to count (default: :class:`FaceConfirmation` with
        :data:`MIN_FACE_RUN_S`). Frames whose face does not count yet are not scored.

    Attributes
    ----------
    detail_columns : tuple of str
        The detail columns the scorers declare, in order (each record's ``actions``).
    """

    def __init__(
        self,
        tracker: FaceTracker,
        scorers: list[Scorer],
        confirmation: FaceConfirmation | None = None,
    ):
        names = [s.name for s in scorers]
        if len(set(names)) != len(names):
            raise ValueError(f"scorer names must be distinct, got {names}")
        self.tracker = tracker
        self.scorers = scorers
        self.detail_columns = detail_columns(scorers)
        self._detail_sources = detail_sources(scorers)
        self.confirmation = confirmation or FaceConfirmation()

    def reset(self) -> None:
        """Start a new recording: forget the track, the face run and every scorer's baseline."""
        self.tracker.reset()
        self.confirmation.reset()
        for s in self.scorers:
            s.reset()

    def process(self, index: int, t: float, bgr: np.ndarray) -> tuple[FrameRecord, FaceResult]:
        """Analyse one BGR frame; return its record and the face result."""
        rgb, face = self.locate(bgr)
        return self.score(index, t, rgb, face), face

    def locate(self, bgr: np.ndarray) -> tuple[np.ndarray, FaceResult]:
        """First stage: the frame in RGB and the patient face (depends on earlier frames'
        tracking only, so it may run one frame ahead of :meth:`score`)."""
        rgb = to_rgb(bgr, "bgr")
        return rgb, self.tracker.process_rgb(rgb)

    def score(self, index: int, t: float, rgb: np.ndarray, face: FaceResult) -> FrameRecord:
        """Second stage: every scorer on the located face, in frame order.

        A found face that :class:`FaceConfirmation` does not count yet gives a record
        without a face (``unconfirmed=True``) and is not shown to the scorers. Each scorer
        runs in its own guard (:func:`~painsign.scoring.guard.guarded_score`): one that
        fails gets NaN and a reason in ``failed``; the others go on.
        """
        nan = float("nan")
        counts = self.confirmation.update(t, face.found)
        if not counts:
            return FrameRecord(
                index,
                t,
                False,
                (nan, nan, nan, nan),
                dict.fromkeys(self.detail_columns, nan),
                {s.name: nan for s in self.scorers},
                unconfirmed=face.found,
            )
        frame = FaceFrame(rgb, face, t)
        p_raw, details, failed = {}, {}, {}
        for scorer in self.scorers:
            score, failure = guarded_score(scorer, frame)
            p_raw[scorer.name] = score.p
            details[scorer.name] = score.details
            if failure is not None:
                failed[scorer.name] = failure
        actions = detail_values(self.scorers, details, self._detail_sources)
        box = tuple(float(v) for v in face.box)
        return FrameRecord(index, t, True, box, actions, p_raw, details, failed=failed)


def face_thumbnail(bgr: np.ndarray, face: FaceResult, size: int = THUMB_SIZE) -> np.ndarray:
    """Return a small RGB square of the face (or of the whole frame when none was found)."""
    h, w = bgr.shape[:2]
    if face.found:
        x1, y1, x2, y2 = face.box
        side = max(x2 - x1, y2 - y1) * 1.2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        xa, ya = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        xb, yb = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        region = bgr[ya:yb, xa:xb] if xb > xa and yb > ya else bgr
    else:
        region = bgr
    thumb = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(thumb, cv2.COLOR_BGR2RGB)
