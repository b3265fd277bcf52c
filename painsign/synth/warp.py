"""Piecewise-affine image warping driven by moved landmarks."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix
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
        ys, xs = np.mgrid[self.y0 : self.y1, self.x0 : self.x1]
        self._grid = np.c_[xs.ravel(), ys.ravel()].astype(np.float64)
        self._near = None

    def untangle(self, moved: np.ndarray, rounds: int = 50) -> np.ndarray:
        """Return ``moved`` ((N, 2) pixels) with the folds of the warp smoothed out.

        Where moved points cross each other (a lid sliding past the other lid, a lip past
        the skin below it) a triangle turns over and the warp mirrors a sliver of the
        picture into jagged teeth. Each round finds the points of turned-over triangles
        and moves them, and their neighbours, half-way to their neighbours' average move,
        until no triangle turns over or ``rounds`` is reached.
        """
        n = len(self.source) - len(self.ring)
        move = np.zeros_like(self.source)
        move[:n] = np.asarray(moved, dtype=np.float64)[:, :2] - self.source[:n]
        if not move.any():
            return self.source[:n] + move[:n]
        near = self._neighbours()
        for _ in range(rounds):
            dest = self.source + move
            simplices = Delaunay(dest).simplices
            turned = (_signed_area(dest, simplices) * _signed_area(self.source, simplices)) < 0
            if not turned.any():
                break
            pick = np.zeros(len(dest), dtype=bool)
            pick[simplices[turned].ravel()] = True
            pick |= (near @ pick.astype(np.float64)) > 0
            pick[n:] = False  # the ring stays put
            move[pick] = 0.5 * move[pick] + 0.5 * (near @ move)[pick]
        return self.source[:n] + move[:n]

    def _neighbours(self):
        """Row-normalised adjacency of the control points (their rest triangulation)."""
        if self._near is None:
            tri = Delaunay(self.source).simplices
            rows = np.repeat(tri, 3, axis=1).ravel()
            cols = np.tile(tri, (1, 3)).ravel()
            keep = rows != cols
            m = len(self.source)
            adj = coo_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=(m, m))
            adj = (adj.tocsr() > 0).astype(np.float64)
            self._near = adj.multiply(1.0 / np.asarray(adj.sum(axis=1))).tocsr()
        return self._near

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
        out[self.y0 : self.y1, self.x0 : self.x1] = cv2.remap(
            self.image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        return out


def _signed_area(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Twice the signed area of each triangle (its sign is its orientation)."""
    a, b, c = (points[simplices[:, i]] for i in range(3))
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
