"""The ONNX classifier plug-in: the sidecar rules, and what reaches the model.

Tiny ONNX models built here expose the tensor they receive (a ``seen`` output that is the
input itself, or a single sliced pixel as the score), so each preprocessing option is
checked against the exact values the model got.
"""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from painsign.errors import ModelFileError, PainsignError
from painsign.scoring import sidecar
from painsign.scoring.base import FaceFrame, Score, Scorer
from painsign.scoring.onnx_scorer import OnnxClassifierScorer
from painsign.scoring.sidecar import ClassifierSpec, load_spec, name_key
from painsign.vision.types import FaceResult

FACE = (200, 100, 50)  # R, G, B of the synthetic face
BACKGROUND = (0, 0, 255)
VGG_MEAN_BGR = [93.59, 104.76, 129.19]


# --- building models, sidecars and frames ---------------------------------------------


def _save(path, nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def probe_model(path, in_shape):
    """Outputs ``p`` = sigmoid(mean of the input) and ``seen`` = the input itself."""
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], keepdims=1),
        helper.make_node("Sigmoid", ["m"], ["p"]),
        helper.make_node("Identity", ["x"], ["seen"]),
    ]
    return _save(path, nodes, [_vi("x", in_shape)], [_vi("p", [1, 1, 1, 1]), _vi("seen", in_shape)])


def pixel_model(path, in_shape, index):
    """Outputs ``p`` = the input's value at ``index`` (one number per axis)."""
    inits = [
        helper.make_tensor("starts", TensorProto.INT64, [4], list(index)),
        helper.make_tensor("ends", TensorProto.INT64, [4], [i + 1 for i in index]),
    ]
    nodes = [helper.make_node("Slice", ["x", "starts", "ends"], ["p"])]
    return _save(path, nodes, [_vi("x", in_shape)], [_vi("p", [1, 1, 1, 1])], inits)


def constant_model(path, values, in_shape=(1, 3, 8, 8)):
    """Outputs ``y`` = ``values`` as (1, n), whatever the input (it still reads it)."""
    values = np.asarray(values, dtype=np.float32).reshape(1, -1)
    inits = [
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor("k", TensorProto.FLOAT, list(values.shape), values.ravel().tolist()),
        helper.make_tensor("shape11", TensorProto.INT64, [2], [1, 1]),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], keepdims=1),
        helper.make_node("Reshape", ["m", "shape11"], ["m2"]),
        helper.make_node("Mul", ["m2", "zero"], ["z"]),
        helper.make_node("Add", ["z", "k"], ["y"]),
    ]
    return _save(path, nodes, [_vi("x", list(in_shape))], [_vi("y", list(values.shape))], inits)


def write_spec(path, **fields):
    data = {"name": "Test model", "input_size": [8, 8]}
    data.update(fields)
    path.write_text(json.dumps(data))
    return path


def make_scorer(tmp_path, model_fn, *model_args, **spec):
    model = model_fn(tmp_path / "model.onnx", *model_args)
    write_spec(tmp_path / "model.json", **spec)
    return OnnxClassifierScorer(model)


def scene(h=40, w=60, box=(10, 10, 18, 18), face=FACE, background=BACKGROUND):
    """A frame of ``background`` with a ``face``-coloured box; returns (rgb, box)."""
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = background
    x1, y1, x2, y2 = box
    rgb[y1:y2, x1:x2] = face
    return rgb, np.array(box, dtype=np.float64)


def face_frame(rgb, box):
    return FaceFrame(rgb, FaceResult(found=True, box=np.asarray(box, float)), t=0.0)


def seen(scorer, rgb, box):
    """What the model received for this face: its ``seen`` output."""
    x = scorer.preprocess(rgb, box)
    return scorer.session.run(["seen"], {scorer.input_name: x})[0]


# --- the sidecar ----------------------------------------------------------------------


def test_minimal_sidecar_gets_documented_defaults(tmp_path):
    spec = load_spec(write_spec(tmp_path / "m.json", input_size=[224, 160]))
    assert spec.input_size == (224, 160)
    assert (spec.layout, spec.colour_order, spec.grayscale) == ("NCHW", "RGB", False)
    assert spec.scaling.kind == "unit" and spec.output.kind == "sigmoid"
    assert (spec.crop_margin, spec.resize, spec.threshold) == (0.0, "letterbox", 0.5)
    assert spec.input_name is None and spec.output_name is None


