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

from painsign.scoring.base import CalibrationRefused, Explanation, FaceFrame, Score
from painsign.scoring.nfcs_features import (
    MEASURES,
    brow_drop,
    canonical_face,
    centred,
    eye_openness,
    face_measures,
    ncc,
    quiver_spread,
)
from painsign.scoring.nfcs_rest import RestSample, not_calm, slide_window

ACTIONS = (
    "brow_bulge",
    "eye_squeeze",
    "nasolabial_furrow",
    "open_lips",
    "vertical_stretch",
    "horizontal_stretch",
    "lip_purse",
    "chin_quiver",
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
#: Population rest values, used until the patient's own rest face is learned: the measures
#: of MediaPipe's canonical face (the neutral, mouth-closed reference face of its geometry
#: pipeline, ``face_landmarker.task``; tests/test_nfcs_real_faces.py recomputes them when
#: that file is at hand). Eye openness is an appearance measure the mesh cannot give; its
#: value is the median of the neutral adult faces it was developed on. These replaced
#: values read off the astronaut photo, whose face smiles (mouth width 0.74 instead of
#: 0.55): every face that did not smile then read as a lip purse.
POPULATION_REST = {
    "brow_eye": 0.233,
    "brow_gap": 0.314,
    "eye_aperture": 0.242,
    "nasolabial": 0.360,
    "upper_lip": 0.148,
    "lip_gap": 0.060,
    "face_height": 0.823,
    "mouth_width": 0.552,
    "chin": 0.931,
    "corner_lift": -0.008,
    "eye_open": 0.40,
}
#: Faces differ at rest far more than one face between rest and pain, so before the
#: patient's own baseline is known every change must be this many times larger to count.
POPULATION_TOLERANCE = 3.0
#: Chin quiver: the chin height's spread about its trend over QUIVER_WINDOW_S (real chin
#: quiver is a few hertz).
QUIVER_WINDOW_S = 0.6
#: The face mesh's own frame-to-frame jitter of the chin on a still real face (face units,
#: about 0.002-0.003 measured); the synthetic animations the full scale was set on have
#: none, and real still faces read up to 0.35 chin quiver before it was taken off.
CHIN_JITTER = 0.003
#: Bound on the chin history whatever the time stamps do (a stalled clock, 1000-fps input).
QUIVER_MAX_SAMPLES = 128
#: A smile: lip corners raised above the inner lips' midpoint by more than SMILE_START
#: (face units, beyond the rest face) begin to count; at SMILE_FULL the face smiles fully.
#: A smile pulls the corners out and up, opens the lips and deepens the nasolabial fold,
#: which the geometry alone would read as horizontal stretch, open lips and furrow; those
#: actions are scaled by (1 - smile) instead. Pain pulls the corners out and down.
SMILE_START = 0.02
SMILE_FULL = 0.06
#: The actions a smile produces too, suppressed by it.
SMILE_MASKED = ("nasolabial_furrow", "open_lips", "vertical_stretch", "horizontal_stretch")
#: Once the rest face is known, a face whose canonical crop correlates with the rest crop
#: below this (normalised cross-correlation) is covered by something (a hand, a cloth, a
#: feeding tube being placed): the mesh is still fitted for a few frames, and the hand
#: reads as squeezed eyes and a bulged brow. Such a frame gets no score (a gap), not a
#: pain value. Measured on the demo: rest 0.90-1.00, grimace 0.78, cry 0.86, a hand
#: over the face 0.10-0.33.
OCCLUDED_BELOW = 0.5


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
    calm_check : callable, optional
        ``calm_check(frame) -> float`` in [0, 1], how far the face is from calm by another
        judge (the default scorer passes its expression network's larger of P(pain-like)
        and P(happy)); a window is adopted as rest only when this stays below
        ``nfcs_rest.CALM_EXPRESSION`` too.

    Attributes
    ----------
    baseline_status : str
        What the baseline is, in words, for the display ("own rest face since 4.2 s",
        "population values: face not calm", ...).
    detail_columns : tuple of str
        The eight action intensities, written per frame to frames.csv.

    Notes
    -----
    Has the :class:`~painsign.scoring.base.Calibratable` and
    :class:`~painsign.scoring.base.Explainable` capabilities.
    """

    detail_columns = ACTIONS

    def __init__(
        self,
        name: str = "nfcs",
        threshold: float = 0.5,
        calibration_s: float = 3.0,
        calm_check=None,
    ):
        self.name = name
        self.display_name = "NFCS proxy"
        self.threshold = threshold
        self.calibration_s = calibration_s
        self.calm_check = calm_check
        self.reset()

    def reset(self) -> None:
        """Forget the patient: back to population defaults and a new calibration window."""
        self.rest = dict(POPULATION_REST)
        self.rest_crop: np.ndarray | None = None
        self.rest_pts: np.ndarray | None = None
        self.calibrated = False
        self.baseline_status = "population values: waiting for a calm face"
        self._recalibrating = False
        self._held = False
        self._window: list[RestSample] = []
        self._recent: deque[RestSample] = deque(maxlen=QUIVER_MAX_SAMPLES)
        self._chin: deque[tuple[float, float]] = deque(maxlen=QUIVER_MAX_SAMPLES)
        self._last: tuple[FaceFrame, Score] | None = None
        self._rest_ref: tuple[np.ndarray, tuple[np.ndarray, float]] | None = None

    def measure(self, frame: FaceFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the raw measures (``MEASURES`` + eye openness), canonical crop and points."""
        if frame.face.landmarks is None:
            raise ValueError("the NFCS proxy needs the face's landmarks")
        points = frame.face.landmarks.points
        crop, pts = canonical_face(frame.rgb, points)
        values = np.append(face_measures(points), eye_openness(crop, pts))
        return values, crop, pts

    def smile(self, values: np.ndarray) -> float:
        """Return how much the face smiles, in [0, 1], from its lip corners (see SMILE_*)."""
        lift = values[MEASURES.index("corner_lift")] - self.rest["corner_lift"]
        return float(np.clip((lift - SMILE_START) / (SMILE_FULL - SMILE_START), 0.0, 1.0))

    def intensities(self, values: np.ndarray, crop: np.ndarray, t: float) -> np.ndarray:
        """Return the eight action intensities for measured ``values`` (see module doc)."""
        r = self.rest
        v = dict(zip(_KEYS, values, strict=True))
        brow_flow = (
            brow_drop(self.rest_crop, self.rest_pts, crop)
            if self.rest_crop is not None and self.rest_pts is not None
            else 0.0
        )
        change = {
            # The mesh follows real brows and lids (it did not follow the synthetic warps
            # the flow and appearance measures were made for), so either may show them.
            "brow_bulge": max(brow_flow, r["brow_eye"] - v["brow_eye"]),
            "eye_squeeze": max(
                (r["eye_open"] - v["eye_open"]) / max(r["eye_open"], 1e-6),
                (r["eye_aperture"] - v["eye_aperture"]) / max(r["eye_aperture"], 1e-6),
            ),
            "nasolabial_furrow": (r["upper_lip"] - v["upper_lip"]) / r["upper_lip"],
            "open_lips": v["lip_gap"] - r["lip_gap"],
            "vertical_stretch": (v["face_height"] - r["face_height"]) / r["face_height"],
            "horizontal_stretch": (v["mouth_width"] - r["mouth_width"]) / r["mouth_width"],
            "lip_purse": (r["mouth_width"] - v["mouth_width"]) / r["mouth_width"],
            "chin_quiver": self._quiver(t, v["chin"]),
        }
        widen = 1.0 if self.calibrated else POPULATION_TOLERANCE
        keep = 1.0 - self.smile(values)
        raw = np.array(
            [
                change[a]
                / (FULL_CHANGE[a] * (1.0 if a == "chin_quiver" else widen))
                * (keep if a in SMILE_MASKED else 1.0)
                for a in ACTIONS
            ]
        )
        return np.clip(np.nan_to_num(raw, nan=0.0), 0.0, 1.0)

    def score(self, frame: FaceFrame) -> Score:
        """Score one frame with a face; learn the rest baseline while calibrating.

        Called again with the same frame object (the default scorer and this one side by
        side), it returns the same result without measuring or learning twice.
        """
        if self._last is not None and self._last[0] is frame:
            return self._last[1]
        values, crop, pts = self.measure(frame)
        rest = self.rest_crop
        if rest is not None and self._similar_to_rest(crop, rest) < OCCLUDED_BELOW:
            details = dict.fromkeys(ACTIONS, float("nan"))
            details.update(smile=float("nan"), occluded=1.0, calibrated=float(self.calibrated))
            result = Score.unscorable("face covered", details)
            self._last = (frame, result)
            return result
        smile = self.smile(values)
        levels = self.intensities(values, crop, frame.t)
        p = combine(levels)
        upset = float(self.calm_check(frame)) if self.calm_check is not None else 0.0
        sample = RestSample(frame.t, values, crop, pts, p, upset)
        self._recent.append(sample)
        if self.calibrating:
            self._collect(sample)
        details = dict(zip(ACTIONS, (float(x) for x in levels), strict=True))
        details["smile"] = smile
        details["occluded"] = 0.0
        details["calibrated"] = float(self.calibrated)
        result = Score(p, details)
        self._last = (frame, result)
        return result

    @property
    def calibrating(self) -> bool:
        """Whether a rest window is being collected (at the start, or after recalibrate)."""
        return (
            (not self.calibrated or self._recalibrating)
            and self.calibration_s > 0
            and not self._held
        )

    def baseline_state(self) -> dict | None:
        """The learned rest baseline, picklable; None while on population values.

        With :meth:`hold_baseline` another instance scores against it: the chunks of one
        recording analysed in parallel share the baseline learned at its start.
        """
        if not self.calibrated:
            return None
        return {
            "rest": dict(self.rest),
            "rest_crop": self.rest_crop,
            "rest_pts": self.rest_pts,
            "baseline_status": self.baseline_status,
        }

    def hold_baseline(self, state: dict | None) -> None:
        """Score against ``state`` (from :meth:`baseline_state`; None: population
        values) and learn nothing by itself until :meth:`reset`."""
        self._held = True
        self._recalibrating = False
        self._window = []
        if state is None:
            self.rest = dict(POPULATION_REST)
            self.rest_crop = self.rest_pts = None
            self.calibrated = False
            return
        self.rest = dict(state["rest"])
        self.rest_crop, self.rest_pts = state["rest_crop"], state["rest_pts"]
        self.baseline_status = state["baseline_status"]
        self.calibrated = True

    def recalibrate(self) -> None:
        """Learn a new baseline from the next calm ``calibration_s`` seconds.

        The current baseline stays in use until the new one is adopted.

        Raises
        ------
        CalibrationRefused
            When the last second of scored frames is not calm (see ``nfcs_rest.CALM_P``), with
            the reason; the caller checks that a face is present at all.
        """
        last = [s for s in self._recent if s.t >= self._recent[-1].t - 1.0] if self._recent else []
        if not last:
            raise CalibrationRefused("no face seen yet: calibrate with the face in view")
        reason = not_calm(last)
        if reason:
            raise CalibrationRefused(f"face not calm ({reason}): calibrate at rest")
        self._recalibrating = True
        self._window = []

    def calibrate(self, frames: list[FaceFrame]) -> None:
        """Learn the rest baseline from frames of this patient's face at rest.

        Raises
        ------
        CalibrationRefused
            With no frame, or when the frames are not calm (P(pain) or the calm check at
            or above ``nfcs_rest.CALM_P`` in more than 10 % of them): a baseline is never
            learned from a face in pain, crying or smiling.
        """
        if not frames:
            raise CalibrationRefused("calibration needs at least one frame with a face")
        samples = []
        for f in frames:
            values, crop, pts = self.measure(f)
            p = combine(self.intensities(values, crop, f.t))
            upset = float(self.calm_check(f)) if self.calm_check is not None else 0.0
            samples.append(RestSample(f.t, values, crop, pts, p, upset))
        reason = not_calm(samples)
        if reason:
            raise CalibrationRefused(
                f"these frames are not calm ({reason}); calibrate on a face at rest"
            )
        self._adopt(samples)

    def explain(self, frame: FaceFrame, score: Score | None = None) -> Explanation:
        """Draw the landmarks each active facial action reads, with a legend
        (:func:`painsign.scoring.nfcs_explain.explain_nfcs`)."""
        from painsign.scoring.nfcs_explain import explain_nfcs  # it imports this module

        return explain_nfcs(self, frame, score)

    def latest_sample(self):
        """The calibration sample of the last scored frame (``t``, ``p``, ``upset`` and
        what a baseline is learned from), or None: chunks of a recording analysed in
        parallel collect them to find where a run from the start adopts its baseline."""
        return self._recent[-1] if self._recent else None

    def adoption_in(self, samples) -> tuple[int, float, float] | None:
        """Where this scorer's rest-window rule, run from the start, adopts a baseline.

        Parameters
        ----------
        samples : iterable of tuple
            ``(frame_index, t, p, upset)`` of each calibration sample, in frame order.

        Returns
        -------
        tuple or None
            ``(frame_index, window_start_t, window_end_t)`` of the adopting frame, None
            if it never adopts.
        """
        window: list[RestSample] = []
        for index, t, p, upset in samples:
            window, calm, _ = slide_window(
                window, RestSample(t, None, None, None, p, upset), self.calibration_s
            )
            if calm:
                return index, calm[0].t, calm[-1].t
        return None

    def adopt_window(self, samples: list) -> None:
        """Adopt the baseline of these calm samples (from :meth:`latest_sample`), as the
        rest-window rule does when they make a calm window."""
        self._adopt(samples)

    def _collect(self, sample: RestSample) -> None:
        self._window, calm, reason = slide_window(self._window, sample, self.calibration_s)
        if reason and not self.calibrated:
            self.baseline_status = f"population values: {reason}"
        if calm:
            self._adopt(calm)

    def _adopt(self, samples: list[RestSample]) -> None:
        values = np.array([s.values for s in samples])
        rest = np.nanmedian(values, axis=0)
        self.rest = dict(zip(_KEYS, rest, strict=True))
        mid = int(np.argmin(np.nansum(np.abs(values - rest), axis=1)))
        self.rest_crop, self.rest_pts = samples[mid].crop, samples[mid].pts
        self.calibrated = True
        self._recalibrating = False
        self.baseline_status = f"own rest face ({samples[0].t:.1f}-{samples[-1].t:.1f} s)"

    def _similar_to_rest(self, crop: np.ndarray, rest: np.ndarray) -> float:
        # The rest crop's centred form is kept while the rest crop stays the same object.
        if self._rest_ref is None or self._rest_ref[0] is not rest:
            self._rest_ref = (rest, centred(rest))
        return ncc(centred(crop), self._rest_ref[1])

    def _quiver(self, t: float, chin: float) -> float:
        self._chin.append((t, chin))
        while self._chin and t - self._chin[0][0] > QUIVER_WINDOW_S:
            self._chin.popleft()
        return max(0.0, quiver_spread(self._chin) - CHIN_JITTER)


_KEYS = (*MEASURES, "eye_open")


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation of two equal-size gray images, in [-1, 1].

    Examples
    --------
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> round(similarity(x, 2 * x + 1), 6)
    1.0
    """
    return ncc(centred(a), centred(b))
