"""CUDA provider (onnxruntime-gpu, the `gpu` extra): same results as the CPU within 1e-3.

Skipped where no CUDA device is available; the fallback to the CPU provider is tested in
test_model_store.py.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from painsign.runtime import CPU, CUDA, create_session, session_provider
from painsign.vision.landmarks import crop_face, roi_from_detection

pytestmark = pytest.mark.skipif(
    CUDA not in ort.get_available_providers(),
    reason="no CUDA provider (install .[gpu] on a CUDA machine)",
)


@pytest.mark.parametrize(
    "name", ["face_detection_short_range", "face_detection_full_range", "face_landmark"]
)
def test_cuda_matches_cpu(name, store, detector, astronaut_rgb):
    det = detector.detect(astronaut_rgb, order="rgb")[0]
    size = store.info(name).inputs[0]["shape"][2]
    if name == "face_landmark":
        x = crop_face(astronaut_rgb, roi_from_detection(det)).astype(np.float32) / 255.0
    else:
        import cv2

        x = cv2.resize(astronaut_rgb, (size, size)).astype(np.float32) / 127.5 - 1.0
    feed_x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
    outs = {}
    for providers in ([CUDA, CPU], [CPU]):
        session = create_session(store.read_verified(name), name, providers)
        outs[session_provider(session)] = session.run(None, {session.get_inputs()[0].name: feed_x})
    assert set(outs) == {CUDA, CPU}
    for a, b in zip(outs[CUDA], outs[CPU], strict=True):
        assert np.abs(a - b).max() <= 1e-3
