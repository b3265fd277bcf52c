"""Synthetic expression videos of real faces, made by the tests.

Two base faces: scikit-image's astronaut, who smiles at rest (the NFCS proxy's own tests,
which learn her rest face), and matplotlib's portrait of Grace Hopper, neutral at rest, for
the default pain score, whose expression network rightly reads any warp of a smiling face
as a smile.

Rendering is the slow part of many tests (a piecewise-affine warp per frame), so each
animator remembers the warps it made during the test session (:class:`WarpMemo`, keyed by
the exact mesh it was asked for), and :func:`render_video` encodes a scenario once per
session and hands each caller its own copy. Nothing is kept across sessions: a change in
the renderer always shows in the next run.
"""

from __future__ import annotations

import functools
import shutil
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import numpy as np
from skimage import data

from painsign.synth.animator import FaceAnimator, Segment, write_video
from painsign.synth.scenarios import animator_for

#: Where :func:`render_video` keeps the videos it encoded; the session fixture in
#: conftest.py points it into pytest's temporary folder.
video_cache_dir: Path | None = None
_videos: dict[tuple, tuple[Path, list]] = {}


class WarpMemo:
    """A :class:`~painsign.synth.warp.PiecewiseAffineWarp` that remembers its results.

    The warp is a pure function of the mesh it is given, so the same pose (the rest face
    before every scenario's first action, a held grimace) is warped once per session; every
    call gets its own copy, which the animator may draw on.

    Parameters
    ----------
    warp : PiecewiseAffineWarp
        The animator's warp.
    size : int
        Most images kept (least recently used go first); about 1 MB each.
    """

    def __init__(self, warp, size: int = 600):
        self._inner = warp
        self._size = size
        self._images: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def __getattr__(self, name):
        if name == "_inner":  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self._inner, name)

    def warp(self, moved: np.ndarray) -> np.ndarray:
        """Return a copy of ``self._inner.warp(moved)``, warping only unseen meshes."""
        moved = np.ascontiguousarray(moved, dtype=np.float64)
        key = moved.shape, moved.tobytes()
        image = self._images.get(key)
        if image is None:
            image = self._inner.warp(moved)
            self._images[key] = image
            if len(self._images) > self._size:
                self._images.popitem(last=False)
        else:
            self._images.move_to_end(key)
        return image.copy()


def _memoized(animator: FaceAnimator) -> FaceAnimator:
    animator._warp = WarpMemo(animator._warp)
    return animator


@functools.cache
def astronaut_animator() -> FaceAnimator:
    """The astronaut's face, ready to animate (models loaded once per test session)."""
    return _memoized(animator_for(np.ascontiguousarray(data.astronaut()[:, :, ::-1])))


@functools.cache
def neutral_animator() -> FaceAnimator:
    """Grace Hopper's face (neutral at rest; public domain, matplotlib's sample data)."""
    import cv2
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return _memoized(animator_for(cv2.imread(str(path))))


def render(segments: list[Segment], duration: float, fps: float, animator=None):
    """Return ``(truths, frames)`` lists for a scenario (the astronaut by default)."""
    pairs = list((animator or astronaut_animator()).render(segments, fps, duration))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def render_video(path, segments: list[Segment], duration: float, fps: float, animator=None):
    """Write a scenario to an MP4 file; return the injected truths.

    The first call with given parameters encodes the video into :data:`video_cache_dir`
    (when set); every call copies it to ``path``, which is the caller's to change.
    """
    animator = animator or astronaut_animator()
    suffix = Path(path).suffix  # OpenCV picks the container by the name
    key = (animator, repr(segments), float(duration), float(fps), suffix)
    if key not in _videos:
        truths, frames = render(segments, duration, fps, animator)
        h, w = frames[0].shape[:2]
        if video_cache_dir is None:
            write_video(path, frames, fps, (w, h))
            return truths
        cached = video_cache_dir / f"{len(_videos)}{suffix}"
        write_video(cached, frames, fps, (w, h))
        _videos[key] = cached, truths
    cached, truths = _videos[key]
    shutil.copyfile(cached, path)
    return list(truths)


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