@pytest.mark.parametrize(
    ("name", "key"),
    [("VGG-Face (int8)", "vgg_face_int8"), ("N-CNN", "n_cnn"), ("ViT B/16 v2", "vit_b_16_v2")],
)
def test_key_is_column_safe(name, key):
    assert name_key(name) == key


def test_documented_example_loads_and_round_trips(tmp_path):
    doc = sidecar.__doc__
    example = textwrap.dedent(doc[doc.index("::") + 2 : doc.index("Only ")])
    path = tmp_path / "vgg.json"
    path.write_text(example)
    spec = load_spec(path)
    assert spec.key == "vgg_face" and spec.colour_order == "BGR" and spec.threshold == 0.494
    assert spec.scaling.kind == "mean_subtract" and spec.scaling.mean == tuple(VGG_MEAN_BGR)
    assert spec.to_dict() == json.loads(example)
    assert ClassifierSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"nmae": "x"}, ["unknown key 'nmae'", "did you mean 'name'", "allowed keys"]),
        ({"input_size": None}, ["'input_size' must be [width, height]"]),
        ({"input_size": "224"}, ["'input_size' must be [width, height]"]),
        ({"input_size": [224, 0]}, ["input_size[1] (height)", ">= 1"]),
        ({"input_size": [224.0, 224]}, ["input_size[0] (width)", "integer"]),
        ({"layout": "CHW"}, ["'layout' is 'CHW'", "allowed values: NCHW, NHWC"]),
        ({"colour_order": "rgb"}, ["'colour_order'", "RGB, BGR"]),
        ({"color_order": "RGB"}, ["unknown key 'color_order'", "did you mean 'colour_order'"]),
        ({"grayscale": "yes"}, ["'grayscale' must be true or false"]),
        ({"scaling": "unit"}, ["'scaling' must be a JSON object"]),
        (
            {"scaling": {"kind": "imagenet"}},
            ["'scaling.kind' is 'imagenet'", "unit, mean_std, mean_subtract, raw"],
        ),
        ({"scaling": {"mean": [1, 2, 3]}}, ["'scaling.kind' is missing", "allowed values"]),
        (
            {"scaling": {"kind": "mean_std", "mean": [0.5] * 3}},
            ["missing required key 'scaling.std'"],
        ),
        ({"scaling": {"kind": "unit", "mean": [1, 2, 3]}}, ["unknown key 'scaling.mean'"]),
        ({"scaling": {"kind": "mean_subtract", "mean": [1, 2]}}, ["'scaling.mean'", "3 numbers"]),
        (
            {"grayscale": True, "scaling": {"kind": "mean_subtract", "mean": [1, 2, 3]}},
            ["'scaling.mean'", "1 number"],
        ),
        (
            {"scaling": {"kind": "mean_std", "mean": [0.5] * 3, "std": [0.2, 0, 0.2]}},
            ["'scaling.std' values must be > 0"],
        ),
        ({"crop_margin": -0.1}, ["'crop_margin'", "[0, inf]"]),
        ({"resize": "crop"}, ["'resize'", "letterbox, stretch"]),
        ({"output": {"kind": "softmax"}}, ["missing required key 'output.pain_index'"]),
        ({"output": {"kind": "sigmoid", "pain_index": 0}}, ["unknown key 'output.pain_index'"]),
        ({"output": {"kind": "logits", "pain_index": -1}}, ["'output.pain_index'", ">= 0"]),
        ({"output": {"kind": "prob"}}, ["'output.kind'", "sigmoid, logit, softmax, logits"]),
        ({"threshold": 1.5}, ["'threshold' is 1.5", "[0, 1]"]),
        ({"threshold": True}, ["'threshold' must be a number"]),
        ({"name": ""}, ["'name' must be a non-empty string"]),
        ({"name": "---"}, ["must contain a letter or digit"]),
        ({"license": 3}, ["'license' must be a non-empty string"]),
    ],
)
def test_bad_sidecar_names_file_key_and_allowed_values(tmp_path, change, expected):
    path = write_spec(tmp_path / "bad_model.json", **change)
    with pytest.raises(PainsignError) as err:
        load_spec(path)
    message = str(err.value)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message


