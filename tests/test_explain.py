"""Explaining a frame: occlusion sensitivity of an ONNX model, NFCS landmarks, the CLI."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest
from synthetic import neutral_animator, render, render_video

from painsign.cli import explain_cmd
from painsign.errors import InputError
from painsign.research.explain import explain, occlusion_map
from painsign.scoring.base import FaceFrame
from painsign.scoring.nfcs import ACTIONS, NfcsScorer
from painsign.scoring.nfcs_explain import ACTION_LANDMARKS
from painsign.scoring.onnx_scorer import OnnxClassifierScorer
from painsign.synth.animator import Segment
from painsign.vision.geometry import grow_box
from painsign.vision.image import to_rgb
from painsign.vision.types import FaceResult

GRIMACE = {"brow_bulge": 0.9, "eye_squeeze": 0.9, "open_lips": 0.9}
FPS = 10.0


def quadrant_model(tmp_path, size=32, **spec):
    """P(pain) = sigmoid(4 * (mean of the input's top-left quadrant - 0.5)), unit scaling."""
    import onnx
    from onnx import TensorProto, helper

    half = size // 2
    inits = [
        helper.make_tensor("starts", TensorProto.INT64, [2], [0, 0]),
        helper.make_tensor("ends", TensorProto.INT64, [2], [half, half]),
        helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3]),
        helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
        helper.make_tensor("gain", TensorProto.FLOAT, [], [4.0]),
        helper.make_tensor("shape", TensorProto.INT64, [2], [1, 1]),
    ]
    nodes = [
        helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["q"]),
        helper.make_node("ReduceMean", ["q"], ["m"], keepdims=0),
        helper.make_node("Sub", ["m", "half"], ["d"]),
        helper.make_node("Mul", ["d", "gain"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p"]),
        helper.make_node("Reshape", ["p", "shape"], ["prob"]),
    ]
    graph = helper.make_graph(
        nodes,
        "quadrant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path / "quadrant.onnx"
    onnx.save(model, path)
    (tmp_path / "quadrant.json").write_text(
        json.dumps({"name": "Quadrant Test", "input_size": [size, size], **spec})
    )
    return path


def _face(box):
    return FaceResult(found=True, box=np.asarray(box, dtype=np.float64))


def test_occlusion_heat_lies_where_the_model_looks(tmp_path):
    scorer = OnnxClassifierScorer(quadrant_model(tmp_path))
    rng = np.random.default_rng(0)
    rgb = rng.integers(180, 256, size=(200, 240, 3), dtype=np.uint8)
    box = (60, 40, 160, 140)  # 100 x 100; the model reads crop[0:50, 0:50]
    omap = occlusion_map(scorer, rgb, box)
    assert omap.base_p == pytest.approx(scorer.score(FaceFrame(rgb, _face(box), 0.0)).p)
    assert omap.heat.shape == (100, 100) and omap.crop.shape == (100, 100, 3)
    assert omap.patch == 12 and omap.stride == 6  # 1/8 of the side, half that
    y, x = np.unravel_index(np.argmax(omap.heat), omap.heat.shape)
    assert y < 50 and x < 50
    assert omap.heat[:40, :40].min() > 0.005  # every patch there darkens the quadrant
    outside = max(np.abs(omap.heat[:, 64:]).max(), np.abs(omap.heat[64:, :]).max())
    assert outside < 1e-6
    assert omap.grid.shape == (16, 16) and omap.grid[0, 0] > 0 and omap.grid[-1, -1] == 0


def test_occlusion_of_a_crop_beyond_the_frame_keeps_the_models_input(tmp_path):
    scorer = OnnxClassifierScorer(quadrant_model(tmp_path, crop_margin=0.3, resize="stretch"))
    rgb = np.full((120, 100, 3), 230, np.uint8)
    box = (-10.5, 5.0, 60.5, 70.0)  # the grown crop spills over the left and top edges
    omap = occlusion_map(scorer, rgb, box, patch=8, stride=8)
    frame = FaceFrame(rgb, _face(box), 0.0)
    assert omap.base_p == pytest.approx(scorer.score(frame).p, abs=1e-6)
    x1, y1, x2, y2 = grow_box(box, 0.3)
    assert omap.heat.shape == (y2 - y1, x2 - x1)
    assert (omap.crop[:, :5] == 0).all()  # black beyond the frame, as the model sees it
    result = explain(scorer, frame)
    assert result.kind == "occlusion" and result.heat is not None
    assert result.image.ndim == 3 and result.image.dtype == np.uint8
    assert "Quadrant Test" in result.summary and "largest drop" in result.summary


@pytest.fixture(scope="module")
def grimace_frames():
    """1 s at rest, then a grimace (brow bulge, eye squeeze, open lips) from 1.2 s."""
    return render([Segment(1.2, 3.0, GRIMACE, ramp_s=0.1)], 1.8, FPS)


def test_nfcs_explanation_names_the_active_actions(grimace_frames, detector, landmarker):
    from painsign.vision.tracker import FaceTracker

    truths, frames = grimace_frames
    tracker = FaceTracker(detector, landmarker)
    faces = [
        FaceFrame(to_rgb(f), tracker.process(f), tr.t) for f, tr in zip(frames, truths, strict=True)
    ]
    scorer = NfcsScorer(calibration_s=0)
    scorer.calibrate([f for f in faces if f.t < 1.0])
    result = explain(scorer, faces[-1])
    assert result.kind == "nfcs" and result.p >= 0.5
    assert {"brow_bulge", "eye_squeeze", "open_lips"} <= set(result.active)
    assert all(v > 0.15 for v in result.active.values())
    assert "brow_bulge" in result.summary and "not calibrated" not in result.summary
    assert result.image.shape[0] >= 300 and result.image.dtype == np.uint8
    # the legend is drawn beside the face, and the active actions are coloured on it
    rest = explain(scorer, faces[2])
    assert rest.p < 0.5 and len(rest.active) < len(result.active)
    assert np.abs(result.image.astype(int) - rest.image.astype(int)).sum() > 0


def test_every_action_has_landmarks():
    assert set(ACTION_LANDMARKS) == set(ACTIONS)


# --- the command ---------------------------------------------------------------------------


def _parse(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=None)
    parser.add_argument("--debug", action="store_true")
    explain_cmd.register(parser.add_subparsers())
    return parser.parse_args(["explain", *map(str, argv)])


def test_cli_explains_an_image(tmp_path, astronaut_bgr, capsys):
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), astronaut_bgr)
    model = quadrant_model(tmp_path, crop_margin=0.1)
    out = tmp_path / "out"
    args = _parse(image, "--model", model, "--out", out, "--patch", "0.25")
    assert explain_cmd.run(args) == 0
    for name in ("nfcs", "quadrant_test"):
        png = cv2.imread(str(out / f"explain_{name}.png"))
        assert png is not None and png.shape[0] > 100
    lines = capsys.readouterr().out.splitlines()
    written = list(out.glob("explain_*.png"))  # the built-in scorers and the model
    assert len(written) >= 2 and sum("P(pain)" in line for line in lines) == len(written)
    assert any("not calibrated" in line for line in lines)


