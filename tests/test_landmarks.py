"""The 468-point mesh on real faces: placement, rotation, presence."""

from __future__ import annotations

import cv2
import numpy as np
from conftest import ASTRONAUT_FACE

from painsign.vision.geometry import RotatedRect, square_rect
from painsign.vision.image import to_rgb
from painsign.vision.landmarks import roi_from_detection, roi_from_landmarks

# Face Mesh indices: eye centres approximated by upper/lower lid points, nose tip, lips.
RIGHT_EYE = (159, 145)
LEFT_EYE = (386, 374)
NOSE_TIP = 1
UPPER_LIP, LOWER_LIP = 13, 14
CHIN = 152


def _mesh_for(detector, landmarker, rgb):
    det = detector.detect(rgb, order="rgb")[0]
    return landmarker.landmarks(rgb, roi_from_detection(det))


def _check_face_layout(points):
    eyes_y = max(points[list(RIGHT_EYE), 1].mean(), points[list(LEFT_EYE), 1].mean())
    assert eyes_y < points[NOSE_TIP, 1] < points[UPPER_LIP, 1] < points[CHIN, 1]
    assert (
        points[list(RIGHT_EYE), 0].mean() < points[NOSE_TIP, 0] < points[list(LEFT_EYE), 0].mean()
    )


def test_mesh_on_astronaut(detector, landmarker, astronaut_rgb):
    mesh = _mesh_for(detector, landmarker, astronaut_rgb)
    assert mesh.points.shape == (468, 3)
    assert mesh.presence > 0.9
    _check_face_layout(mesh.points)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    inside = (
        (mesh.points[:, 0] > x1 - 15)
        & (mesh.points[:, 0] < x2 + 15)
        & (mesh.points[:, 1] > y1 - 25)
        & (mesh.points[:, 1] < y2 + 15)
    )
    assert inside.mean() > 0.98


def test_mesh_follows_a_rotated_face(detector, landmarker, astronaut_rgb):
    upright = _mesh_for(detector, landmarker, astronaut_rgb)
    centre = (256.0, 256.0)
    rot = cv2.getRotationMatrix2D(centre, 35.0, 1.0)  # counter-clockwise on screen
    turned = cv2.warpAffine(astronaut_rgb, rot, (512, 512), borderMode=cv2.BORDER_REFLECT)
    mesh = _mesh_for(detector, landmarker, turned)
    assert mesh.presence > 0.9
    # the crop is levelled on the eyes, so the mesh's own eye line follows the turn
    expected = np.c_[upright.points[:, :2], np.ones(468)] @ rot.T
    err = np.linalg.norm(mesh.points[:, :2] - expected, axis=1)
    assert np.median(err) < 4.0
    assert abs(np.degrees(mesh.roi.angle) + 35.0) < 6.0


def test_tracking_roi_stays_on_the_face(detector, landmarker, astronaut_rgb):
    mesh = _mesh_for(detector, landmarker, astronaut_rgb)
    again = landmarker.landmarks(astronaut_rgb, roi_from_landmarks(mesh.points))
    assert again.presence > 0.9
    assert np.median(np.linalg.norm(again.points[:, :2] - mesh.points[:, :2], axis=1)) < 3.0


def test_presence_low_without_a_face(landmarker, no_face_bgr):
    rgb = to_rgb(no_face_bgr)
    mesh = landmarker.landmarks(rgb, square_rect((200.0, 150.0), 150.0))
    assert mesh.presence < 0.5


def test_rotated_rect_round_trip():
    rect = RotatedRect(100.0, 50.0, 40.0, 20.0, np.radians(30))
    m = rect.affine_to(192, 96)
    corners = rect.corners()
    mapped = np.c_[corners, np.ones(4)] @ m.T
    np.testing.assert_allclose(mapped, [[0, 0], [192, 0], [192, 96], [0, 96]], atol=1e-9)