def test_missing_required_key(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"name": "x"}))
    with pytest.raises(PainsignError, match="missing required key 'input_size'"):
        load_spec(path)


def test_sidecar_must_be_a_json_object(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("[1, 2]")
    with pytest.raises(PainsignError, match="top level must be a JSON object, not an array"):
        load_spec(path)


def test_invalid_json_names_file_and_line(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{"name": "x",\n "input_size": [8, 8],}')
    with pytest.raises(PainsignError, match=r"m\.json is not valid JSON: .* line 2"):
        load_spec(path)


# --- loading the scorer ---------------------------------------------------------------


def test_missing_model_or_sidecar_names_the_path(tmp_path):
    with pytest.raises(ModelFileError, match=r"nothere\.onnx not found"):
        OnnxClassifierScorer(tmp_path / "nothere.onnx")
    model = probe_model(tmp_path / "lonely.onnx", [1, 3, 8, 8])
    with pytest.raises(ModelFileError, match=r"sidecar .*lonely\.json not found"):
        OnnxClassifierScorer(model)
    with pytest.raises(ModelFileError, match=r"other\.json not found"):
        OnnxClassifierScorer(model, tmp_path / "other.json")


def test_explicit_sidecar_path_and_scorer_contract(tmp_path):
    model = probe_model(tmp_path / "clf.onnx", [1, 3, 8, 8])
    spec = write_spec(
        tmp_path / "described.json", name="N-CNN (fold 3)", threshold=0.542, output_name="p"
    )
    scorer = OnnxClassifierScorer(model, spec)
    assert isinstance(scorer, Scorer)
    assert scorer.name == "n_cnn_fold_3" and scorer.display_name == "N-CNN (fold 3)"
    assert scorer.threshold == 0.542
    assert (scorer.input_name, scorer.output_name) == ("x", "p")
    assert scorer.provider.endswith("ExecutionProvider")
    assert scorer.reset() is None


@pytest.mark.parametrize(
    ("in_shape", "spec", "expected"),
    [
        (
            [1, 3, 112, 112],
            {"input_size": [224, 224]},
            "model.json says input_size 224x224 NCHW with 3 channels but model.onnx input 'x' "
            "has shape [1, 3, 112, 112]",
        ),
        ([1, 3, 8, 16], {"input_size": [8, 16]}, "input_size 8x16 NCHW"),  # width/height swap
        (
            [1, 1, 8, 8],
            {},
            "with 3 channels but model.onnx input 'x' has shape [1, 1, 8, 8]; "
            'set "grayscale": true',
        ),
        ([1, 3, 8, 8], {"grayscale": True}, "with 1 channel but"),
        ([1, 8, 8, 3], {}, 'has shape [1, 8, 8, 3]; it looks like NHWC: set "layout": "NHWC"'),
        ([1, 3, 8, 8], {"layout": "NHWC"}, 'it looks like NCHW: set "layout": "NCHW"'),
        ([2, 3, 8, 8], {}, "has shape [2, 3, 8, 8]"),
        ([1, 3, 8], {}, "has shape [1, 3, 8]"),
        ([1, 3, 8, 8], {"input_name": "image"}, "input_name 'image' but model.onnx has inputs 'x'"),
    ],
)
def test_sidecar_input_mismatch_is_reported_at_load(tmp_path, in_shape, spec, expected):
    with pytest.raises(PainsignError) as err:
        make_scorer(tmp_path, probe_model, in_shape, output_name="p", **spec)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("n", "output", "expected"),
    [
        (
            2,
            {"kind": "softmax", "pain_index": 2},
            "output kind 'softmax' with pain_index 2 (at least 3 values) but model.onnx output 'y' "
            "has shape [1, 2] (2 values)",
        ),
        (2, {"kind": "sigmoid"}, "output kind 'sigmoid' (exactly 1 value) but"),
        (3, {"kind": "logit"}, "output kind 'logit' (exactly 1 value) but"),
        (1, {"kind": "logits", "pain_index": 0}, "(at least 2 values) but"),
    ],
)
def test_sidecar_output_mismatch_is_reported_at_load(tmp_path, n, output, expected):
    with pytest.raises(PainsignError) as err:
        make_scorer(tmp_path, constant_model, [0.5] * n, output=output)
    assert expected in str(err.value)


def test_output_name_must_exist(tmp_path):
    with pytest.raises(PainsignError, match=r"output_name 'prob' but model\.onnx has outputs 'y'"):
        make_scorer(tmp_path, constant_model, [0.5], output_name="prob")


def column_model(path):
    """Dynamic-size input; outputs ``y`` = mean over channels and rows, one per column."""
    nodes = [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, 2], keepdims=0)]
    return _save(path, nodes, [_vi("x", ["N", 3, None, "W"])], [_vi("y", ["N", "W"])])


