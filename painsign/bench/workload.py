"""The bench's input: a 640x480, 30-fps video of the animated demo face, made once."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from painsign.assets import asset_path
from painsign.synth.animator import Segment, write_video
from painsign.synth.scenarios import CRY, GRIMACE, animator_for

SIZE = (640, 480)
FPS = 30.0
CYCLE_S = 20.0


def cache_dir() -> Path:
    """Where bench inputs are kept between runs (``$XDG_CACHE_HOME/painsign``)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(root) / "painsign" / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def bench_video(seconds: float = 60.0, folder: Path | None = None) -> Path:
    """Return a ``seconds``-long 640x480 30-fps MP4 of the demo face (rendered if missing).

    The astronaut photo sits in a 640x480 frame; the face rests, grimaces and cries in
    a 20-s cycle, repeated, so the signal pipeline sees real surges.
    """
    path = (folder or cache_dir()) / f"bench_{int(seconds)}s_640x480.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    photo = cv2.imread(str(asset_path("astronaut.jpg")))
    canvas = np.full((SIZE[1], SIZE[0], 3), 60, np.uint8)
    y0, x0 = (SIZE[1] - 480) // 2, (SIZE[0] - 480) // 2
    canvas[y0 : y0 + 480, x0 : x0 + 480] = cv2.resize(
        photo, (480, 480), interpolation=cv2.INTER_AREA
    )
    animator = animator_for(canvas)
    # One 20-s cycle (rest, grimace, rest, cry) rendered once and repeated.
    segments = [Segment(5, 9, GRIMACE, ramp_s=0.4), Segment(13, 17, CRY, ramp_s=0.4)]
    cycle = [f for _, f in animator.render(segments, FPS, min(seconds, CYCLE_S))]
    n = round(seconds * FPS)
    tmp = path.with_suffix(".part.mp4")
    write_video(tmp, (cycle[i % len(cycle)] for i in range(n)), FPS, SIZE)
    tmp.replace(path)
    return path
