"""Video tracking: re-detection schedule, lost and found again, the one patient face."""

from __future__ import annotations

import numpy as np
from conftest import ASTRONAUT_FACE, compose_two_faces, iou

from painsign.vision.tracker import FaceTracker, select_patient
from painsign.vision.types import Detection


class CountingDetector:
    """Wraps the real detector and counts calls."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def detect_rgb(self, rgb):
        self.calls += 1
        return self.inner.detect_rgb(rgb)


def _det(box, score=0.9):
    return Detection(np.array(box, np.float32), score, np.zeros((6, 2), np.float32))


def test_select_patient_prefers_track_then_largest():
    small, big = _det([0, 0, 10, 10]), _det([50, 50, 90, 90])
    assert select_patient([], None) == (None, False)
    assert select_patient([small, big], None) == (big, False)
    assert select_patient([small, big], np.array([1, 1, 11, 11])) == (small, True)
    assert select_patient([small, big], np.array([200, 200, 220, 220])) == (big, False)


def test_tracks_without_redetecting_every_frame(detector, landmarker, astronaut_bgr):
    counting = CountingDetector(detector)
    tracker = FaceTracker(counting, landmarker, redetect_every=10)
    results = [tracker.process(astronaut_bgr) for _ in range(25)]
    assert all(r.found for r in results)
    assert [i for i, r in enumerate(results) if r.detected] == [0, 10, 20]
    assert counting.calls == 3
    assert all(iou(r.box, ASTRONAUT_FACE) > 0.5 for r in results)


def test_blacked_out_sequence_loses_then_finds_the_face(tracker, astronaut_bgr):
    black = np.zeros_like(astronaut_bgr)
    frames = [astronaut_bgr] * 4 + [black] * 4 + [astronaut_bgr] * 4
    results = [tracker.process(f) for f in frames]
    assert [r.found for r in results] == [True] * 4 + [False] * 4 + [True] * 4
    assert results[4].detected  # losing the track triggers a detection in the same frame
    assert results[8].detected and iou(results[8].box, ASTRONAUT_FACE) > 0.5
    assert not results[9].detected


def test_face_moving_through_frames_is_followed(tracker, astronaut_bgr):
    boxes = []
    for dx in range(0, 60, 6):
        frame = np.roll(astronaut_bgr, dx, axis=1)
        r = tracker.process(frame)
        assert r.found
        boxes.append(r.box)
    shifts = [b[0] - boxes[0][0] for b in boxes]
    np.testing.assert_allclose(shifts, np.arange(0, 60, 6), atol=6)


def test_larger_face_is_the_patient(tracker, face_crop_bgr):
    scene, big, _small = compose_two_faces(face_crop_bgr)
    result = tracker.process(scene)
    assert result.found
    cx = (result.box[0] + result.box[2]) / 2
    assert big[0] < cx < big[2]
    assert len(result.others) == 1
    faces = tracker.analyse_image(scene)
    assert len(faces) == 2 and faces[0].detection.area > faces[1].detection.area


def test_track_is_kept_when_a_larger_face_appears(detector, landmarker, face_crop_bgr):
    scene, _big, small = compose_two_faces(face_crop_bgr)
    only_small = scene.copy()
    only_small[:, : small[0] - 10] = 90
    tracker = FaceTracker(detector, landmarker, redetect_every=2)
    for _ in range(3):
        r = tracker.process(only_small)
        assert r.found
    for _ in range(5):  # a visitor's larger face enters; re-detection runs twice
        r = tracker.process(scene)
        assert r.found
        cx = (r.box[0] + r.box[2]) / 2
        assert small[0] < cx < small[2]


def test_reset_forgets_the_track(tracker, astronaut_bgr):
    tracker.process(astronaut_bgr)
    assert tracker.tracking
    tracker.reset()
    assert not tracker.tracking
    assert tracker.process(astronaut_bgr).detected
