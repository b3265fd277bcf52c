"""The committed ONNX models compute what MediaPipe's original TFLite files compute.

Each original .tflite (kept in models/tflite/) runs in ai-edge-litert, the reference TFLite
runtime, and the ONNX conversion in onnxruntime, on the same real image; every output must
agree within 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest

from painsign.model_store import ModelStore
from painsign.runtime import CPU, create_session
from painsign.vision.geometry import crop, letterbox_rect
from painsign.vision.landmarks import crop_face, roi_from_detection

interpreter = pytest.importorskip("ai_edge_litert.interpreter")

TOLERANCE = 1e-3


def _tflite_run(path, nhwc):
    it = interpreter.Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], nhwc)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _onnx_run(store, name, nchw):
    session = create_session(store.read_verified(name), name, [CPU])
    return session.run(None, {session.get_inputs()[0].name: nchw})


def _model_input(store, name, astronaut_rgb, detector):
    info = store.info(name)
    size = info.inputs[0]["shape"][2]
    if name.startswith("face_detection"):
        img = crop(astronaut_rgb, letterbox_rect(512, 512), size, size).astype(np.float32)
        return img / 127.5 - 1.0
    det = detector.detect(astronaut_rgb, order="rgb")[0]
    img = crop_face(astronaut_rgb, roi_from_detection(det))
    return img.astype(np.float32) / 255.0


@pytest.mark.parametrize(
    "name", ["face_detection_short_range", "face_detection_full_range", "face_landmark"]
)
def test_onnx_matches_tflite(name, store: ModelStore, astronaut_rgb, detector):
    nhwc = _model_input(store, name, astronaut_rgb, detector)[None]
    tflite_path = store.folder / store.manifest["models"][name]["source_file"]
    expected = _tflite_run(tflite_path, np.ascontiguousarray(nhwc))
    got = _onnx_run(store, name, np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)))
    assert len(got) == len(expected)
    for e, g in zip(expected, got, strict=True):
        assert e.size == g.size
        diff = np.abs(e.reshape(-1) - g.reshape(-1)).max()
        assert diff <= TOLERANCE, f"{name}: largest difference {diff:.2e}"
    if name == "face_detection_full_range":
        # a real face is in the picture, so the comparison covers confident outputs
        assert expected[1].max() > 1.0