def test_dynamic_dims_are_accepted_and_output_size_checked_when_run(tmp_path):
    rgb, box = scene()
    scorer = make_scorer(tmp_path, column_model, output={"kind": "logits", "pain_index": 7})
    assert scorer.score(face_frame(rgb, box)).p == pytest.approx(1 / 8)
    scorer = make_scorer(tmp_path, column_model, output={"kind": "logits", "pain_index": 8})
    with pytest.raises(PainsignError, match=r"at least 9 values\) but .* gave 8 values"):
        scorer.score(face_frame(rgb, box))


# --- what reaches the model -----------------------------------------------------------


@pytest.mark.parametrize(("order", "channels"), [("RGB", FACE), ("BGR", FACE[::-1])])
def test_colour_order_reaches_model(tmp_path, order, channels):
    rgb, box = scene()
    scorer = make_scorer(
        tmp_path,
        probe_model,
        [1, 3, 8, 8],
        output_name="p",
        colour_order=order,
        scaling={"kind": "raw"},
    )
    x = seen(scorer, rgb, box)
    assert x.shape == (1, 3, 8, 8) and x.dtype == np.float32
    for c, value in enumerate(channels):
        assert np.all(x[0, c] == value)


@pytest.mark.parametrize(("layout", "in_shape"), [("NCHW", [1, 3, 6, 8]), ("NHWC", [1, 6, 8, 3])])
def test_layout_reaches_model(tmp_path, layout, in_shape):
    # A 8-wide, 6-tall face with a different value in every pixel and channel, fed at
    # scale 1 so the model must get exactly these pixels.
    rgb, box = scene(box=(10, 10, 18, 16))
    yy, xx = np.mgrid[0:6, 0:8]
    face = np.stack([yy * 40, xx * 30, yy * 5 + xx + 1], axis=-1).astype(np.uint8)
    rgb[10:16, 10:18] = face
    scorer = make_scorer(
        tmp_path,
        probe_model,
        in_shape,
        output_name="p",
        input_size=[8, 6],
        layout=layout,
        scaling={"kind": "raw"},
    )
    x = seen(scorer, rgb, box)
    expected = face if layout == "NHWC" else face.transpose(2, 0, 1)
    np.testing.assert_array_equal(x[0], expected.astype(np.float32))


