"""Render assets/demo_grimace.mp4 from assets/astronaut.jpg (run: make demo-video)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

from painsign.synth.scenarios import make_demo_video

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    image = cv2.imread(str(REPO / "assets" / "astronaut.jpg"))
    out = REPO / "assets" / "demo_grimace.mp4"
    n = make_demo_video(image, out)
    print(f"{out}: {n} frames, {out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
