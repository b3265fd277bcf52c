"""The NFCS scorer's per-frame fast paths give what their plain definitions give.

The chin-quiver trend, the landmark measures and the occlusion check were rewritten to
cost less per frame; here each is held to its definition on the demo's real face meshes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from painsign.scoring.base import FaceFrame
from painsign.scoring.nfcs import POPULATION_REST, NfcsScorer
from painsign.scoring.nfcs_features import face_measures, quiver_spread
from painsign.video.reader import VideoReader
from painsign.vision import mesh_indices as M
from painsign.vision.face_frame import FaceAxes
from painsign.vision.image import to_rgb

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo_grimace.mp4"


@pytest.fixture(scope="module")
def demo_faces(detector, landmarker):
    """(t, rgb, face) of the demo's first 120 frames with a face."""
    from painsign.vision.tracker import FaceTracker

    tracker = FaceTracker(detector, landmarker)
    out = []
    for f in VideoReader(DEMO):
        rgb = to_rgb(f.bgr)
        face = tracker.process_rgb(rgb)
        if face.found:
            out.append((f.t, rgb, face))
        if len(out) >= 120:
            break
    return out


def _polyfit_spread(samples) -> float:
    """The definition: MAD about numpy's least-squares parabola (the former code)."""
    ts = np.array([s[0] for s in samples])
    ys = np.array([s[1] for s in samples])
    if len(ys) < 4 or np.ptp(ts) <= 0:
        return 0.0
    x = ts - ts[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RankWarning with repeated time stamps
        trend = np.polyval(np.polyfit(x, ys, 2), x)
    return 1.4826 * float(np.median(np.abs(ys - trend)))


@pytest.mark.filterwarnings("ignore::numpy.exceptions.RankWarning")
def test_quiver_spread_is_the_polyfit_trend_spread(demo_faces):
    chin = [(t, face_measures(face.landmarks.points)[8]) for t, _, face in demo_faces]
    rng = np.random.default_rng(3)
    windows = [chin[i : i + n] for i in range(0, 100, 7) for n in (1, 3, 4, 5, 18, 19)]
    for _ in range(300):  # odd clocks: jittered, hours in, repeated and stalled stamps
        n = int(rng.integers(4, 30))
        ts = 3600.0 + np.sort(rng.uniform(0, 0.6, n))
        if rng.random() < 0.3:
            ts = np.round(ts, 1)
        ys = 0.93 + 0.01 * rng.standard_normal(n)
        windows.append(list(zip(ts.tolist(), ys.tolist(), strict=True)))
    windows.append([(5.0, 0.9)] * 6)
    worst = max(abs(quiver_spread(w) - _polyfit_spread(w)) for w in windows)
    assert worst < 1e-12
    # An oscillating chin reads as quiver, a steady parabola does not.
    t = np.arange(18) / 30
    assert quiver_spread(list(zip(t, 0.9 + 0.01 * np.sin(2 * np.pi * 6 * t), strict=True))) > 5e-3
    assert quiver_spread(list(zip(t, 0.9 + 0.2 * t - 0.3 * t**2, strict=True))) < 1e-12


def _measures_by_definition(points: np.ndarray) -> np.ndarray:
    """The module table, measure by measure, on all 468 points."""
    uv = FaceAxes.from_points(points).to_local(points)

    def dist(a, b):
        return float(np.linalg.norm(uv[list(a)] - uv[list(b)], axis=-1).mean())

    def aperture(lids, outer, inner):
        up, low = zip(*lids, strict=True)
        return dist(up, low) / dist([outer], [inner])

    corners = [M.RIGHT_EYE_OUTER, M.RIGHT_EYE_INNER, M.LEFT_EYE_OUTER, M.LEFT_EYE_INNER]
    upper, lower = zip(*M.INNER_LIP_PAIRS, strict=True)
    lips_mid = uv[[M.UPPER_LIP_INNER, M.LOWER_LIP_INNER], 1].mean()
    return np.array(
        [
            uv[corners, 1].mean() - uv[list(M.RIGHT_BROW_INNER + M.LEFT_BROW_INNER), 1].mean(),
            dist([M.RIGHT_BROW_INNER[0]], [M.LEFT_BROW_INNER[0]]),
            np.mean(
                [
                    aperture(M.RIGHT_LIDS, M.RIGHT_EYE_OUTER, M.RIGHT_EYE_INNER),
                    aperture(M.LEFT_LIDS, M.LEFT_EYE_OUTER, M.LEFT_EYE_INNER),
                ]
            ),
            np.mean(
                [
                    dist([M.RIGHT_ALA], [M.MOUTH_RIGHT]),
                    dist([M.LEFT_ALA], [M.MOUTH_LEFT]),
                ]
            ),
            dist([M.SUBNASALE], [M.UPPER_LIP_TOP]),
            dist(upper, lower),
            dist([M.SUBNASALE], [M.CHIN]),
            dist([M.MOUTH_RIGHT], [M.MOUTH_LEFT]),
            uv[M.CHIN, 1],
            lips_mid - uv[[M.MOUTH_RIGHT, M.MOUTH_LEFT], 1].mean(),
        ]
    )


def test_face_measures_follow_their_definitions(demo_faces):
    rng = np.random.default_rng(5)
    meshes = [face.landmarks.points for _, _, face in demo_faces[::10]]
    meshes += [m + rng.normal(0, 4, m.shape).astype(np.float32) for m in meshes]
    for points in meshes:
        np.testing.assert_allclose(
            face_measures(points), _measures_by_definition(points), rtol=0, atol=1e-12
        )


def test_occlusion_check_follows_a_changed_rest_crop(demo_faces):
    t, rgb, face = demo_faces[40]
    scorer = NfcsScorer(calibration_s=0)
    _, crop, pts = scorer.measure(FaceFrame(rgb, face, t))
    state = {"rest": dict(POPULATION_REST), "rest_pts": pts, "baseline_status": "test"}
    scorer.hold_baseline({**state, "rest_crop": crop})
    assert scorer.score(FaceFrame(rgb, face, t)).details["occluded"] == 0.0
    # The same face against an inverted rest crop (correlation -1): covered. A kept
    # centred copy of the first rest crop would still call it uncovered.
    scorer.hold_baseline({**state, "rest_crop": 255 - crop})
    result = scorer.score(FaceFrame(rgb, face, t))
    assert result.details["occluded"] == 1.0 and np.isnan(result.p)
    scorer.hold_baseline({**state, "rest_crop": crop})
    assert scorer.score(FaceFrame(rgb, face, t)).details["occluded"] == 0.0
