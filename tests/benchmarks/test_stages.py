"""pytest-benchmark suite (``make bench``; skipped by ``make test``): per-stage timings."""

from __future__ import annotations

import numpy as np
import pytest

from painsign.scoring.base import FaceFrame
from painsign.scoring.nfcs import NfcsScorer
from painsign.signal import SignStream
from painsign.vision.image import to_rgb
from painsign.vision.landmarks import roi_from_detection


@pytest.fixture(scope="module")
def frame640(astronaut_bgr):
    canvas = np.full((480, 640, 3), 60, np.uint8)
    canvas[:, 80:560] = astronaut_bgr[16:496, 16:496]
    return canvas


def test_to_rgb_640x480(benchmark, frame640):
    benchmark(to_rgb, frame640)


def test_detector_full_range(benchmark, detector, frame640):
    rgb = to_rgb(frame640)
    assert benchmark(detector.detect_rgb, rgb)


def test_face_mesh(benchmark, detector, landmarker, frame640):
    rgb = to_rgb(frame640)
    roi = roi_from_detection(detector.detect_rgb(rgb)[0])
    mesh = benchmark(landmarker.landmarks, rgb, roi)
    assert mesh.presence > 0.5


def test_tracked_frame(benchmark, tracker, frame640):
    tracker.process(frame640)
    assert benchmark(tracker.process, frame640).found


def test_nfcs_score(benchmark, tracker, frame640):
    rgb = to_rgb(frame640)
    face = tracker.process_rgb(rgb)
    scorer = NfcsScorer(calibration_s=0)
    scorer.calibrate([FaceFrame(rgb, face, 0.0)])
    assert np.isfinite(benchmark(scorer.score, FaceFrame(rgb, face, 1.0)).p)


def test_signal_push(benchmark):
    stream = SignStream(fps=30.0)
    t = iter(np.arange(10_000_000) / 30.0)
    benchmark(lambda: stream.push(next(t), 0.3))


@pytest.mark.parametrize("through", ["four channels", "cv2.warpAffine"])
def test_mesh_crop(benchmark, detector, frame640, through, monkeypatch):
    # warp_linear against OpenCV's three-channel warp (177 against 91 + 15 us measured
    # for a 192x192 crop on OpenCV 5.0): the same pixels, see tests/test_warps.py.
    import cv2

    from painsign.vision import geometry
    from painsign.vision.landmarks import crop_face

    if through == "cv2.warpAffine":
        monkeypatch.setattr(
            geometry,
            "warp_linear",
            lambda image, m, size, border: cv2.warpAffine(
                image, m, size, flags=cv2.INTER_LINEAR, borderMode=border
            ),
        )
    rgb = to_rgb(frame640)
    roi = roi_from_detection(detector.detect_rgb(rgb)[0])
    assert benchmark(crop_face, rgb, roi).shape == (192, 192, 3)