def test_cli_explains_a_video_frame(tmp_path, capsys):
    video = tmp_path / "grimace.mp4"
    render_video(video, [Segment(1.5, 3.0, GRIMACE, ramp_s=0.1)], 2.1, FPS, neutral_animator())
    out = tmp_path / "out"
    args = _parse(video, "--t", "2.0", "--calibration", "1.0", "--out", out)
    assert explain_cmd.run(args) == 0
    assert cv2.imread(str(out / "explain_nfcs.png")) is not None
    text = capsys.readouterr().out
    assert "t=2.00 s" in text and "eye_squeeze" in text and "(pain at threshold 0.50)" in text
    assert "not calibrated" not in text
    with pytest.raises(InputError, match="past the end"):
        explain_cmd.run(_parse(video, "--t", "9", "--out", out))


def test_cli_explains_the_other_scorers_when_a_plugin_fails(tmp_path, astronaut_bgr, capsys):
    """A plug-in that fails in onnxruntime and one that gives NaN: each says why, writes
    no image, and the command exits 1 after the others are explained."""
    from test_scorer_isolation import crashing_plugin, plugin

    from painsign.errors import PainsignError

    image = tmp_path / "face.png"
    cv2.imwrite(str(image), astronaut_bgr)
    crash, nan = crashing_plugin(tmp_path), plugin(tmp_path, "NaN Model", [np.nan])
    good = quadrant_model(tmp_path, crop_margin=0.1)
    out = tmp_path / "out"
    args = _parse(image, "--model", crash, "--model", nan, "--model", good, "--out", out)
    with pytest.raises(PainsignError) as caught:
        explain_cmd.run(args)
    assert caught.value.exit_code == 1
    message = str(caught.value)
    assert "scorer 'crash_model' failed on this frame (onnxruntime: " in message
    assert "scorer 'nan_model' failed on this frame (output NaN)" in message
    names = {p.stem.removeprefix("explain_") for p in out.glob("explain_*.png")}
    assert {"nfcs", "quadrant_test"} <= names and not names & {"crash_model", "nan_model"}
    text = capsys.readouterr().out
    assert "crash_model: scorer failed on this frame (onnxruntime: " in text
    assert "nan_model: scorer failed on this frame (output NaN); no image written" in text


