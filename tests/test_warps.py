"""The crops that feed the models: painsign's warps give OpenCV's own pixels, faster.

``warp_linear`` sends three-channel images through four channels (OpenCV 5.0 has no
vectorised three-channel path); the face mesh's crop and the NFCS canonical face use it.
These tests hold it to ``cv2.warpAffine``'s exact output on a real photo.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from painsign.scoring.nfcs_features import CANON_SIZE, canonical_face
from painsign.vision.geometry import RotatedRect, crop, warp_linear


def matrices(n: int, seed: int = 0):
    """Rotations, zooms in and out and shifts, some reaching past the photo's edges."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        angle, scale = rng.uniform(-0.8, 0.8), rng.uniform(0.2, 2.0)
        c, s = scale * np.cos(angle), scale * np.sin(angle)
        yield np.array([[c, -s, rng.uniform(-300, 100)], [s, c, rng.uniform(-300, 100)]])


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("border", [cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE])
def test_warp_linear_gives_opencvs_pixels(astronaut_rgb, channels, border):
    image = {
        1: cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY),
        3: astronaut_rgb,
        4: cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2RGBA),
    }[channels]
    for m in matrices(20):
        want = cv2.warpAffine(
            image, m, (192, 160), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0
        )
        got = warp_linear(image, m, (192, 160), border)
        assert got.shape == want.shape and got.dtype == np.uint8
        assert got.flags.c_contiguous
        assert np.array_equal(got, want)


def test_the_mesh_crop_is_opencvs_warp_of_the_region(astronaut_rgb):
    for i in range(10):
        rect = RotatedRect(256 + 5 * i, 200 - 3 * i, 150 + 10 * i, 150 + 10 * i, 0.1 * i - 0.5)
        got = crop(astronaut_rgb, rect, 192, 192, cv2.BORDER_REPLICATE)
        affine = rect.affine_to(192, 192)
        want = cv2.warpAffine(
            astronaut_rgb,
            affine,
            (192, 192),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        # crop() warps only the rect's bounding region: OpenCV computes the source
        # positions in float32, so a shifted origin rounds a few pixels by one level.
        assert np.abs(got.astype(int) - want).max() <= 1
        assert np.count_nonzero(got != want) <= 0.01 * got.size


def test_the_canonical_face_is_opencvs_three_channel_warp(landmarker, detector, astronaut_rgb):
    from painsign.scoring.nfcs_features import CANON_IOD, CANON_NOSE
    from painsign.vision.face_frame import FaceAxes
    from painsign.vision.landmarks import roi_from_detection

    roi = roi_from_detection(detector.detect(astronaut_rgb, order="rgb")[0])
    points = landmarker.landmarks(astronaut_rgb, roi).points
    got, _ = canonical_face(astronaut_rgb, points)
    axes = FaceAxes.from_points(points)
    a = np.vstack([axes.ex, axes.ey]) * (CANON_IOD / axes.iod)
    m = np.c_[a, np.asarray(CANON_NOSE) - a @ axes.origin]
    colour = cv2.warpAffine(
        astronaut_rgb,
        m,
        (CANON_SIZE, CANON_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    assert np.array_equal(got, cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY))
