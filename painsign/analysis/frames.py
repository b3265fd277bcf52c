"""Per-frame processing shared by replay and live use: face, actions, P(pain) per scorer."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from painsign.scoring.base import FaceFrame, Scorer
from painsign.scoring.nfcs import ACTIONS
from painsign.vision.image import to_rgb
from painsign.vision.tracker import FaceTracker
from painsign.vision.types import FaceResult

THUMB_SIZE = 64


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
        NFCS action intensities (NaN without a face or without the NFCS scorer).
    p_raw : dict of str to float
        P(pain) per scorer name (NaN without a face).
    """

    index: int
    t: float
    face: bool
    box: tuple[float, float, float, float]
    actions: dict[str, float]
    p_raw: dict[str, float]
    details: dict[str, dict[str, float]] = field(default_factory=dict)


class FrameAnalyzer:
    """Run the face tracker and every scorer on frames, one at a time.

    Parameters
    ----------
    tracker : FaceTracker
        Finds and follows the patient face.
    scorers : list of Scorer
        Pain scorers with distinct names.
    """

    def __init__(self, tracker: FaceTracker, scorers: list[Scorer]):
        names = [s.name for s in scorers]
        if len(set(names)) != len(names):
            raise ValueError(f"scorer names must be distinct, got {names}")
        self.tracker = tracker
        self.scorers = scorers

    def reset(self) -> None:
        """Start a new recording: forget the track and every scorer's baseline."""
        self.tracker.reset()
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
        """Second stage: every scorer on the located face, in frame order."""
        nan = float("nan")
        if not face.found:
            return FrameRecord(
                index, t, False, (nan, nan, nan, nan), dict.fromkeys(ACTIONS, nan),
                {s.name: nan for s in self.scorers},
            )
        frame = FaceFrame(rgb, face, t)
        p_raw, details = {}, {}
        for scorer in self.scorers:
            score = scorer.score(frame)
            p_raw[scorer.name] = float(score.p)
            details[scorer.name] = score.details
        actions = {a: nan for a in ACTIONS}
        for d in details.values():
            if all(a in d for a in ACTIONS):
                actions = {a: float(d[a]) for a in ACTIONS}
                break
        box = tuple(float(v) for v in face.box)
        return FrameRecord(index, t, True, box, actions, p_raw, details)


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
