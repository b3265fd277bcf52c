"""BlazeFace detection on real images: decoding, NMS, letterbox mapping, input handling."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import ASTRONAUT_FACE, compose_two_faces, iou

from painsign.errors import InputError
from painsign.vision.anchors import FULL_RANGE, SHORT_RANGE, ssd_anchors
from painsign.vision.detector import FaceDetector, weighted_nms


def test_anchor_counts_and_order():
    short = ssd_anchors(**SHORT_RANGE)
    full = ssd_anchors(**FULL_RANGE)
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # first grid of the short-range model: 16x16 cells, two anchors per cell, row-major
    np.testing.assert_allclose(short[0], short[1])
    np.testing.assert_allclose(short[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(short[512], [0.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(full[48], [0.5 / 48, 1.5 / 48])


def test_weighted_nms_merges_by_score():
    boxes = np.array(
        [
            [0.0, 0.0, 10.0, 10.0, 1.0, 1.0],
            [2.0, 0.0, 12.0, 10.0, 3.0, 1.0],  # IoU 0.67 with the first: merged
            [50.0, 50.0, 60.0, 60.0, 55.0, 55.0],  # far away: its own face
        ]
    )
    scores = np.array([0.9, 0.3, 0.6])
    out = weighted_nms(boxes, scores, 0.3)
    assert [s for _, s in out] == [0.9, 0.6]
    np.testing.assert_allclose(out[0][0], (0.9 * boxes[0] + 0.3 * boxes[1]) / 1.2)
    np.testing.assert_allclose(out[1][0], boxes[2])


@pytest.mark.parametrize("kind", ["full_range", "short_range"])
def test_astronaut_face_found(kind, store, astronaut_rgb):
    faces = FaceDetector(kind, store=store).detect(astronaut_rgb, order="rgb")
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.8
    assert iou(face.box, ASTRONAUT_FACE) >= 0.5
    right_eye, left_eye, nose, mouth = face.keypoints[:4]
    assert right_eye[0] < nose[0] < left_eye[0]  # subject's right eye is on image left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]


def test_detector_reports_provider(detector):
    assert detector.provider in ("CPUExecutionProvider", "CUDAExecutionProvider")


def test_no_face_in_a_photo_without_people(detector, no_face_bgr):
    assert detector.detect(no_face_bgr) == []
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []


def test_two_faces_both_found(detector, face_crop_bgr):
    scene, big, small = compose_two_faces(face_crop_bgr)
    faces = detector.detect(scene)
    assert len(faces) == 2
    centres = sorted(((f.box[0] + f.box[2]) / 2) for f in faces)
    assert big[0] < centres[0] < big[2] and small[0] < centres[1] < small[2]


def test_colour_orders_agree(detector, astronaut_rgb, astronaut_bgr):
    a = detector.detect(astronaut_rgb, order="rgb")[0]
    b = detector.detect(astronaut_bgr, order="bgr")[0]
    np.testing.assert_allclose(a.box, b.box, atol=1e-3)


@pytest.mark.parametrize(
    "variant", ["gray", "gray1", "rgba", "mirrored_view", "strided", "float", "uint16"]
)
def test_input_variants(detector, astronaut_rgb, variant):
    img, expect = astronaut_rgb, ASTRONAUT_FACE
    if variant == "gray":
        img = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY)
    elif variant == "gray1":
        img = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY)[:, :, None]
    elif variant == "rgba":
        img = np.dstack([astronaut_rgb, np.full(astronaut_rgb.shape[:2], 255, np.uint8)])
    elif variant == "mirrored_view":
        img = astronaut_rgb[:, ::-1]  # non-contiguous view
        expect = (
            512 - ASTRONAUT_FACE[2],
            ASTRONAUT_FACE[1],
            512 - ASTRONAUT_FACE[0],
            ASTRONAUT_FACE[3],
        )
    elif variant == "strided":
        img = astronaut_rgb[::2, ::2]
        expect = tuple(v / 2 for v in ASTRONAUT_FACE)
    elif variant == "float":
        img = astronaut_rgb.astype(np.float32) / 255.0
    elif variant == "uint16":
        img = astronaut_rgb.astype(np.uint16) * 257
    assert not (variant == "mirrored_view" and img.flags.c_contiguous)
    faces = detector.detect(img, order="rgb")
    assert len(faces) == 1 and iou(faces[0].box, expect) >= 0.5


def test_huge_image_maps_back_to_its_pixels(detector, astronaut_rgb):
    huge = cv2.resize(astronaut_rgb, (4096, 4096), interpolation=cv2.INTER_LINEAR)
    faces = detector.detect(huge, order="rgb")
    assert len(faces) == 1
    assert iou(faces[0].box, [v * 8 for v in ASTRONAUT_FACE]) >= 0.5


def test_non_square_image_letterbox(detector, astronaut_rgb):
    wide = np.zeros((512, 1200, 3), np.uint8)
    wide[:, 600:1112] = astronaut_rgb
    faces = detector.detect(wide, order="rgb")
    shifted = (
        ASTRONAUT_FACE[0] + 600,
        ASTRONAUT_FACE[1],
        ASTRONAUT_FACE[2] + 600,
        ASTRONAUT_FACE[3],
    )
    assert len(faces) == 1 and iou(faces[0].box, shifted) >= 0.5


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5), (2, 300, 3)])
def test_tiny_images_give_no_face(detector, shape):
    assert detector.detect(np.full(shape, 128, np.uint8)) == []


def test_invalid_inputs_are_refused_clearly(detector):
    with pytest.raises(TypeError, match="numpy array"):
        detector.detect([[1, 2], [3, 4]])
    with pytest.raises(InputError, match="empty"):
        detector.detect(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(InputError, match="shape"):
        detector.detect(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(InputError, match="dtype"):
        detector.detect(np.zeros((10, 10, 3), np.complex64))
    with pytest.raises(InputError, match="order"):
        detector.detect(np.zeros((10, 10, 3), np.uint8), order="hsv")
