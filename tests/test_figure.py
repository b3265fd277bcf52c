"""The sign figure's row of faces: every face kept, undistorted, in time order, beneath
the plot (the row is one axes drawn by hand, so it is checked in the PNG itself)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from painsign.analysis.figure import MAX_THUMBS, draw_sign_figure
from painsign.analysis.replay import analyze_video
from painsign.batch.job import AnalysisJob

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo_grimace.mp4"


@pytest.fixture(scope="module")
def analysis():
    job = AnalysisJob()
    return analyze_video(DEMO, job.analyzer(), job.sign_settings(), pipelined=False)


def blobs(png: np.ndarray, bgr: tuple[int, int, int]) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x, y, w, h) of the regions of exactly this colour, left to right."""
    mask = np.all(png == np.array(bgr, np.uint8), axis=2).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    boxes = [tuple(int(v) for v in stats[i, :4]) for i in range(1, n) if stats[i, 4] > 20]
    return sorted(boxes)


@pytest.mark.parametrize(
    ("count", "shape"), [(7, (64, 64)), (MAX_THUMBS + 25, (64, 64)), (5, (40, 80))]
)
def test_faces_row_shows_every_kept_face_undistorted_in_order(analysis, tmp_path, count, shape):
    t = analysis.t
    times = np.linspace(t[0], t[-1], count)
    # Faces of one colour each, alternating, so neighbours stay separate regions.
    colours = [(255, 0, 255), (0, 255, 255)]
    thumbs = []
    for k, tt in enumerate(times):
        img = np.zeros((*shape, 3), np.uint8)
        img[:] = colours[k % 2][::-1]  # thumbnails are RGB, the PNG is read as BGR
        thumbs.append((float(tt), img))
    path = tmp_path / "sign.png"
    draw_sign_figure(replace(analysis, thumbnails=thumbs), path)
    png = cv2.imread(str(path))
    found = sorted(blobs(png, colours[0]) + blobs(png, colours[1]))
    assert len(found) == min(count, MAX_THUMBS)
    h_img, w_img = shape
    for _x, y, w, h in found:
        assert abs(w / h - w_img / h_img) < 0.12, (w, h)  # aspect kept
        assert y > 0.7 * png.shape[0]  # beneath the time axis
        assert w > 10
    xs = [x for x, *_ in found]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    widths = {w for _, _, w, _ in found}
    assert max(widths) - min(widths) <= 2  # one size for all
