"""A built wheel carries the default models and finds them with no source checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from painsign_cli import run_painsign

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp),
            str(REPO),
        ],
        check=True,
        timeout=300,
    )
    wheel = next(tmp.glob("painsign-*.whl"))
    site = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    return wheel, site


@pytest.mark.slow
def test_wheel_contains_models_and_licences(installed_wheel):
    wheel, _ = installed_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (
        "face_detection_short_range.onnx",
        "face_detection_full_range.onnx",
        "face_landmark.onnx",
        "manifest.json",
        "LICENSE-mediapipe-Apache-2.0.txt",
        "NOTICE.md",
    ):
        assert f"painsign/_models/{f}" in names
    assert not any(n.endswith(".tflite") for n in names)


@pytest.mark.slow
def test_installed_wheel_finds_and_verifies_its_models(installed_wheel, tmp_path):
    _, site = installed_wheel
    env = {k: v for k, v in os.environ.items() if k != "PAINSIGN_MODELS"}
    env["PYTHONPATH"] = str(site)
    code = (
        "import painsign, sys; from painsign.model_store import ModelStore; s = ModelStore(); "
        "assert str(s.folder).startswith(sys.argv[1]), s.folder; "
        "assert all(r.ok for r in s.verify()); print(s.folder)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(site)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("painsign/_models")
    r = run_painsign("models", "--verify", cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0 and "all models verified" in r.stdout, r.stdout + r.stderr
