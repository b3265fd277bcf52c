"""Synthetic expression videos of the astronaut's real face, made by the tests."""

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


def render(segments: list[Segment], duration: float, fps: float):
    """Return ``(truths, frames)`` lists for a scenario."""
    pairs = list(astronaut_animator().render(segments, fps, duration))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def render_video(path, segments: list[Segment], duration: float, fps: float):
    """Write a scenario to an MP4 file; return the injected truths."""
    truths, frames = render(segments, duration, fps)
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
