"""The manual-review branch: band edges, sign types, no face, and summary.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from painsign.analysis.frames import FrameRecord
from painsign.analysis.replay import Analysis, ScorerSign
from painsign.analysis.report import summary, write_summary_json
from painsign.scoring.nfcs import ACTIONS
from painsign.signal.metrics import WindowMetrics
from painsign.signal.review import band_for_confidence, needs_review
from painsign.video.reader import VideoInfo


def test_band_maps_seed001_confidence():
    assert band_for_confidence(0.55) == pytest.approx(0.05)
    assert band_for_confidence(0.60) == pytest.approx(0.10)
    with pytest.raises(ValueError):
        band_for_confidence(0.4)


@pytest.mark.parametrize(
    ("mean", "threshold", "flag"),
    [
        (0.5, 0.5, True),
        (0.54, 0.5, True),
        (0.46, 0.5, True),
        (0.55, 0.5, False),  # exactly on the edge: confidence 0.55 is not below 0.55
        (0.45, 0.5, False),  # same edge below (0.5 - 0.45 rounds to 0.0499...)
        (0.56, 0.5, False),
        (0.2, 0.5, False),
        (0.47, 0.494, True),  # VGG-Face's threshold
        (0.443, 0.494, False),
        (0.445, 0.494, True),
    ],
)
def test_band_edges_for_stable_signs(mean, threshold, flag):
    got, reason = needs_review(mean, threshold, "stable")
    assert got is flag
    assert ("low confidence" in reason) is flag
    assert (reason == "") is (not flag)


def test_band_width_is_a_parameter():
    assert needs_review(0.58, 0.5, "stable", band=0.1)[0]
    assert not needs_review(0.58, 0.5, "stable")[0]
    assert not needs_review(0.5, 0.5, "stable", band=0.0)[0]
    with pytest.raises(ValueError, match="band"):
        needs_review(0.5, 0.5, "stable", band=-0.1)
    with pytest.raises(ValueError, match="threshold"):
        needs_review(0.5, math.nan, "stable")


@pytest.mark.parametrize(
    ("kind", "flag"),
    [("stable", False), ("irregular", False), ("unstable", True), ("indeterminate", True)],
)
def test_sign_types_of_the_decision_matrix(kind, flag):
    for mean in (0.05, 0.95):  # whatever the prediction
        got, reason = needs_review(mean, 0.5, kind)
        assert got is flag
        assert (kind in reason) is flag


def test_several_reasons_are_joined():
    got, reason = needs_review(0.51, 0.5, "indeterminate")
    assert got and "low confidence" in reason and "indeterminate" in reason and "; " in reason


def test_no_face_needs_review():
    assert needs_review(math.nan, 0.5, "stable") == (True, "no face")
    assert needs_review(None, 0.5, None) == (True, "no face")


def test_unknown_sign_type_is_refused():
    with pytest.raises(ValueError, match="sign type"):
        needs_review(0.9, 0.5, "wobbly")


# --- summary.json ------------------------------------------------------------------------


def _window(t0, mean, sign_type, threshold=0.5):
    return WindowMetrics(t0, t0 + 20.0, mean, mean >= threshold, 1.0, 2, sign_type, "no action")


def _analysis(signs: dict) -> Analysis:
    nan = float("nan")
    records = [
        FrameRecord(
            i,
            i / 10,
            True,
            (0.0, 0.0, 1.0, 1.0),
            dict.fromkeys(ACTIONS, 0.0),
            dict.fromkeys(signs, 0.5),
        )
        for i in range(3)
    ]
    analysis = Analysis(VideoInfo(Path("clip.mp4"), 10.0, 3, 8, 8), records, [])
    for name, (whole, windows) in signs.items():
        p = np.full(3, nan if whole is None else whole.mean)
        analysis.signs[name] = ScorerSign(name, name.upper(), 0.5, p, p, p, whole, windows, [])
    return analysis


def test_summary_carries_the_review_flag(tmp_path):
    windows = [
        _window(0.0, 0.9, "stable"),
        _window(1.0, 0.52, "stable"),
        _window(2.0, 0.1, "unstable"),
        _window(3.0, 0.2, "irregular"),
    ]
    analysis = _analysis(
        {
            "a": (_window(0.0, 0.9, "stable"), windows),
            "b": (_window(0.0, 0.48, "irregular"), windows[:1]),
            "gone": (None, []),
        }
    )
    data = write_summary_json(analysis, tmp_path / "summary.json")
    assert json.loads((tmp_path / "summary.json").read_text()) == data
    a, b, gone = (data["scorers"][k] for k in ("a", "b", "gone"))
    # existing keys are untouched
    assert a["windows"][0].keys() >= {"t0", "t1", "mean", "entropy", "crossings", "sign_type"}
    assert a["mean"] == 0.9 and a["sign_type"] == "stable" and a["action"] == "no action"
    assert [w["needs_review"] for w in a["windows"]] == [False, True, True, False]
    assert [bool(w["review_reason"]) for w in a["windows"]] == [False, True, True, False]
    assert "unstable" in a["windows"][2]["review_reason"]
    assert (a["needs_review"], a["review_reason"]) == (False, "")
    assert b["needs_review"] and "low confidence" in b["review_reason"]
    assert (gone["needs_review"], gone["review_reason"]) == (True, "no face")
    assert gone["mean"] is None and gone["windows"] == []


def test_summary_of_a_real_analysis_has_the_keys(tmp_path, detector, landmarker):
    from synthetic import render_video

    from painsign.analysis.frames import FrameAnalyzer
    from painsign.analysis.replay import SignSettings, analyze_video
    from painsign.scoring.nfcs import NfcsScorer
    from painsign.vision.tracker import FaceTracker

    video = tmp_path / "rest.mp4"
    render_video(video, [], 1.5, 10.0)
    analyzer = FrameAnalyzer(FaceTracker(detector, landmarker), [NfcsScorer(calibration_s=0.5)])
    analysis = analyze_video(video, analyzer, SignSettings(window_s=1.0, step_s=0.5))
    nfcs = summary(analysis)["scorers"]["nfcs"]
    assert nfcs["windows"]
    for entry in (nfcs, *nfcs["windows"]):
        assert isinstance(entry["needs_review"], bool)
        assert isinstance(entry["review_reason"], str)
        assert (
            entry["needs_review"]
            is needs_review(entry["mean"], nfcs["threshold"], entry["sign_type"])[0]
        )
