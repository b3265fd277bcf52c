"""Render assets/demo_grimace.mp4 from assets/grace_hopper.jpg (run: make demo-video).

The base face is neutral at rest (see assets/README.md for where the photo comes from):
a smiling face would read as content to expression models at every frame. The 512x600
portrait is cropped to 480x480 about the face (the cap to the collar), unscaled, to keep
the video small.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from painsign.synth.scenarios import make_demo_video

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "assets" / "grace_hopper.jpg"
#: The crop of the portrait: left, top, size (pixels).
CROP = (21, 0, 480)


def main() -> int:
    image = cv2.imread(str(BASE))
    if image is None:
        print(f"cannot read {BASE}", file=sys.stderr)
        return 1
    x, y, size = CROP
    image = image[y : y + size, x : x + size].copy()
    out = REPO / "assets" / "demo_grimace.mp4"
    n = make_demo_video(image, out)
    print(f"{out}: {n} frames, {out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