@pytest.mark.parametrize("content", [b"", b"not an image nor a video", None])
def test_cli_refuses_unusable_input(tmp_path, content):
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        explain_cmd.run(_parse(path, "--out", tmp_path / "out"))
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


def test_cli_refuses_bad_options(tmp_path, astronaut_bgr):
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), astronaut_bgr)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(image.read_bytes()[:200])
    for argv in ((image, "--t", "2"), (image, "--patch", "0"), (truncated,)):
        with pytest.raises(InputError):
            explain_cmd.run(_parse(*argv, "--out", tmp_path / "out"))


# -- the legend stays inside the image -------------------------------------------------

LONG_TITLE = "Default pain score: expression CNN (FER2013) combined with the NFCS proxy"
LONG_NOTE = (
    "not calibrated: population rest values (brow bulge needs a rest image); "
    "the face was turned away for part of the recording"
)


def _edges_are_background(image, width=4):
    """Whether the outermost ``width`` pixels on the right and at the bottom are bare."""
    from painsign.scoring.explain_legend import BACKGROUND

    bg = np.array(BACKGROUND, np.uint8)
    return bool((image[:, -width:] == bg).all() and (image[-width:, -300:] == bg).all())


@pytest.mark.parametrize(
    "title, notes",
    [
        ("NFCS proxy", ()),
        ("NFCS proxy", (LONG_NOTE,)),
        (LONG_TITLE, (LONG_NOTE, LONG_NOTE + " " + LONG_NOTE, "x" * 120)),
    ],
)
def test_nfcs_legend_lies_inside_the_image(astronaut_rgb, title, notes):
    from painsign.scoring.explain_legend import nfcs_legend_layout
    from painsign.scoring.nfcs_explain import render_nfcs

    levels = {a: 1.0 for a in ACTIONS}
    layout = nfcs_legend_layout(levels, 0.55, 0.5, title, notes)
    for x1, y1, x2, y2 in layout.boxes():
        assert 0 < x1 <= x2 < layout.width and 0 < y1 <= y2 < layout.height
    drawn = "".join(t.text for t in layout.texts).replace(" ", "")
    for text in (title, *notes):  # wrapped, never cut
        assert text.replace(" ", "") in drawn
    points = np.random.default_rng(0).uniform(100, 250, (468, 2))
    image = render_nfcs(astronaut_rgb, points, [175, 70, 280, 175], levels, 0.55, 0.5, title, notes)
    assert image.shape[0] >= layout.height and image.shape[1] == 384 + layout.width
    assert _edges_are_background(image)


def test_classifier_header_lies_inside_the_image():
    from painsign.research.explain import _with_header

    view = np.full((384, 200, 3), 128, np.uint8)  # a narrow crop: the header sets the width
    image = _with_header(
        view,
        [
            f"{LONG_TITLE}: P(pain) 0.73 (threshold 0.50)",
            "occlusion 24px patch, stride 12: max drop 0.31",
        ],
    )
    assert (image[:60, -4:] == 30).all()  # no header text touches the right edge
