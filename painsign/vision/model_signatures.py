"""The inputs and outputs each face model must have for the code that runs it.

A manifest can be edited to match swapped or foreign files (their sha256 then checks
out), so ``painsign models --verify`` also loads each file and compares what onnxruntime
reports with what the detector, the mesh and the expression classifier feed and read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from painsign.errors import ModelFileError

Tensor = tuple[str, tuple[int, ...]]
#: Points of MediaPipe's face mesh; the model outputs x, y, z of each.
MESH_POINTS = 468


@dataclass(frozen=True)
class Signature:
    """Names and shapes of a model's inputs and outputs, in session order."""

    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]


def _detector(size: int, anchors: int, boxes: str, scores: str) -> Signature:
    return Signature(
        inputs=(("input", (1, 3, size, size)),),
        outputs=((boxes, (1, anchors, 16)), (scores, (1, anchors, 1))),
    )


@cache
def required() -> dict[str, Signature]:
    """Return what painsign needs of each model, by manifest name.

    Built on first use: the modules that run the models import this one.
    """
    from painsign.vision.anchors import FULL_RANGE, SHORT_RANGE, ssd_anchors
    from painsign.vision.expression import EXPRESSIONS
    from painsign.vision.expression import INPUT_SIZE as EXPRESSION_SIZE
    from painsign.vision.expression import MODEL_NAME as EXPRESSION_MODEL
    from painsign.vision.landmarks import INPUT_SIZE as MESH_SIZE
    from painsign.vision.landmarks import MODEL_NAME as MESH_MODEL

    return {
        "face_detection_full_range": _detector(
            FULL_RANGE["input_size"],
            len(ssd_anchors(**FULL_RANGE)),
            "reshaped_regressor_face_4",
            "reshaped_classifier_face_4",
        ),
        "face_detection_short_range": _detector(
            SHORT_RANGE["input_size"],
            len(ssd_anchors(**SHORT_RANGE)),
            "regressors",
            "classificators",
        ),
        MESH_MODEL: Signature(
            inputs=(("input_1", (1, 3, MESH_SIZE, MESH_SIZE)),),
            outputs=(("conv2d_20", (1, 3 * MESH_POINTS, 1, 1)), ("conv2d_30", (1, 1, 1, 1))),
        ),
        EXPRESSION_MODEL: Signature(
            inputs=(("input", (1, 1, EXPRESSION_SIZE, EXPRESSION_SIZE)),),
            outputs=(("probabilities", (1, len(EXPRESSIONS))),),
        ),
    }


def check_signature(name: str, session, path) -> None:
    """Refuse a loaded model whose inputs or outputs are not what painsign feeds and reads.

    Parameters
    ----------
    name : str
        The model's manifest name (a key of :func:`required`).
    session : onnxruntime.InferenceSession
        The model, loaded.
    path : pathlib.Path
        Its file, for the message.

    Raises
    ------
    ModelFileError
        Naming the file and the first mismatch (a swapped or foreign model whose
        manifest entry was edited to match it).
    """
    mismatch = signature_mismatch(name, session)
    if mismatch is not None:
        raise ModelFileError(f"model file {path} is not a {name} model: {mismatch}")


def signature_mismatch(name: str, session) -> str | None:
    """Say how a loaded model differs from what painsign needs of model ``name``.

    Parameters
    ----------
    name : str
        A key of :func:`required`.
    session : onnxruntime.InferenceSession
        The model, loaded.

    Returns
    -------
    str or None
        The first difference (tensor count, name, rank or dimensions), or None when the
        model fits.
    """
    need = required()[name]
    for kind, wanted, have in (
        ("input", need.inputs, session.get_inputs()),
        ("output", need.outputs, session.get_outputs()),
    ):
        if len(have) != len(wanted):
            return f"has {len(have)} {kind}(s), {name} needs {len(wanted)}"
        for i, ((want_name, want_shape), tensor) in enumerate(zip(wanted, have, strict=True)):
            shape = tuple(tensor.shape)
            if tensor.name != want_name:
                return f"{kind} {i} is named {tensor.name!r}, {name} needs {want_name!r}"
            if len(shape) != len(want_shape):
                return (
                    f"{kind} {i} ({tensor.name}) has rank {len(shape)}, {name} needs "
                    f"rank {len(want_shape)} {list(want_shape)}"
                )
            if shape != want_shape:
                return (
                    f"{kind} {i} ({tensor.name}) has shape {list(shape)}, {name} needs "
                    f"{list(want_shape)}"
                )
    return None
