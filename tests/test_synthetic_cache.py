"""The session cache of tests/synthetic.py gives the renderer's own frames and private files."""

from __future__ import annotations

import numpy as np
from synthetic import WarpMemo, neutral_animator, render, render_video

from painsign.synth.animator import FaceAnimator, Segment
from painsign.synth.scenarios import CRY

# rest, a ramped cry (chin quiver: the mesh moves with time), a hand over the face, away
SCENARIO = [
    Segment(0.4, 1.2, CRY, ramp_s=0.2),
    Segment(1.2, 1.6, occluded=True, ramp_s=0.0),
    Segment(1.6, 2.0, away=True, ramp_s=0.0),
]


def test_memoized_frames_are_the_renderers_frames_and_each_call_owns_its_own():
    memo = neutral_animator()
    assert isinstance(memo._warp, WarpMemo)
    plain = FaceAnimator(memo.image, memo.rest)  # the same face, warping every frame
    truths, frames = render(SCENARIO, 2.0, 10.0, memo)
    again_truths, again = render(SCENARIO, 2.0, 10.0, memo)
    want_truths, want = render(SCENARIO, 2.0, 10.0, plain)
    assert truths == again_truths == want_truths and len(frames) == 20
    for got, second, expected in zip(frames, again, want, strict=True):
        assert np.array_equal(got, expected) and np.array_equal(second, expected)
        assert not np.shares_memory(got, second)
    assert not np.shares_memory(frames[0], frames[1])  # both rest, drawn on separately


def test_render_video_gives_each_caller_its_own_file(tmp_path):
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    truths = render_video(first, SCENARIO, 2.0, 10.0, neutral_animator())
    data = first.read_bytes()
    first.write_bytes(data[: len(data) // 2])  # a test damages its copy
    assert render_video(second, SCENARIO, 2.0, 10.0, neutral_animator()) == truths
    assert second.read_bytes() == data and len(truths) == 20
    other = tmp_path / "c.mp4"
    render_video(other, SCENARIO[:1], 2.0, 10.0, neutral_animator())
    assert other.read_bytes() != data  # another scenario is another video
