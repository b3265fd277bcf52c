"""Synthetic expression videos of real faces, made by the tests.

Two base faces: scikit-image's astronaut, who smiles at rest (the NFCS proxy's own tests,
which learn her rest face), and matplotlib's portrait of Grace Hopper, neutral at rest, for
the default pain score, whose expression network rightly reads any warp of a smiling face
as a smile.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
from skimage import data

from painsign.synth.animator import FaceAnimator, Segment, write_video
from painsign.synth.scenarios import animator_for


@functools.cache
def astronaut_animator() -> FaceAnimator:
    """The astronaut's face, ready to animate (models loaded once per test session)."""
    return animator_for(np.ascontiguousarray(data.astronaut()[:, :, ::-1]))


@functools.cache
def neutral_animator() -> FaceAnimator:
    """Grace Hopper's face (neutral at rest; public domain, matplotlib's sample data)."""
    import cv2
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return animator_for(cv2.imread(str(path)))


def render(segments: list[Segment], duration: float, fps: float, animator=None):
    """Return ``(truths, frames)`` lists for a scenario (the astronaut by default)."""
    pairs = list((animator or astronaut_animator()).render(segments, fps, duration))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def render_video(path, segments: list[Segment], duration: float, fps: float,
                 animator=None):
    """Write a scenario to an MP4 file; return the injected truths."""
    truths, frames = render(segments, duration, fps, animator)
    h, w = frames[0].shape[:2]
    write_video(path, frames, fps, (w, h))
    return truths


def write_vfr_video(path, frames: list[np.ndarray], times: list[float]) -> None:
    """Write BGR frames at the given time stamps (variable frame rate) with PyAV."""
    import av

    h, w = frames[0].shape[:2]
    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = tb
        for frame, t in zip(frames, times, strict=True):
            vf = av.VideoFrame.from_ndarray(frame, format="bgr24")
            vf.pts = round(t * 1000)
            vf.time_base = tb
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
