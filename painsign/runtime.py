"""onnxruntime sessions: provider choice (CUDA when present, else CPU) and safe loading."""

from __future__ import annotations

import logging

import onnxruntime as ort

from painsign import ORT_IMPORTED_FIRST
from painsign.errors import ModelFileError

logger = logging.getLogger(__name__)

if ORT_IMPORTED_FIRST:
    # Too late for ORT_DISABLE_TELEMETRY (see painsign/__init__.py); switch off what can
    # still be switched off and say so.
    ort.disable_telemetry_events()
    logger.warning(
        "onnxruntime was imported before painsign, so its telemetry could not be switched "
        "off; import painsign first or set ORT_DISABLE_TELEMETRY=1 in the environment"
    )

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

#: The CUDA provider computes in full float32. By default onnxruntime lets cuDNN and
#: cuBLAS round float32 products to TF32 (a 10-bit mantissa) on Ampere and later GPUs:
#: on an H200 that moved the face mesh by up to 0.009 and the detectors by more than 1e-3
#: from the CPU (1.2e-4 for the mesh without it). These models are small; the GPU's speed
#: is not what limits them.
CUDA_OPTIONS = {"use_tf32": "0"}


def available_providers() -> list[str]:
    """Return the execution providers painsign would use, best first.

    Returns
    -------
    list of str
        ``["CUDAExecutionProvider", "CPUExecutionProvider"]`` when onnxruntime-gpu and a
        CUDA device are present, else ``["CPUExecutionProvider"]``.
    """
    have = ort.get_available_providers()
    return [CUDA, CPU] if CUDA in have else [CPU]


def create_session(
    model: bytes,
    name: str,
    providers: list[str] | None = None,
    threads: int = 1,
) -> ort.InferenceSession:
    """Create an inference session from verified model bytes.

    Parameters
    ----------
    model : bytes
        The ONNX file's content, already checked by sha256.
    name : str
        Name used in error messages.
    providers : list of str, optional
        Execution providers; :func:`available_providers` when omitted.
    threads : int
        Intra-op threads. One is the default: on a shared 2-core machine two threads were
        slower than one for these small models.

    Returns
    -------
    onnxruntime.InferenceSession

    Raises
    ------
    ModelFileError
        When onnxruntime cannot load the model.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    chosen = [(p, CUDA_OPTIONS) if p == CUDA else p for p in providers or available_providers()]
    try:
        return ort.InferenceSession(model, sess_options=options, providers=chosen)
    except Exception as exc:  # onnxruntime raises several unrelated types
        raise ModelFileError(f"onnxruntime could not load model '{name}': {exc}") from exc


def session_provider(session: ort.InferenceSession) -> str:
    """Return the provider a session actually runs on (the first one it accepted)."""
    return session.get_providers()[0]
