"""A face-aligned frame of reference: eye axis, "down" and inter-ocular distance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from painsign.vision import mesh_indices as M


@dataclass(frozen=True)
class FaceAxes:
    """Unit vectors across (``ex``, subject's right eye to left eye) and down (``ey``) the
    face, the nose tip as origin, and the inter-ocular distance ``iod`` (outer eye corners)
    as the unit of length. Measuring in these axes makes features independent of where
    the face is, how large it is and how the head is rolled.
    """

    origin: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    iod: float

    @classmethod
    def from_points(cls, points: np.ndarray) -> FaceAxes:
        """Build the axes from (468, 2+) mesh points in pixels."""
        xy = np.asarray(points, dtype=np.float64)[:, :2]
        across = xy[M.LEFT_EYE_OUTER] - xy[M.RIGHT_EYE_OUTER]
        iod = float(np.hypot(*across))
        ex = across / iod if iod > 0 else np.array([1.0, 0.0])
        ey = np.array([-ex[1], ex[0]])
        return cls(xy[M.NOSE_TIP].copy(), ex, ey, max(iod, 1e-9))

    def to_local(self, xy: np.ndarray) -> np.ndarray:
        """Pixels -> face units (u across, v down), shape preserved."""
        d = np.asarray(xy, dtype=np.float64)[..., :2] - self.origin
        return np.stack([d @ self.ex, d @ self.ey], axis=-1) / self.iod

    def to_pixels_delta(self, duv: np.ndarray) -> np.ndarray:
        """Face-unit displacements -> pixel displacements."""
        duv = np.asarray(duv, dtype=np.float64)
        return (duv[..., :1] * self.ex + duv[..., 1:2] * self.ey) * self.iod
