"""Piecewise-affine image warping driven by moved landmarks."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay


class PiecewiseAffineWarp:
    """Warp one base image so its control points move to new places.

    The control points are the face landmarks plus a fixed ring around the face, so the
    picture outside the ring never moves and the warp is continuous at the ring. Each
    destination pixel inside the ring is mapped back to the base image through the
    affine map of the destination triangle containing it.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, 3) base image.
    points : numpy.ndarray
        (N, 2) landmark positions in ``image``.
    ring_scale : float
        Size of the fixed ring relative to the landmarks' spread.
    """

    def __init__(self, image: np.ndarray, points: np.ndarray, ring_scale: float = 1.7):
        self.image = np.ascontiguousarray(image)
        h, w = image.shape[:2]
        pts = np.asarray(points, dtype=np.float64)[:, :2]
        centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
        half = (pts.max(axis=0) - pts.min(axis=0)) / 2 * ring_scale
        angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        ring = centre + np.c_[np.cos(angles) * half[0], np.sin(angles) * half[1]]
        self.ring = ring
        self.source = np.vstack([pts, ring])
        lo = np.floor(ring.min(axis=0)).astype(int)
        hi = np.ceil(ring.max(axis=0)).astype(int)
        self.x0, self.y0 = max(0, lo[0]), max(0, lo[1])
        self.x1, self.y1 = min(w, hi[0] + 1), min(h, hi[1] + 1)
        ys, xs = np.mgrid[self.y0:self.y1, self.x0:self.x1]
        self._grid = np.c_[xs.ravel(), ys.ravel()].astype(np.float64)

    def warp(self, moved: np.ndarray) -> np.ndarray:
        """Return the base image with the landmarks moved to ``moved`` ((N, 2) pixels)."""
        dest = np.vstack([np.asarray(moved, dtype=np.float64)[:, :2], self.ring])
        tri = Delaunay(dest)
        simplex = tri.find_simplex(self._grid)
        inside = simplex >= 0
        map_xy = self._grid.copy()
        s = simplex[inside]
        # Barycentric coordinates in the destination triangle, applied to the source one.
        t = tri.transform[s]
        b = np.einsum("nij,nj->ni", t[:, :2], self._grid[inside] - t[:, 2])
        bary = np.c_[b, 1.0 - b.sum(axis=1)]
        verts = tri.simplices[s]
        map_xy[inside] = np.einsum("ni,nij->nj", bary, self.source[verts])
        shape = (self.y1 - self.y0, self.x1 - self.x0)
        mx = map_xy[:, 0].reshape(shape).astype(np.float32)
        my = map_xy[:, 1].reshape(shape).astype(np.float32)
        out = self.image.copy()
        out[self.y0:self.y1, self.x0:self.x1] = cv2.remap(
            self.image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        return out
