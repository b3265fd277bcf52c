"""Faces that are faces: landmark confirmation, brief detections, small and close faces."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import iou
from painsign_cli import run_painsign

from painsign.analysis.frames import MIN_FACE_RUN_S, FaceConfirmation
from painsign.vision.detector import FaceDetector, merge_detections, same_face, tile_rects
from painsign.vision.tracker import FALLBACK_EVERY, FaceTracker
from painsign.vision.types import Detection

REALFACES = Path(__file__).resolve().parents[1].parent / "shared" / "realfaces"
needs_realfaces = pytest.mark.skipif(
    not (REALFACES / "multi_face.jpg").is_file(),
    reason=f"the real-face development set is not here ({REALFACES}); it is never part "
    "of the repository",
)
#: The astronaut's head (with hair and chin) in the 512x512 photo, and its face box.
HEAD = (slice(30, 215), slice(140, 315))
FACE_W = 106.0


def _det(box, score=0.9):
    box = np.array(box, np.float32)
    kp = np.array(
        [
            [box[0] + 0.3 * (box[2] - box[0]), box[1] + 0.4 * (box[3] - box[1])],
            [box[0] + 0.7 * (box[2] - box[0]), box[1] + 0.4 * (box[3] - box[1])],
        ]
        + [[0.0, 0.0]] * 4,
        np.float32,
    )
    return Detection(box, score, kp)


def _background(h, w, seed=0):
    """A smooth random texture, BGR uint8."""
    noise = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 6), None, 30, 220, cv2.NORM_MINMAX)


def _paste_head(canvas, astronaut_bgr, face_width, x, y):
    """Paste the astronaut's head so that her face is ``face_width`` px wide; return its box."""
    head = astronaut_bgr[HEAD]
    s = face_width / FACE_W
    head = cv2.resize(head, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    h, w = head.shape[:2]
    canvas[y : y + h, x : x + w] = head
    return (x + 33 * s, y + 38 * s, x + 139 * s, y + 145 * s)


# -- the confirmation rule --------------------------------------------------------------


def test_confirmation_needs_a_run_of_0_2_s():
    gate = FaceConfirmation()
    at30 = [gate.update(i / 30, True) for i in range(8)]
    assert at30 == [False] * 5 + [True] * 3  # 6 frames = 0.2 s at 30 fps
    gate.reset()
    at24 = [gate.update(i / 24, True) for i in range(6)]
    assert at24 == [False] * 4 + [True] * 2  # 5 frames = 0.21 s
    gate.reset()
    # At 5 fps one frame spans 0.2 s, but one or two frames never count.
    assert [gate.update(i / 5, True) for i in range(4)] == [False, False, True, True]


def test_confirmation_restarts_after_a_miss_a_jump_or_a_seek_back():
    gate = FaceConfirmation()
    assert [
        gate.update(i / 30, found) for i, found in enumerate([True] * 3 + [False] + [True] * 7)
    ] == [False] * 9 + [True] * 2
    gate.reset()
    for i in range(10):
        gate.update(i / 30, True)
    assert gate.update(10 / 30, True)
    assert not gate.update(2.0, True)  # 1.7 s later: a new run
    assert not gate.update(1.0, True)  # back in time (a seek): a new run
    assert MIN_FACE_RUN_S == pytest.approx(0.2)


# -- landmark confirmation and the fallback model in the tracker -------------------------


class FakeDetector:
    """Returns fixed detections and counts its calls."""

    def __init__(self, detections=()):
        self.detections = list(detections)
        self.calls = 0

    def detect_rgb(self, rgb):
        self.calls += 1
        return list(self.detections)


def test_detection_without_landmark_confirmation_is_no_face(landmarker, no_face_bgr):
    fake = FakeDetector([_det([100, 100, 250, 250], score=0.99)])
    tracker = FaceTracker(fake, landmarker, fallback=None)
    results = [tracker.process(no_face_bgr) for _ in range(3)]
    assert not any(r.found for r in results)
    assert all(len(r.others) == 1 for r in results)  # seen, and rejected
    assert tracker.analyse_image(no_face_bgr) == []


def test_a_confirmed_smaller_face_wins_over_a_rejected_larger_detection(
    detector, landmarker, astronaut_bgr
):
    real = detector.detect(astronaut_bgr)[0]
    bogus = _det([300, 250, 500, 500], score=0.99)  # larger, on the suit: no face there
    tracker = FaceTracker(FakeDetector([bogus, real]), landmarker, fallback=None)
    result = tracker.process(astronaut_bgr)
    assert result.found and result.detection is real


def test_fallback_runs_on_one_searching_frame_in_six(detector, landmarker, no_face_bgr):
    primary, backup = FakeDetector(), FakeDetector()
    tracker = FaceTracker(primary, landmarker, fallback=backup)
    for _ in range(13):
        assert not tracker.process(no_face_bgr).found
    assert primary.calls == 13
    assert FALLBACK_EVERY == 6 and backup.calls == 3  # frames 0, 6 and 12


def test_short_range_falls_back_to_full_range_for_a_small_face(store, landmarker, astronaut_bgr):
    canvas = _background(720, 1280)
    box = _paste_head(canvas, astronaut_bgr, 0.08 * 1280, 700, 300)
    short = FaceDetector("short_range", store=store)
    assert short.detect(canvas) == []  # short range cannot see a face 8 % of the width
    tracker = FaceTracker(short, landmarker)  # fallback "auto": full range
    assert tracker.fallback.kind == "full_range"
    result = tracker.process(canvas)
    assert result.found and iou(result.box, box) > 0.4


def test_full_range_falls_back_to_short_range_for_a_face_filling_the_picture(
    detector, landmarker, astronaut_bgr
):
    # The astronaut's face as wide as the frame: a baby's face close to the camera.
    x1, y1, x2 = 175.0, 70.0, 280.0
    scale = 640 / (x2 - x1)
    m = np.float32([[scale, 0, -x1 * scale], [0, scale, -(y1 - 20) * scale]])
    frame = cv2.warpAffine(astronaut_bgr, m, (640, 640), borderMode=cv2.BORDER_REPLICATE)
    assert detector.detect(frame) == []  # full range misses a face filling the picture
    tracker = FaceTracker(detector, landmarker)  # fallback "auto": short range
    assert tracker.fallback.kind == "short_range"
    assert tracker.process(frame).found


# -- still images: every face down to about 5 % of the width -----------------------------


def test_tiles_cover_the_image_with_overlap():
    tiles = tile_rects(1280, 960)
    assert len(tiles) == 4
    assert min(t[0] for t in tiles) == 0 and max(t[2] for t in tiles) == 1280
    assert min(t[1] for t in tiles) == 0 and max(t[3] for t in tiles) == 960
    assert tiles[1][0] < tiles[0][2]  # neighbours overlap


def test_merge_keeps_the_first_pass_and_adds_only_new_faces():
    a, b = _det([0, 0, 100, 100], 0.6), _det([300, 300, 340, 340], 0.7)
    half_of_a = _det([50, 0, 100, 100], 0.9)
    assert same_face(a.box, half_of_a.box) and not same_face(a.box, b.box)
    assert merge_detections([a], [half_of_a, b]) == [a, b]


def test_small_face_in_a_large_image_is_found(tracker, astronaut_bgr):
    canvas = _background(960, 1280, seed=3)
    box = _paste_head(canvas, astronaut_bgr, 0.06 * 1280, 420, 500)  # 77 px of 1280
    faces = tracker.analyse_image(canvas)
    assert len(faces) == 1
    assert iou(faces[0].box, box) > 0.4 and faces[0].landmarks.presence >= 0.5


@needs_realfaces
def test_all_five_faces_of_the_group_photo():
    r = run_painsign("detect", REALFACES / "multi_face.jpg", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    faces = json.loads(r.stdout)["faces"]
    assert len(faces) == 5
    boxes = [np.array(f["box"]) for f in faces]
    assert all(f["presence"] >= 0.5 for f in faces)
    assert not any(same_face(boxes[i], boxes[j], 0.2) for i in range(5) for j in range(i + 1, 5))
    widths = sorted(b[2] - b[0] for b in boxes)
    assert widths[0] < 0.1 * 1000  # the smallest is under a tenth of the width


@needs_realfaces
def test_group_photo_with_short_range_primary(store, landmarker):
    image = cv2.imread(str(REALFACES / "multi_face.jpg"))
    tracker = FaceTracker(FaceDetector("short_range", store=store), landmarker)
    assert len(tracker.analyse_image(image)) == 5


# -- painsign analyze: a brief face is no face; a face that stays makes a sign ----------


def _video(path, astronaut_bgr, face_frames, fps=25.0, seconds=5.0):
    """A faceless textured scene with a title; the astronaut's head in ``face_frames``."""
    h, w = 480, 640
    bg = _background(h, w, seed=7)
    cv2.putText(
        bg,
        "PAIN STUDY 2026 - bed 4",
        (40, 60),
        cv2.FONT_HERSHEY_DUPLEX,
        1.3,
        (255, 255, 255),
        3,
        cv2.LINE_AA,
    )
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(round(fps * seconds)):
        frame = bg.copy()
        cv2.putText(
            frame,
            f"00:00:{i / fps:05.2f}",
            (40, 440),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.0,
            (0, 0, 0),
            2,
            cv2.LINE_AA,
        )
        if i in face_frames:
            _paste_head(frame, astronaut_bgr, 180, 230, 120)
        writer.write(frame)
    writer.release()


def _analyze(video, out):
    r = run_painsign("analyze", video, "--out", out, "--quiet", "--no-figure")
    assert r.returncode == 0, r.stderr
    return r, json.loads((out / "summary.json").read_text())


def test_a_face_in_one_frame_of_a_faceless_video_is_no_face(tmp_path, astronaut_bgr):
    video = tmp_path / "title_card.mp4"
    _video(video, astronaut_bgr, face_frames={62})
    r, summary = _analyze(video, tmp_path / "out")
    assert summary["frames_face_unconfirmed"] >= 1  # the face was seen, and not counted
    assert summary["frames_with_face"] == 0
    assert "no face" in summary["note"] and f"{MIN_FACE_RUN_S:g} s" in summary["note"]
    nfcs = summary["scorers"]["nfcs"]
    assert nfcs["mean"] is None and nfcs["sign_type"] is None
    assert nfcs["needs_review"] and nfcs["review_reason"] == "no face"
    assert "no face" in r.stdout


def test_a_face_that_stays_makes_a_sign(tmp_path, astronaut_bgr):
    video = tmp_path / "visit.mp4"
    _video(video, astronaut_bgr, face_frames=set(range(50, 100)))  # 2 s of 5
    _, summary = _analyze(video, tmp_path / "out")
    assert 40 <= summary["frames_with_face"] <= 50
    assert summary["frames_face_unconfirmed"] <= 6
    nfcs = summary["scorers"]["nfcs"]
    assert nfcs["mean"] is not None and nfcs["review_reason"] != "no face"
