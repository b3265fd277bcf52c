"""The demo video's clean rendering (painsign.synth, ``clean=True``) on its base face."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial import Delaunay

from painsign.synth.animator import FrameTruth
from painsign.synth.expressions import ACTIONS, displacements
from painsign.synth.scenarios import CRY, GRIMACE, animator_for
from painsign.synth.warp import _signed_area

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture(scope="module")
def animator(detector, landmarker):
    from painsign.vision.tracker import FaceTracker

    image = cv2.imread(str(ASSETS / "grace_hopper.jpg"))
    return animator_for(image[:480, 21:501].copy(), FaceTracker(detector, landmarker), clean=True)


def _turned(warp, moved) -> int:
    """How many triangles of the warp ``moved`` turns over (fold the picture)."""
    dest = np.vstack([moved, warp.ring])
    simplices = Delaunay(dest).simplices
    return int(((_signed_area(dest, simplices) * _signed_area(warp.source, simplices)) < 0).sum())


def test_clean_rest_frame_is_the_photo(animator):
    frame = animator.frame(FrameTruth(0.0, dict.fromkeys(ACTIONS, 0.0), False, False))
    assert np.array_equal(frame, animator.image)


@pytest.mark.parametrize("actions", [GRIMACE, CRY], ids=["grimace", "cry"])
def test_clean_frames_do_not_fold(animator, actions):
    rest = animator.rest
    plain = rest + displacements(rest, actions, 0.1)
    assert _turned(animator._warp, plain) > 0  # what the clean rendering is for
    moved = animator._warp.untangle(rest + displacements(rest, actions, 0.1, clean=True))
    assert _turned(animator._warp, moved) == 0
    # The actions still move the face: the lids, brows and lips travel several pixels.
    assert np.abs(moved - rest).max() > 5.0


def test_clean_changes_only_how_actions_combine(animator):
    rest = animator.rest
    for actions in (GRIMACE, CRY):
        assert not np.allclose(
            displacements(rest, actions, 0.2, clean=True), displacements(rest, actions, 0.2)
        )
    one = {"lip_purse": 0.7}  # one action other than the brows: nothing to combine
    np.testing.assert_allclose(displacements(rest, one, clean=True), displacements(rest, one))
