"""A deliberately heavy user classifier (about 4.8 GFLOPs per call), random weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: Multiply-adds x 2 of the graph below, per call.
GFLOPS = round(
    2 * (224 * 224 * 64 * 27 + 224 * 224 * 64 * 64 * 9 + 112 * 112 * 64 * 64 * 9 + 64) / 1e9, 2
)


def heavy_classifier(folder: Path) -> Path:
    """Write ``heavy.onnx`` and its sidecar ``heavy.json`` into ``folder``; return the model.

    Conv 3->64 and 64->64 (3x3) at 224x224, 64->64 at 112x112, global pooling and a
    sigmoid unit: about :data:`GFLOPS` GFLOPs per call, like a mid-sized CNN.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name, *shape):
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.05).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["m2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["m2", "w3"], ["c3"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c3"], ["r3"]),
        helper.make_node("GlobalAveragePool", ["r3"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w4"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["prob"]),
    ]
    graph = helper.make_graph(
        nodes,
        "heavy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 1])],
        [
            weight("w1", 64, 3, 3, 3),
            weight("w2", 64, 64, 3, 3),
            weight("w3", 64, 64, 3, 3),
            weight("w4", 64, 1),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "heavy.onnx"
    onnx.save(model, path)
    (folder / "heavy.json").write_text(
        json.dumps(
            {
                "name": "Heavy CNN (bench)",
                "input_size": [224, 224],
                "threshold": 0.5,
                "scaling": {
                    "kind": "mean_std",
                    "mean": [0.485, 0.456, 0.406],
                    "std": [0.229, 0.224, 0.225],
                },
                "description": (
                    f"random weights, about {GFLOPS} GFLOPs per call; for painsign bench"
                ),
            }
        )
    )
    return path
