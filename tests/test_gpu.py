"""CUDA provider (onnxruntime-gpu, the `gpu` extra): the same results as the CPU.

Skipped where no CUDA device is available; the fallback to the CPU provider is tested in
test_model_store.py. Each default model is compared on a real face within 1e-3, and the
whole default analysis of the bundled demo video is run on both providers: the same
frames with a face, the same events and sign types, the sign within 0.01 at every frame.

Measured on an NVIDIA H200 (onnxruntime-gpu 1.31.1): with TF32 allowed (onnxruntime's
default) the face mesh moved by 0.009 from the CPU; painsign turns TF32 off
(``runtime.CUDA_OPTIONS``) and it moves by 1.2e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import painsign.runtime
from painsign.runtime import CPU, CUDA, create_session, session_provider
from painsign.vision.landmarks import crop_face, roi_from_detection

pytestmark = pytest.mark.skipif(
    CUDA not in ort.get_available_providers(),
    reason="no CUDA provider (install .[gpu] on a CUDA machine)",
)

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo_grimace.mp4"
TOLERANCE = 1e-3
#: The smoothed sign's agreement, as between a chunked and a one-process analysis.
SIGN_TOLERANCE = 0.01


def run_on_both(store, name: str, feed_x: np.ndarray) -> dict[str, list[np.ndarray]]:
    """The model's outputs for ``feed_x`` keyed by the provider each session ran on."""
    outs = {}
    for providers in ([CUDA, CPU], [CPU]):
        session = create_session(store.read_verified(name), name, providers)
        outs[session_provider(session)] = session.run(None, {session.get_inputs()[0].name: feed_x})
    assert set(outs) == {CUDA, CPU}
    return outs


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
    outs = run_on_both(store, name, feed_x)
    for a, b in zip(outs[CUDA], outs[CPU], strict=True):
        assert np.abs(a - b).max() <= TOLERANCE


def test_cuda_expression_model_matches_cpu(store, detector, astronaut_rgb):
    # The expression CNN pads with -inf before each max pool: a wrong pool on the GPU
    # would show here on a real face.
    from painsign.vision.expression import MODEL_NAME, ExpressionModel

    det = detector.detect(astronaut_rgb, order="rgb")[0]
    feed_x = ExpressionModel(store, [CPU])._preprocess(astronaut_rgb, det.box)
    (cuda,), (cpu,) = run_on_both(store, MODEL_NAME, feed_x).values()
    assert np.abs(cuda - cpu).max() <= TOLERANCE
    assert cpu.argmax() == cuda.argmax()


def sessions_made(monkeypatch) -> list:
    """Record every onnxruntime session painsign creates from now on."""
    made = []

    class Recorded(ort.InferenceSession):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(ort, "InferenceSession", Recorded)
    return made


def analyse_demo(monkeypatch, providers: list[str]):
    from painsign.analysis.replay import analyze_video
    from painsign.batch.job import AnalysisJob

    monkeypatch.setattr(painsign.runtime, "available_providers", lambda: list(providers))
    made = sessions_made(monkeypatch)
    job = AnalysisJob(figure=False)
    analyzer = job._build_analyzer()  # fresh sessions, not the process's shared ones
    analysis = analyze_video(DEMO, analyzer, job.sign_settings())
    monkeypatch.undo()
    return analysis, {session_provider(s) for s in made}


def test_default_analysis_on_cuda_matches_the_cpu(monkeypatch):
    cpu, cpu_ran_on = analyse_demo(monkeypatch, [CPU])
    cuda, cuda_ran_on = analyse_demo(monkeypatch, [CUDA, CPU])
    assert cpu_ran_on == {CPU}
    assert cuda_ran_on == {CUDA}  # every default model: detector, mesh, expression CNN
    assert [r.face for r in cuda.records] == [r.face for r in cpu.records]
    assert sum(r.face for r in cpu.records) > 0.8 * len(
        cpu.records
    )  # the demo hides the face now and then
    assert cuda.signs.keys() == cpu.signs.keys()
    for name, a in cpu.signs.items():
        b = cuda.signs[name]
        assert np.array_equal(np.isnan(a.p_raw), np.isnan(b.p_raw)), name
        # One frame's P may move further than the models: fer's crop box is whole pixels
        # and the tracker crops each frame where the last mesh was, so on the CPU alone
        # a 1e-4 change in the mesh's output moved a frame's P by up to 0.025.
        assert np.nanmax(np.abs(a.p_smooth - b.p_smooth)) <= SIGN_TOLERANCE, name
        assert [(e.kind, e.t) for e in b.events] == [(e.kind, e.t) for e in a.events], name
        assert [w.sign_type for w in b.windows] == [w.sign_type for w in a.windows], name
        assert b.whole.sign_type == a.whole.sign_type, name
