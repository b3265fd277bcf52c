"""The NFCS proxy on a real face animated with known facial actions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from synthetic import astronaut_animator, neutral_animator, render

from painsign.scoring.base import FaceFrame, Scorer
from painsign.scoring.nfcs import ACTIONS, NfcsScorer, combine
from painsign.synth.animator import Segment
from painsign.synth.scenarios import GRIMACE
from painsign.vision.image import to_rgb

FPS = 15.0
LEVELS = (0.25, 0.5, 0.75, 1.0)
STEP_S = 0.4


def _score_frames(tracker, scorer, truths, frames):
    out = []
    for truth, frame in zip(truths, frames, strict=True):
        face = tracker.process(frame)
        assert face.found, f"face lost at t={truth.t:.2f}"
        out.append(scorer.score(FaceFrame(to_rgb(frame), face, truth.t)))
    return out


def test_combine_follows_the_three_action_rule():
    assert combine(np.array([1, 1, 1, 0, 0, 0, 0, 0.0])) >= 0.5
    assert combine(np.array([0.5, 0.5, 0.5, 0, 0, 0, 0, 0.0])) >= 0.5  # clearly active
    assert combine(np.array([1, 1, 0, 0, 0, 0, 0, 0.0])) < 0.5
    assert combine(np.zeros(8)) < 0.01
    assert combine(np.full(8, 0.1)) < 0.1


def test_scorer_satisfies_the_contract():
    assert isinstance(NfcsScorer(), Scorer)


@pytest.fixture(scope="module")
def staircase(detector, landmarker):
    """Rest (calibration), then each action alone rising 0.25, 0.5, 0.75, 1, then rest."""
    from painsign.vision.tracker import FaceTracker

    segments, spans, t0 = [], {}, 3.0
    for action in ACTIONS:
        for j, level in enumerate(LEVELS):
            segments.append(
                Segment(t0 + STEP_S * j, t0 + STEP_S * (j + 1), {action: level}, ramp_s=0.0)
            )
        spans[action] = (t0 - 0.6, t0 + STEP_S * len(LEVELS))
        t0 += STEP_S * len(LEVELS) + 0.8
    truths, frames = render(segments, t0, FPS)
    scorer = NfcsScorer(calibration_s=2.0)
    scores = _score_frames(FaceTracker(detector, landmarker), scorer, truths, frames)
    return truths, scores, spans, scorer


def test_calibration_learned_at_rest(staircase):
    truths, scores, _, scorer = staircase
    assert scorer.calibrated
    first = next(i for i, s in enumerate(scores) if s.details["calibrated"])
    assert 2.0 <= truths[first].t < 2.6


@pytest.mark.parametrize("action", ACTIONS)
def test_intensity_tracks_the_injected_action(staircase, action):
    truths, scores, spans, _ = staircase
    lo, hi = spans[action]
    sel = [i for i, tr in enumerate(truths) if lo <= tr.t < hi]
    injected = [truths[i].intensities[action] for i in sel]
    measured = [scores[i].details[action] for i in sel]
    rho = spearmanr(injected, measured)[0]
    assert rho >= 0.8, f"{action}: Spearman {rho:.2f}"
    full = [m for m, inj in zip(measured, injected, strict=True) if inj == 1.0]
    assert np.mean(full) >= 0.5, f"{action} at full intensity reads {np.mean(full):.2f}"


def test_grimace_scores_pain_and_rest_does_not(detector, landmarker):
    from painsign.vision.tracker import FaceTracker

    segments = [
        Segment(3.0, 5.0, {"brow_bulge": 0.8, "eye_squeeze": 0.8, "open_lips": 0.8}, ramp_s=0.2)
    ]
    truths, frames = render(segments, 6.5, FPS)
    scorer = NfcsScorer(calibration_s=2.0)
    scores = _score_frames(FaceTracker(detector, landmarker), scorer, truths, frames)
    p = np.array([s.p for s in scores])
    t = np.array([tr.t for tr in truths])
    assert scorer.calibrated
    assert np.all(p[(t >= 3.3) & (t < 4.8)] > 0.5)
    assert np.all(p[(t >= 2.2) & (t < 3.0)] < 0.5)
    assert np.all(p[t >= 5.4] < 0.5)


def test_baseline_is_not_learned_from_a_grimace(detector, landmarker):
    from painsign.scoring.default import DefaultPainScorer
    from painsign.scoring.nfcs import CalibrationRefused
    from painsign.vision.tracker import FaceTracker

    segments = [Segment(0.0, 3.0, GRIMACE, ramp_s=0.0)]
    truths, frames = render(segments, 6.5, FPS, neutral_animator())
    tracker = FaceTracker(detector, landmarker)
    scorer = DefaultPainScorer(nfcs=NfcsScorer(calibration_s=2.0))
    faces = [tracker.process(f) for f in frames]
    grimace = [
        FaceFrame(to_rgb(f), face, tr.t)
        for f, face, tr in zip(frames, faces, truths, strict=True)
        if tr.t < 3.0
    ]
    with pytest.raises(CalibrationRefused, match="not calm"):
        DefaultPainScorer().nfcs.calibrate(grimace)
    calibrated_at = None
    for frame, face, tr in zip(frames, faces, truths, strict=True):
        s = scorer.score(FaceFrame(to_rgb(frame), face, tr.t))
        if s.details["calibrated"] and calibrated_at is None:
            calibrated_at = tr.t
            assert scorer.nfcs.baseline_status.startswith("own rest face")
        if tr.t < 3.0:
            assert "not calm" in scorer.nfcs.baseline_status or tr.t < 2.0
    # the grimace window is refused; the rest after it is learned
    assert calibrated_at is not None and calibrated_at >= 4.5
    with pytest.raises(CalibrationRefused, match="no face"):
        NfcsScorer().recalibrate()


def test_explicit_calibration_and_reset(detector, landmarker):
    from painsign.vision.tracker import FaceTracker

    truths, frames = render([], 1.0, FPS)
    tracker = FaceTracker(detector, landmarker)
    rest = [
        FaceFrame(to_rgb(f), tracker.process(f), tr.t) for f, tr in zip(frames, truths, strict=True)
    ]
    scorer = NfcsScorer(calibration_s=0)
    assert not scorer.calibrated
    scorer.calibrate(rest)
    assert scorer.calibrated and scorer.score(rest[-1]).p < 0.1
    scorer.reset()
    assert not scorer.calibrated
    with pytest.raises(ValueError):
        scorer.calibrate([])


def test_rest_before_calibration_uses_population_defaults(detector, landmarker):
    from painsign.vision.tracker import FaceTracker

    truths, frames = render([], 0.5, FPS)
    tracker = FaceTracker(detector, landmarker)
    scorer = NfcsScorer(calibration_s=0)
    scores = _score_frames(tracker, scorer, truths, frames)
    assert all(s.p < 0.5 and s.details["calibrated"] == 0.0 for s in scores)
    assert set(ACTIONS) <= set(scores[0].details)


def test_animator_without_actions_keeps_the_picture():
    animator = astronaut_animator()
    from painsign.synth.animator import FrameTruth

    frame = animator.frame(FrameTruth(0.0, {}, False, False))
    diff = np.abs(frame.astype(int) - animator.image.astype(int))
    assert diff.mean() < 1.0


def test_recalibrate_learns_a_new_baseline(detector, landmarker):
    from painsign.vision.tracker import FaceTracker

    truths, frames = render([Segment(0.0, 10.0, {"open_lips": 0.4}, ramp_s=0.0)], 2.5, FPS)
    tracker = FaceTracker(detector, landmarker)
    scorer = NfcsScorer(calibration_s=1.0)
    rest_truths, rest_frames = render([], 1.5, FPS)
    for f, tr in zip(rest_frames, rest_truths, strict=True):
        scorer.score(FaceFrame(to_rgb(f), tracker.process(f), tr.t))
    assert scorer.calibrated and not scorer.calibrating
    lips_at_rest = scorer.rest["lip_gap"]
    scorer.recalibrate()
    assert scorer.calibrating
    for f, tr in zip(frames, truths, strict=True):
        s = scorer.score(FaceFrame(to_rgb(f), tracker.process(f), tr.t + 2.0))
    assert not scorer.calibrating
    assert scorer.rest["lip_gap"] > lips_at_rest  # the new rest has the lips parted
    assert s.details["open_lips"] < 0.2


def test_a_covered_face_gets_no_score_not_a_pain_value(detector, landmarker):
    """The tracker keeps a mesh on the face for a few frames after a hand covers it; the
    hand must not read as squeezed eyes and a bulged brow."""
    from painsign.vision.tracker import FaceTracker

    truths, frames = render(
        [Segment(2.0, 3.0, occluded=True, ramp_s=0.0)], 2.6, FPS, neutral_animator()
    )
    tracker = FaceTracker(detector, landmarker)
    scorer = NfcsScorer(calibration_s=1.0)
    covered = []
    for f, tr in zip(frames, truths, strict=True):
        face = tracker.process(f)
        if not face.found:
            continue
        s = scorer.score(FaceFrame(to_rgb(f), face, tr.t))
        if tr.t < 2.0:
            assert np.isfinite(s.p) and s.details["occluded"] == 0.0
        else:
            covered.append(s)
    assert scorer.calibrated
    assert covered, "the tracker let go at once: nothing to check"
    assert all(np.isnan(s.p) and s.details["occluded"] == 1.0 for s in covered)
