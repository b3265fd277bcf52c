"""The default pain scorer: NFCS facial actions measured from landmarks, combined by count.

A transparent research proxy, **not a validated clinical tool**. It needs no training: it
measures eight facial actions of the Neonatal Facial Coding System (Grunau & Craig) as
changes from the patient's own rest face, and follows Heiderich et al.'s rule that a
neonate showing three or more actions is in pain.

Per frame, each action gets an intensity in [0, 1]: the change of its measure (see
:mod:`painsign.scoring.nfcs_features`) from the rest baseline, divided by the change that
counts as a fully shown action (:data:`FULL_CHANGE`). An action with intensity of at least
``ACTIVE`` (0.5) is "clearly active"; below ``NOISE`` (0.15) it is measurement noise. With
``a_i = clip((intensity_i - NOISE) / (ACTIVE - NOISE), 0, 1)``,

    S = sum_i a_i              (a soft count of clearly active actions)
    P(pain) = 1 / (1 + exp(-GAIN * (S - 2.5)))

so three clearly active actions give S >= 3 and P >= 0.75, two give at most 0.25, and a
face at rest (S near 0) gives about 0.004.

The rest baseline is learned per patient from a calibration window at the start (the first
``calibration_s`` seconds with a face), or set by :meth:`NfcsScorer.calibrate`. A window
whose median P(pain) against the current baseline reaches the threshold is never used as
rest; the scorer keeps trying on later windows. Until then it scores against population
defaults (an adult neutral face) and brow bulge, which is read as skin motion against the
rest image, stays 0; every other change must then be POPULATION_TOLERANCE times larger
to count, since faces differ at rest more than one face between rest and pain.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from painsign.scoring.base import FaceFrame, Score
from painsign.scoring.nfcs_features import (
    MEASURES,
    brow_drop,
    canonical_face,
    eye_openness,
    face_measures,
)

ACTIONS = (
    "brow_bulge", "eye_squeeze", "nasolabial_furrow", "open_lips", "vertical_stretch",
    "horizontal_stretch", "lip_purse", "chin_quiver",
)
#: Change of each action's measure that counts as the action fully shown (intensity 1).
#: Relative changes except open lips and brow bulge (face units) and chin quiver
#: (standard deviation of the chin's fast motion, face units). Set from what the default
#: face mesh reads when these actions are animated on a real face (see tests/).
FULL_CHANGE = {
    "brow_bulge": 0.035,
    "eye_squeeze": 0.45,
    "nasolabial_furrow": 0.10,
    "open_lips": 0.08,
    "vertical_stretch": 0.09,
    "horizontal_stretch": 0.08,
    "lip_purse": 0.08,
    "chin_quiver": 0.012,
}
ACTIVE = 0.5
#: Intensities below this are measurement noise and count for nothing.
NOISE = 0.15
GAIN = 2.2
#: Population rest values (adult neutral face, mouth closed) used until calibration.
POPULATION_REST = dict(zip(
    (*MEASURES, "eye_open"),
    (0.21, 0.32, 0.24, 0.27, 0.12, 0.02, 0.66, 0.74, 0.74, 0.40),
    strict=True,
))
#: Faces differ at rest far more than one face between rest and pain, so before the
#: patient's own baseline is known every change must be this many times larger to count.
POPULATION_TOLERANCE = 3.0
#: Chin quiver: the chin's height minus its mean over QUIVER_SMOOTH_S, spread over
#: QUIVER_WINDOW_S (real chin quiver is a few hertz).
QUIVER_SMOOTH_S = 0.2
QUIVER_WINDOW_S = 0.6
#: Bound on the chin history whatever the time stamps do (a stalled clock, 1000-fps input).
QUIVER_MAX_SAMPLES = 128


def combine(intensities: np.ndarray) -> float:
    """Return P(pain) from action intensities by the soft count of clearly active actions.

    Parameters
    ----------
    intensities : numpy.ndarray
        Intensities in [0, 1] of the actions.

    Returns
    -------
    float
        ``1 / (1 + exp(-GAIN * (S - 2.5)))`` with
        ``S = sum(clip((i - NOISE) / (ACTIVE - NOISE), 0, 1))``.

    Examples
    --------
    >>> round(combine(np.array([1.0, 1.0, 1.0, 0, 0, 0, 0, 0])), 2)
    0.75
    >>> combine(np.zeros(8)) < 0.01
    True
    """
    a = np.clip((np.asarray(intensities, dtype=np.float64) - NOISE) / (ACTIVE - NOISE), 0, 1)
    s = float(a.sum())
    return 1.0 / (1.0 + np.exp(-GAIN * (s - 2.5)))


class NfcsScorer:
    """NFCS facial actions from the face mesh -> P(pain). See the module docstring.

    Parameters
    ----------
    name : str
        Scorer name (column suffix in reports).
    threshold : float
        Decision threshold on P(pain); 0.5 matches the three-action rule.
    calibration_s : float
        Length of the rest window learned at the start; 0 disables automatic calibration.
    """

    def __init__(self, name: str = "nfcs", threshold: float = 0.5, calibration_s: float = 3.0):
        self.name = name
        self.display_name = "NFCS proxy"
        self.threshold = threshold
        self.calibration_s = calibration_s
        self.reset()

    def reset(self) -> None:
        """Forget the patient: back to population defaults and a new calibration window."""
        self.rest = dict(POPULATION_REST)
        self.rest_crop: np.ndarray | None = None
        self.rest_pts: np.ndarray | None = None
        self.calibrated = False
        self._recalibrating = False
        self._window: list[tuple[float, np.ndarray, np.ndarray, np.ndarray, float]] = []
        self._chin: deque[tuple[float, float]] = deque(maxlen=QUIVER_MAX_SAMPLES)

    def measure(self, frame: FaceFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the raw measures (``MEASURES`` + eye openness), canonical crop and points."""
        points = frame.face.landmarks.points
        crop, pts = canonical_face(frame.rgb, points)
        values = np.append(face_measures(points), eye_openness(crop, pts))
        return values, crop, pts

    def intensities(self, values: np.ndarray, crop: np.ndarray, t: float) -> np.ndarray:
        """Return the eight action intensities for measured ``values`` (see module doc)."""
        r = self.rest
        v = dict(zip((*MEASURES, "eye_open"), values, strict=True))
        change = {
            "brow_bulge": brow_drop(self.rest_crop, self.rest_pts, crop)
            if self.rest_crop is not None else 0.0,
            "eye_squeeze": (r["eye_open"] - v["eye_open"]) / max(r["eye_open"], 1e-6),
            "nasolabial_furrow": (r["upper_lip"] - v["upper_lip"]) / r["upper_lip"],
            "open_lips": v["lip_gap"] - r["lip_gap"],
            "vertical_stretch": (v["face_height"] - r["face_height"]) / r["face_height"],
            "horizontal_stretch": (v["mouth_width"] - r["mouth_width"]) / r["mouth_width"],
            "lip_purse": (r["mouth_width"] - v["mouth_width"]) / r["mouth_width"],
            "chin_quiver": self._quiver(t, v["chin"]),
        }
        widen = 1.0 if self.calibrated else POPULATION_TOLERANCE
        raw = np.array([
            change[a] / (FULL_CHANGE[a] * (1.0 if a == "chin_quiver" else widen))
            for a in ACTIONS
        ])
        return np.clip(np.nan_to_num(raw, nan=0.0), 0.0, 1.0)

    def score(self, frame: FaceFrame) -> Score:
        """Score one frame with a face; learn the rest baseline while calibrating."""
        values, crop, pts = self.measure(frame)
        levels = self.intensities(values, crop, frame.t)
        p = combine(levels)
        if self.calibrating:
            self._collect(frame.t, values, crop, pts, p)
        details = dict(zip(ACTIONS, (float(x) for x in levels), strict=True))
        details["calibrated"] = float(self.calibrated)
        return Score(p, details)

    @property
    def calibrating(self) -> bool:
        """Whether a rest window is being collected (at the start, or after recalibrate)."""
        return (not self.calibrated or self._recalibrating) and self.calibration_s > 0

    def recalibrate(self) -> None:
        """Learn a new baseline from the next calm ``calibration_s`` seconds.

        The current baseline stays in use until the new one is adopted.
        """
        self._recalibrating = True
        self._window = []

    def calibrate(self, frames: list[FaceFrame]) -> None:
        """Learn the rest baseline from frames of this patient's face at rest.

        Raises
        ------
        ValueError
            With no frame, or when the frames already score as pain (median P(pain) at
            or above the threshold): a baseline is never learned from a painful face.
        """
        if not frames:
            raise ValueError("calibration needs at least one frame with a face")
        samples = []
        for f in frames:
            values, crop, pts = self.measure(f)
            samples.append((f.t, values, crop, pts, combine(self.intensities(values, crop,
                                                                              f.t))))
        if not self._adopt(samples):
            raise ValueError("these frames already score as pain; calibrate on a face at rest")

    def _collect(self, t, values, crop, pts, p) -> None:
        self._window.append((t, values, crop, pts, p))
        if t - self._window[0][0] < self.calibration_s:
            return
        if not self._adopt(self._window):
            # Not at rest: slide on by half a window and try again later.
            half = self._window[0][0] + self.calibration_s / 2
            self._window = [s for s in self._window if s[0] >= half]
        else:
            self._window = []

    def _adopt(self, samples) -> bool:
        ps = np.array([s[4] for s in samples])
        if np.median(ps) >= self.threshold:
            return False
        values = np.array([s[1] for s in samples])
        rest = np.nanmedian(values, axis=0)
        self.rest = dict(zip((*MEASURES, "eye_open"), rest, strict=True))
        mid = int(np.argmin(np.abs(values - rest).sum(axis=1)))
        self.rest_crop, self.rest_pts = samples[mid][2], samples[mid][3]
        self.calibrated = True
        self._recalibrating = False
        return True

    def _quiver(self, t: float, chin: float) -> float:
        self._chin.append((t, chin))
        while self._chin and t - self._chin[0][0] > QUIVER_WINDOW_S:
            self._chin.popleft()
        ts = np.array([c[0] for c in self._chin])
        ys = np.array([c[1] for c in self._chin])
        if len(ys) < 4:
            return 0.0
        smooth = np.array([ys[np.abs(ts - ti) <= QUIVER_SMOOTH_S / 2].mean() for ti in ts])
        # Median absolute deviation: an oscillation moves most samples off the local mean,
        # a single step (a re-detection, a head movement) only the few around it.
        return float(1.4826 * np.median(np.abs(ys - smooth)))
