"""The command line as a user runs it: real files in, one-line errors, exit codes."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest
from conftest import ASTRONAUT_FACE, iou
from painsign_cli import run_painsign

from painsign import __version__


def painsign(*args, env=None):
    return run_painsign(*args, timeout=120, env=env)


@pytest.fixture(scope="module")
def astronaut_file(tmp_path_factory, astronaut_bgr):
    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    cv2.imwrite(str(path), astronaut_bgr)
    return path


def test_version():
    r = painsign("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"painsign {__version__}"


def test_detect_json_on_astronaut(astronaut_file):
    r = painsign("detect", astronaut_file, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["faces"]) == 1
    face = out["faces"][0]
    assert iou(face["box"], ASTRONAUT_FACE) >= 0.5 and 0.5 < face["score"] <= 1
    assert len(face["keypoints"]) == 6 and all(len(p) == 2 for p in face["keypoints"])


def test_detect_json_with_landmarks(astronaut_file):
    r = painsign("detect", astronaut_file, "--json", "--landmarks")
    face = json.loads(r.stdout)["faces"][0]
    assert len(face["landmarks"]) == 468


def test_detect_writes_annotated_png(astronaut_file, astronaut_bgr, tmp_path):
    out = tmp_path / "sub" / "faces.png"
    r = painsign("detect", astronaut_file, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "1 face(s)" in r.stdout
    drawn = cv2.imread(str(out))
    assert drawn.shape == astronaut_bgr.shape
    changed = (drawn != astronaut_bgr).any(axis=2)
    ys, xs = changed.nonzero()
    x1, y1, x2, y2 = ASTRONAUT_FACE
    assert changed.sum() > 500  # box and landmarks drawn ...
    assert ((xs > x1 - 20) & (xs < x2 + 20) & (ys > y1 - 30) & (ys < y2 + 20)).mean() > 0.9


def test_detect_no_face(tmp_path, no_face_bgr):
    path = tmp_path / "coffee.png"
    cv2.imwrite(str(path), no_face_bgr)
    r = painsign("detect", path, "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["faces"] == []


@pytest.mark.parametrize("content", [None, b"", b"not an image at all", "truncated"])
def test_unreadable_image_is_one_line_exit_2(tmp_path, astronaut_file, content):
    path = tmp_path / "bad.png"
    if content == "truncated":
        path.write_bytes(astronaut_file.read_bytes()[:200])
    elif content is not None:
        path.write_bytes(content)
    r = painsign("detect", path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("painsign: error:")
    assert "Traceback" not in r.stderr and str(path) in r.stderr


def test_debug_shows_the_traceback(tmp_path):
    r = painsign("--debug", "detect", tmp_path / "missing.png")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_models_verify_passes():
    r = painsign("models", "--verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all models verified" in r.stdout
    assert "CPUExecutionProvider" in r.stdout or "CUDAExecutionProvider" in r.stdout
    for name in (
        "face_detection_short_range",
        "face_detection_full_range",
        "face_landmark",
        "fer2013_mini_xception",
    ):
        assert name in r.stdout


def test_models_verify_fails_on_a_corrupted_copy(store, tmp_path):
    dest = tmp_path / "models"
    shutil.copytree(store.folder, dest, ignore=shutil.ignore_patterns("tflite"))
    target = dest / "face_landmark.onnx"
    data = bytearray(target.read_bytes())
    data[-10] ^= 0x55
    target.write_bytes(bytes(data))
    r = painsign("--models", dest, "models", "--verify")
    assert r.returncode == 1
    assert "FAILED" in r.stdout and "face_landmark.onnx" in r.stdout
    r = painsign("--models", dest, "detect", "/dev/null")
    assert r.returncode != 0 and "Traceback" not in r.stderr


def test_detect_with_corrupted_models_names_the_file(store, tmp_path, astronaut_file):
    dest = tmp_path / "models"
    shutil.copytree(store.folder, dest, ignore=shutil.ignore_patterns("tflite"))
    (dest / "face_detection_full_range.onnx").write_bytes(b"\x00" * 64)
    r = painsign("--models", dest, "detect", astronaut_file)
    assert r.returncode == 1
    assert "face_detection_full_range.onnx" in r.stderr and "make models" in r.stderr
    assert r.stderr.count("\n") == 1
