"""SSD anchors for BlazeFace, as MediaPipe's ``SsdAnchorsCalculator`` makes them."""

from __future__ import annotations

import numpy as np

#: Anchor options of MediaPipe's face_detection_short_range_common.pbtxt and
#: face_detection_full_range_common.pbtxt (fixed anchor size, aspect ratio 1).
SHORT_RANGE = {"input_size": 128, "strides": (8, 16, 16, 16), "interpolated": True}
FULL_RANGE = {"input_size": 192, "strides": (4,), "interpolated": False}


def ssd_anchors(input_size: int, strides: tuple[int, ...], interpolated: bool) -> np.ndarray:
    """Return anchor centres, normalised to [0, 1], in the order the model outputs them.

    Consecutive layers with the same stride share one grid; each layer adds one anchor per
    cell, two when ``interpolated`` (MediaPipe's interpolated-scale anchor). With fixed
    anchor size every anchor is 1 x 1, so only the centres matter.

    Parameters
    ----------
    input_size : int
        Model input side in pixels.
    strides : tuple of int
        Stride of each output layer.
    interpolated : bool
        Whether each layer adds the interpolated-scale anchor.

    Returns
    -------
    numpy.ndarray
        (N, 2) ``[x_center, y_center]``.

    Examples
    --------
    >>> ssd_anchors(**SHORT_RANGE).shape
    (896, 2)
    >>> ssd_anchors(**FULL_RANGE).shape
    (2304, 2)
    """
    out = []
    i = 0
    while i < len(strides):
        stride = strides[i]
        per_cell = 0
        while i < len(strides) and strides[i] == stride:
            per_cell += 2 if interpolated else 1
            i += 1
        n = int(np.ceil(input_size / stride))
        centres = (np.arange(n, dtype=np.float64) + 0.5) / n
        yy, xx = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
        out.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)