@pytest.mark.parametrize(
    ("scaling", "order", "expected"),
    [
        ({"kind": "raw"}, "RGB", [200.0, 100.0, 50.0]),
        ({"kind": "unit"}, "RGB", [200 / 255, 100 / 255, 50 / 255]),
        (
            {"kind": "mean_std", "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.5]},
            "RGB",
            [(200 / 255 - 0.5) / 0.2, (100 / 255 - 0.4) / 0.25, (50 / 255 - 0.3) / 0.5],
        ),
        (
            {"kind": "mean_subtract", "mean": VGG_MEAN_BGR},
            "BGR",
            [50 - 93.59, 100 - 104.76, 200 - 129.19],
        ),
        ({"kind": "mean_subtract", "mean": [100]}, "RGB", [100.0, 0.0, -50.0]),
    ],
)
def test_scaling_reaches_model(tmp_path, scaling, order, expected):
    rgb, box = scene()
    scorer = make_scorer(
        tmp_path, probe_model, [1, 3, 8, 8], output_name="p", scaling=scaling, colour_order=order
    )
    x = seen(scorer, rgb, box)
    for c, value in enumerate(expected):
        np.testing.assert_allclose(x[0, c], np.full((8, 8), value), rtol=1e-6, atol=1e-5)


def test_score_is_computed_from_the_preprocessed_face(tmp_path):
    # p = sigmoid(mean of the input): score() must run the model on preprocess()'s tensor.
    rgb, box = scene()
    rgb[12, 12] = (0, 255, 0)
    scorer = make_scorer(tmp_path, probe_model, [1, 3, 8, 8], output_name="p")
    x = scorer.preprocess(rgb, box)
    p = scorer.score(face_frame(rgb, box)).p
    assert p == pytest.approx(1 / (1 + math.exp(-float(x.mean()))), abs=1e-6)
    assert p == pytest.approx(1 / (1 + math.exp(-(350 / 3 / 255 * 63 + 85 / 255) / 64)), abs=1e-5)


@pytest.mark.parametrize(
    ("layout", "in_shape", "index", "order", "expected"),
    [
        ("NCHW", [1, 3, 8, 8], (0, 2, 4, 4), "BGR", 200 / 255),  # red arrives in channel 2
        ("NCHW", [1, 3, 8, 8], (0, 2, 4, 4), "RGB", 50 / 255),
        ("NHWC", [1, 8, 8, 3], (0, 4, 4, 2), "BGR", 200 / 255),
        ("NHWC", [1, 8, 8, 3], (0, 4, 4, 0), "RGB", 200 / 255),
    ],
)
def test_score_sees_the_right_channel(tmp_path, layout, in_shape, index, order, expected):
    rgb, box = scene()
    scorer = make_scorer(tmp_path, pixel_model, in_shape, index, layout=layout, colour_order=order)
    assert scorer.score(face_frame(rgb, box)).p == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("box", [(10, 10, 26, 18), (10, 10, 18, 26)])  # wide, tall
def test_letterbox_pads_centred_with_zero_pixels(tmp_path, box):
    rgb, fbox = scene(box=box)
    scorer = make_scorer(
        tmp_path,
        probe_model,
        [1, 3, 8, 8],
        output_name="p",
        resize="letterbox",
        scaling={"kind": "raw"},
    )
    x = seen(scorer, rgb, fbox)[0]
    face = np.array(FACE, np.float32)[:, None, None]
    wide = box[2] - box[0] > box[3] - box[1]
    pad = (x[:, :2, :], x[:, 6:, :]) if wide else (x[:, :, :2], x[:, :, 6:])
    inner = x[:, 2:6, :] if wide else x[:, :, 2:6]
    assert all(np.all(part == 0) for part in pad)
    assert np.all(inner == face)


def test_letterbox_padding_is_scaled_like_black_pixels(tmp_path):
    rgb, box = scene(box=(10, 10, 26, 18))
    scorer = make_scorer(
        tmp_path,
        probe_model,
        [1, 3, 8, 8],
        output_name="p",
        colour_order="BGR",
        scaling={"kind": "mean_subtract", "mean": VGG_MEAN_BGR},
    )
    x = seen(scorer, rgb, box)[0]
    for c, mean in enumerate(VGG_MEAN_BGR):
        np.testing.assert_allclose(x[c, :2], -mean, rtol=1e-6)
        np.testing.assert_allclose(x[c, 6:], -mean, rtol=1e-6)
        np.testing.assert_allclose(x[c, 2:6], FACE[::-1][c] - mean, rtol=1e-6)


def test_stretch_fills_the_input(tmp_path):
    rgb, box = scene(box=(10, 10, 26, 18))
    scorer = make_scorer(
        tmp_path,
        probe_model,
        [1, 3, 8, 8],
        output_name="p",
        resize="stretch",
        scaling={"kind": "raw"},
    )
    x = seen(scorer, rgb, box)[0]
    assert np.all(x == np.array(FACE, np.float32)[:, None, None])


@pytest.mark.parametrize("resize", ["letterbox", "stretch"])
def test_crop_margin_widens_the_crop(tmp_path, resize):
    # An 8x8 red face in a 2-px green frame: margin 0.25 adds 2 px each side (12x12).
    rgb, box = scene(box=(20, 20, 28, 28))
    rgb[18:30, 18:30] = (0, 255, 0)
    rgb[20:28, 20:28] = FACE
    spec = {"input_size": [12, 12], "scaling": {"kind": "raw"}, "resize": resize}
    plain = make_scorer(tmp_path, probe_model, [1, 3, 12, 12], output_name="p", **spec)
    assert np.all(seen(plain, rgb, box)[0] == np.array(FACE, np.float32)[:, None, None])
    wide = make_scorer(
        tmp_path, probe_model, [1, 3, 12, 12], output_name="p", crop_margin=0.25, **spec
    )
    x = seen(wide, rgb, box)[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(x, rgb[18:30, 18:30].astype(np.float32))
    assert np.all(x[0] == (0, 255, 0)) and np.all(x[4:8, 4:8] == FACE)


def test_parts_outside_the_frame_are_black(tmp_path):
    rgb = np.full((20, 20, 3), 90, np.uint8)
    scorer = make_scorer(
        tmp_path, probe_model, [1, 3, 8, 8], output_name="p", scaling={"kind": "raw"}
    )
    x = seen(scorer, rgb, (-4, -2, 4, 6))[0]
    assert np.all(x[:, :, :4] == 0) and np.all(x[:, :2, :] == 0)
    assert np.all(x[:, 2:, 4:] == 90)


def test_grayscale_input_gets_luminance(tmp_path):
    rgb, box = scene()
    scorer = make_scorer(
        tmp_path,
        probe_model,
        [1, 1, 8, 8],
        output_name="p",
        grayscale=True,
        colour_order="BGR",
        scaling={"kind": "mean_subtract", "mean": [100]},
    )
    x = seen(scorer, rgb, box)
    assert x.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(x, 0.299 * 200 + 0.587 * 100 + 0.114 * 50 - 100, rtol=1e-5)


def test_preprocess_rejects_bad_input(tmp_path):
    rgb, box = scene()
    scorer = make_scorer(tmp_path, probe_model, [1, 3, 8, 8], output_name="p")
    with pytest.raises(PainsignError, match=r"\(H, W, 3\) uint8"):
        scorer.preprocess(rgb.astype(np.float32), box)
    with pytest.raises(PainsignError, match="x2 > x1"):
        scorer.preprocess(rgb, (10, 10, 10, 20))


# --- from the model's output to P(pain) -----------------------------------------------


@pytest.mark.parametrize(
    ("output", "values", "expected"),
    [
        ({"kind": "sigmoid"}, [0.7], 0.7),
        ({"kind": "logit"}, [0.0], 0.5),
        ({"kind": "logit"}, [2.0], 1 / (1 + math.exp(-2.0))),
        ({"kind": "logit"}, [-1000.0], 0.0),
        ({"kind": "softmax", "pain_index": 1}, [0.2, 0.5, 0.3], 0.5),
        ({"kind": "softmax", "pain_index": 0}, [0.2, 0.5, 0.3], 0.2),
        (
            {"kind": "logits", "pain_index": 0},
            [1.0, 2.0, 3.0],
            math.e / (math.e + math.e**2 + math.e**3),
        ),
        (
            {"kind": "logits", "pain_index": 2},
            [1.0, 2.0, 3.0],
            math.e**3 / (math.e + math.e**2 + math.e**3),
        ),
        ({"kind": "logits", "pain_index": 0}, [1000.0, 0.0], 1.0),
    ],
)
def test_output_kinds_give_the_probability(tmp_path, output, values, expected):
    rgb, box = scene()
    scorer = make_scorer(tmp_path, constant_model, values, output=output)
    score = scorer.score(face_frame(rgb, box))
    assert isinstance(score, Score) and score.details == {}
    assert score.p == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("output", "values", "fix"),
    [
        ({"kind": "sigmoid"}, [3.0], "set output kind 'logit'"),
        ({"kind": "softmax", "pain_index": 0}, [2.0, 5.0], "set output kind 'logits'"),
        ({"kind": "softmax", "pain_index": 0}, [0.2, 0.2], "set output kind 'logits'"),
    ],
)
def test_raw_scores_declared_as_probabilities_are_reported(tmp_path, output, values, fix):
    rgb, box = scene()
    scorer = make_scorer(tmp_path, constant_model, values, output=output)
    with pytest.raises(PainsignError, match=fix):
        scorer.score(face_frame(rgb, box))


def test_no_usable_face_gives_nan(tmp_path):
    rgb, box = scene()
    scorer = make_scorer(tmp_path, constant_model, [0.7])
    assert math.isnan(scorer.score(FaceFrame(rgb, FaceResult.none(), t=0.0)).p)
    assert math.isnan(scorer.score(face_frame(rgb, (10, 10, 10, 18))).p)
    assert math.isnan(scorer.score(face_frame(rgb, (np.nan, 10, 18, 18))).p)
    assert scorer.score(face_frame(rgb, box)).p == pytest.approx(0.7)
