"""Shared fixtures: real images (scikit-image's public-domain astronaut) and loaded models."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Test modules may import onnxruntime before painsign: no telemetry in tests either.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import signal

import cv2
import numpy as np
import pytest
from skimage import data

# A shell starts a background job (`make test &`, nohup) with SIGINT ignored, and every
# painsign process a test starts would inherit that: the tests that press Ctrl+C (send
# SIGINT) then fail though painsign is right to keep ignoring it. Python's own handler
# here is reset to the default in each child at exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: Where the astronaut's face is, by eye (x1, y1, x2, y2), from the issue.
ASTRONAUT_FACE = (173.0, 68.0, 279.0, 175.0)


@pytest.fixture(scope="session", autouse=True)
def synthetic_video_cache(tmp_path_factory):
    """Let tests/synthetic.py keep the videos it encodes for this session (and no longer)."""
    import synthetic

    synthetic.video_cache_dir = tmp_path_factory.mktemp("synthetic-videos")
    yield synthetic.video_cache_dir
    synthetic.video_cache_dir = None
    synthetic._videos.clear()


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """The astronaut photo, (512, 512, 3) RGB uint8."""
    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_bgr(astronaut_rgb) -> np.ndarray:
    """The astronaut photo in OpenCV's BGR order."""
    return np.ascontiguousarray(astronaut_rgb[:, :, ::-1])


@pytest.fixture(scope="session")
def no_face_bgr() -> np.ndarray:
    """A real photo without a face (scikit-image's coffee cup), BGR."""
    return np.ascontiguousarray(data.coffee()[:, :, ::-1])


@pytest.fixture(scope="session")
def face_crop_bgr(astronaut_bgr) -> np.ndarray:
    """The astronaut's head with some margin, for composing test scenes."""
    return astronaut_bgr[30:215, 140:315].copy()


def compose_two_faces(face_bgr: np.ndarray, big: float = 1.5, small: float = 0.9):
    """Return a scene with the same real face at two sizes and both face boxes' regions.

    Returns
    -------
    (numpy.ndarray, tuple, tuple)
        The BGR scene and the (x1, y1, x2, y2) regions where the big and small heads were
        pasted.
    """
    scene = np.full((420, 700, 3), 90, np.uint8)
    regions = []
    small_x = 700 - int(face_bgr.shape[1] * small) - 30
    for scale, (x, y) in ((big, (20, 40)), (small, (small_x, 90))):
        head = cv2.resize(face_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        h, w = head.shape[:2]
        scene[y : y + h, x : x + w] = head
        regions.append((x, y, x + w, y + h))
    return scene, regions[0], regions[1]


def iou(a, b) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


@pytest.fixture(scope="session")
def store():
    """The default model store (verified models)."""
    from painsign.model_store import ModelStore

    return ModelStore()


@pytest.fixture(scope="session")
def detector(store):
    """The default full-range detector."""
    from painsign.vision.detector import FaceDetector

    return FaceDetector("full_range", store=store)


@pytest.fixture(scope="session")
def landmarker(store):
    """The default face-mesh model."""
    from painsign.vision.landmarks import FaceLandmarker

    return FaceLandmarker(store=store)


@pytest.fixture()
def tracker(detector, landmarker):
    """A fresh tracker sharing the session's models."""
    from painsign.vision.tracker import FaceTracker

    return FaceTracker(detector, landmarker)
