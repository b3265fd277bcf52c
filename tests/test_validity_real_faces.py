"""The default pain score on real faces: the figures the README's Validity section gives.

These use the real adult faces of ``../shared/realfaces/`` (see its README), which are
never copied into the repository; without that folder the tests skip and say why.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from painsign.cli import main
from painsign.scoring.base import FaceFrame
from painsign.scoring.default import default_scorers
from painsign.scoring.nfcs import ACTIONS, NOISE, POPULATION_REST, SMILE_MASKED
from painsign.vision.image import to_rgb

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL = SHARED / "realfaces"
LANDMARKER = SHARED / "models-src" / "face_landmarker.task"
needs_real = pytest.mark.skipif(
    not (REAL / "labels.csv").is_file(),
    reason=f"the real-face development set is not here ({REAL}); see the README, Validity",
)

PHOTOS = {
    "smile": "single_face.jpg",
    "surprise": "0-f1-su-ph.jpg",
    "happy": "0-f15-hao-ph.jpg",
    "anger": "15-f13-anc-ph.jpg",
    "disgust": "45-m7-di-ph.jpg",
}
#: single_face.mp4's labelled stretches (labels.csv; its time stamps say 30 fps).
NEUTRAL_UNTIL_S, SMILE_FROM_S = 0.6, 0.7


@pytest.fixture(scope="module")
def photo_scores(detector, landmarker):
    from painsign.vision.tracker import FaceTracker

    tracker = FaceTracker(detector, landmarker)
    out = {}
    for label, name in PHOTOS.items():
        bgr = cv2.imread(str(REAL / name))
        face = tracker.analyse_image(bgr)[0]
        scorers = default_scorers(calibration_s=0)
        frame = FaceFrame(to_rgb(bgr), face, 0.0)
        out[label] = {s.name: s.score(frame) for s in scorers}
    return out


@pytest.fixture(scope="module")
def video_frames(tmp_path_factory):
    out = tmp_path_factory.mktemp("single_face")
    assert (
        main(
            ["analyze", str(REAL / "single_face.mp4"), "--out", str(out), "--quiet", "--no-figure"]
        )
        == 0
    )
    with open(out / "frames.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    summary = json.loads((out / "summary.json").read_text())
    return rows, summary


@needs_real
def test_default_sign_separates_pain_like_faces_with_auc_at_least_0_9(tmp_path, monkeypatch):
    monkeypatch.chdir(REAL)
    assert main(["evaluate", "labels.csv", "--out", str(tmp_path), "--quiet"]) == 0
    result = json.loads((tmp_path / "evaluation.json").read_text())
    assert result["scorers"]["pain"]["auc"] >= 0.9
    assert result["scorers"]["expression"]["auc"] >= 0.9


@needs_real
def test_anger_and_disgust_score_above_happiness_and_surprise(photo_scores):
    p = {label: s["pain"].p for label, s in photo_scores.items()}
    assert min(p["anger"], p["disgust"]) > max(p["happy"], p["surprise"], p["smile"])


@needs_real
def test_smiles_score_no_pain_and_no_mouth_actions(photo_scores):
    for label in ("smile", "happy"):
        s = photo_scores[label]
        assert s["pain"].p < 0.05
        assert s["pain"].details["happy"] > 0.9 and s["nfcs"].details["smile"] > 0.9
        for action in SMILE_MASKED:
            assert s["nfcs"].details[action] < NOISE, (label, action)


@needs_real
def test_neutral_and_smiling_frames_of_the_video_stay_below_the_threshold(video_frames):
    rows, summary = video_frames
    entry = summary["scorers"]["pain"]
    assert entry["default"] is True
    assert not summary["scorers"]["nfcs"]["default"]
    thr = entry["threshold"]
    scored = [r for r in rows if r["face"] == "1"]
    neutral = [r for r in scored if float(r["t"]) < NEUTRAL_UNTIL_S]
    smiling = [r for r in scored if float(r["t"]) >= SMILE_FROM_S]
    assert len(neutral) >= 5 and len(smiling) >= 30
    for r in neutral:
        assert float(r["p_raw_pain"]) < thr and float(r["p_pain"]) < thr
    below = np.mean([float(r["p_raw_pain"]) < thr for r in smiling])
    assert below >= 0.9
    assert all(float(r["p_pain"]) < thr for r in smiling)


@needs_real
def test_population_rest_leaves_every_action_near_zero_on_neutral_frames(video_frames):
    rows, _ = video_frames
    neutral = [r for r in rows if r["face"] == "1" and float(r["t"]) < NEUTRAL_UNTIL_S]
    levels = np.array([[float(r[a]) for a in ACTIONS] for r in neutral])
    # Near 0: below the noise floor in most frames, never half-way to "clearly active"
    # (the last labelled-neutral frames already show the smile's onset).
    worst = dict(zip(ACTIONS, levels.max(axis=0), strict=True))
    assert np.median(levels, axis=0).max() < NOISE, worst
    assert levels.max() < 0.25, worst


@pytest.mark.skipif(
    not LANDMARKER.is_file(), reason=f"MediaPipe's face_landmarker.task is not here ({LANDMARKER})"
)
def test_population_rest_is_mediapipes_canonical_face():
    from painsign.scoring.nfcs_features import MEASURES, face_measures

    with zipfile.ZipFile(LANDMARKER) as z:
        blob = z.read("geometry_pipeline_metadata_landmarks.binarypb")
    xyz = _canonical_vertices(blob)
    points = np.c_[xyz[:, 0], -xyz[:, 1]]  # y down, as in an image
    measured = dict(zip(MEASURES, face_measures(points), strict=True))
    for key, value in measured.items():
        assert POPULATION_REST[key] == pytest.approx(value, abs=5e-4), key


def _canonical_vertices(blob: bytes) -> np.ndarray:
    """The canonical mesh's (468, 3) vertices from the geometry pipeline metadata.

    Protocol buffer wire format: field 1 (canonical_mesh, a Mesh3d) holds field 3
    (vertex_buffer), one float32 per entry, five per vertex (x, y, z, u, v).
    """

    def varint(b, i):
        out = shift = 0
        while True:
            c = b[i]
            i += 1
            out |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                return out, i

    key, i = varint(blob, 0)
    assert key == 0x0A
    n, i = varint(blob, i)
    mesh, j, floats = blob[i : i + n], 0, []
    while j < len(mesh):
        key, j = varint(mesh, j)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, j = varint(mesh, j)
        elif wire == 5:
            if field == 3:
                floats.append(np.frombuffer(mesh[j : j + 4], "<f4")[0])
            j += 4
        elif wire == 2:
            length, j = varint(mesh, j)
            j += length
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return np.array(floats, dtype=np.float64).reshape(-1, 5)[:, :3]
