"""A clinical engineer's ONNX pain classifier as a :class:`~painsign.scoring.base.Scorer`.

The model comes with a JSON sidecar (:mod:`painsign.scoring.sidecar`) saying how to feed
it. At load the sidecar is checked against the model's real input and output shapes, so
a mismatch is reported before any frame is scored. Per frame: the face box, grown by
``crop_margin``, is cut from the frame (parts outside it black), letterboxed or
stretched to ``input_size``, put in the model's colour order or turned to luminance,
scaled, laid out as NCHW or NHWC, and the output turned into P(pain).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import NoReturn

import cv2
import numpy as np
import onnxruntime as ort

from painsign.errors import InputError, ModelFileError, PainsignError
from painsign.runtime import create_session, session_provider
from painsign.scoring.base import FaceFrame, Score, ScoreError
from painsign.scoring.guard import value_text
from painsign.scoring.sidecar import ClassifierSpec, load_spec
from painsign.vision.geometry import grow_box

#: ITU-R BT.601 luminance weights for R, G, B (what OpenCV's RGB2GRAY uses).
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: How far a "sigmoid" or "softmax" value may stray outside [0, 1] (float16 models).
PROB_SLACK = 1e-3
#: How far the sum of a "softmax" output may stray from 1.
SUM_SLACK = 1e-2


class OnnxClassifierScorer:
    """P(pain) from a user-supplied ONNX face classifier described by a JSON sidecar.

    Parameters
    ----------
    model_path : str or pathlib.Path
        The ``.onnx`` file.
    spec_path : str or pathlib.Path, optional
        The sidecar; ``model_path`` with the suffix ``.json`` when omitted.
    providers : list of str, optional
        onnxruntime providers; CUDA when present, else CPU.

    Attributes
    ----------
    name : str
        The sidecar's column-safe key (``spec.key``).
    display_name : str
        The sidecar's ``name``.
    threshold : float
        Decision threshold from the sidecar.
    spec : ClassifierSpec
        The validated sidecar.
    provider : str
        The onnxruntime provider the model runs on.
    input_name, output_name : str
        The model input fed and the output read.

    Raises
    ------
    ModelFileError
        When the model or sidecar is missing or onnxruntime cannot load the model.
    PainsignError
        When the sidecar is invalid or does not match the model's input or output.
    """

    def __init__(
        self,
        model_path: str | Path,
        spec_path: str | Path | None = None,
        providers: list[str] | None = None,
    ):
        self.model_path = Path(model_path)
        self.spec_path = (
            Path(spec_path) if spec_path is not None else (self.model_path.with_suffix(".json"))
        )
        try:
            model = self.model_path.read_bytes()
        except FileNotFoundError:
            raise ModelFileError(f"classifier model {self.model_path} not found") from None
        except OSError as exc:
            raise ModelFileError(f"cannot read classifier model {self.model_path}: {exc}") from exc
        self.spec = load_spec(self.spec_path)
        self.name = self.spec.key
        self.display_name = self.spec.name
        self.threshold = self.spec.threshold
        self.session = create_session(model, self.model_path.name, providers)
        # A run that fails raises, and painsign reports it in one line: onnxruntime's own
        # error log of it would reach stderr once per frame.
        self._run_options = ort.RunOptions()
        self._run_options.log_severity_level = 4
        self.provider = session_provider(self.session)
        self.input_name = self._check_input()
        self.output_name = self._check_output()

    def score(self, frame: FaceFrame) -> Score:
        """Return P(pain) for the face in ``frame``.

        Parameters
        ----------
        frame : FaceFrame
            The frame and its face.

        Returns
        -------
        Score
            ``p`` in [0, 1]; NaN with the reason when there is no usable face box.
            ``details`` is empty.

        Raises
        ------
        ScoreError
            When onnxruntime fails to run the model on this face, or its output is not
            finite or not a probability (see :meth:`probability`).
        """
        box = frame.face.box
        if not frame.face.found or box is None or not _usable_box(box):
            return Score.unscorable("no usable face box")
        x = self.preprocess(frame.rgb, box)
        try:
            y = self.session.run([self.output_name], {self.input_name: x}, self._run_options)[0]
        except Exception as exc:  # onnxruntime raises several unrelated types
            raise ScoreError(_run_failure(exc)) from exc
        return Score(self.probability(y), {})

    def reset(self) -> None:
        """Do nothing: the classifier keeps no per-recording state."""

    def preprocess(self, rgb: np.ndarray, box) -> np.ndarray:
        """Return the exact tensor fed to the model for one face.

        The box grows by ``crop_margin`` of its width (height) on each side and is rounded
        to whole pixels; parts outside the frame are black. ``letterbox`` resizes it
        keeping its aspect ratio, centred on black; ``stretch`` fills the input. Padding
        is black pixels before scaling (after ``mean_subtract`` it reads ``-mean``).
        Shrinking uses area averaging, enlarging bilinear interpolation.

        Parameters
        ----------
        rgb : numpy.ndarray
            The frame, (H, W, 3) RGB uint8.
        box : array-like
            Face box ``[x1, y1, x2, y2]`` in pixels.

        Returns
        -------
        numpy.ndarray
            float32, (1, C, H, W) for NCHW or (1, H, W, C) for NHWC, C-contiguous.

        Raises
        ------
        InputError
            When ``rgb`` is not (H, W, 3) uint8 or the box is empty or not finite.
        """
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputError(f"expected an (H, W, 3) uint8 RGB frame, got {rgb.dtype} {rgb.shape}")
        if not _usable_box(box):
            raise InputError(f"face box must be 4 finite numbers with x2 > x1, y2 > y1: {box}")
        spec = self.spec
        face = _cut(rgb, grow_box(box, spec.crop_margin))
        img = _fit(face, *spec.input_size, letterbox=spec.resize == "letterbox")
        x = img.astype(np.float32)
        if spec.grayscale:
            x = (x @ LUMA)[:, :, None]
        elif spec.colour_order == "BGR":
            x = x[:, :, ::-1]
        x = _scale(x, spec)
        if spec.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None], dtype=np.float32)

    def probability(self, y: np.ndarray) -> float:
        """Turn the model's raw output for one face into P(pain).

        Parameters
        ----------
        y : numpy.ndarray
            The output tensor (batch of one).

        Returns
        -------
        float
            P(pain) in [0, 1].

        Raises
        ------
        ScoreError
            When the output is not finite (``"output NaN"``), or a ``sigmoid`` /
            ``softmax`` output is not a probability (``"output 1.7 out of [0, 1]"``; the
            message says to set ``logit`` / ``logits`` if the model gives raw scores).
        PainsignError
            When the output has the wrong number of values.
        """
        out = self.spec.output
        v = np.asarray(y, dtype=np.float64).ravel()
        if not self._count_ok(v.size):
            self._mismatch(
                self._output_rule(),
                f"{self.model_path.name} output '{self.output_name}' gave {v.size} values",
            )
        if not np.all(np.isfinite(v)):
            raise ScoreError(f"output {_values_text(v)}")
        if out.kind == "logit":
            return _sigmoid(v[0])
        if out.kind == "logits":
            e = np.exp(v - v.max())
            return float(e[out.pain_index] / e.sum())
        if (
            v.min() < -PROB_SLACK
            or v.max() > 1 + PROB_SLACK
            or (out.kind == "softmax" and abs(v.sum() - 1) > SUM_SLACK)
        ):
            fix = "logit" if out.kind == "sigmoid" else "logits"
            what = (
                "out of [0, 1]"
                if v.min() < -PROB_SLACK or v.max() > 1 + PROB_SLACK
                else f"sums to {v.sum():.4g}, not 1"
            )
            raise ScoreError(
                f"output {_values_text(v)} {what}, not a probability as output kind "
                f"'{out.kind}' in {self.spec_path.name} says; if the model gives raw scores "
                f"set output kind '{fix}'"
            )
        p = v[0] if out.kind == "sigmoid" else v[out.pain_index]
        return float(min(1.0, max(0.0, p)))

    def _check_input(self) -> str:
        """Return the input to feed, after checking the sidecar against its shape."""
        spec = self.spec
        inputs = {i.name: i for i in self.session.get_inputs()}
        name = spec.input_name or next(iter(inputs))
        where = f"{self.model_path.name} input '{name}'"
        if name not in inputs:
            self._mismatch(
                f"input_name '{name}'",
                f"{self.model_path.name} has inputs " + ", ".join(f"'{n}'" for n in inputs),
            )
        if len(inputs) > 1:
            raise PainsignError(
                f"{self.model_path.name} has {len(inputs)} inputs ("
                + ", ".join(f"'{n}'" for n in inputs)
                + "); painsign feeds one image: export the model with a single input"
            )
        info = inputs[name]
        if info.type != "tensor(float)":
            raise PainsignError(
                f"{where} is {info.type}; painsign feeds float32: export it with a float input"
            )
        shape = list(info.shape)
        w, h = spec.input_size
        c = spec.channels
        if not _fits(shape, _layout_shape(spec.layout, c, h, w)):
            other = "NHWC" if spec.layout == "NCHW" else "NCHW"
            hint = ""
            if _fits(shape, _layout_shape(other, c, h, w)):
                hint = f'; it looks like {other}: set "layout": "{other}"'
            elif _fits(shape, _layout_shape(spec.layout, 4 - c, h, w)):
                hint = f'; set "grayscale": {"false" if spec.grayscale else "true"}'
            self._mismatch(
                f"input_size {w}x{h} {spec.layout} with {c} channel{'s' if c > 1 else ''}",
                f"{where} has shape {_shape_str(shape)}{hint}",
            )
        return name

    def _check_output(self) -> str:
        """Return the output to read, after checking the sidecar against its shape."""
        outputs = {o.name: o for o in self.session.get_outputs()}
        name = self.spec.output_name or next(iter(outputs))
        if name not in outputs:
            self._mismatch(
                f"output_name '{name}'",
                f"{self.model_path.name} has outputs " + ", ".join(f"'{n}'" for n in outputs),
            )
        where = f"{self.model_path.name} output '{name}'"
        info = outputs[name]
        if info.type not in ("tensor(float)", "tensor(double)", "tensor(float16)"):
            raise PainsignError(f"{where} is {info.type}; painsign reads a float output")
        shape = list(info.shape)
        count = _static_count(shape)
        if count is not None and not self._count_ok(count):
            self._mismatch(
                self._output_rule(), f"{where} has shape {_shape_str(shape)} ({count} values)"
            )
        return name

    def _count_ok(self, n: int) -> bool:
        out = self.spec.output
        if out.kind in ("sigmoid", "logit"):
            return n == 1
        return n >= max(2, (out.pain_index or 0) + 1)

    def _output_rule(self) -> str:
        out = self.spec.output
        if out.kind in ("sigmoid", "logit"):
            return f"output kind '{out.kind}' (exactly 1 value)"
        least = max(2, (out.pain_index or 0) + 1)
        return (
            f"output kind '{out.kind}' with pain_index {out.pain_index} (at least {least} values)"
        )

    def _mismatch(self, said: str, found: str) -> NoReturn:
        raise PainsignError(f"{self.spec_path.name} says {said} but {found}")


def _run_failure(exc: Exception) -> str:
    """onnxruntime's run error in one line, without its error-code prefix and C++ source
    location (``"onnxruntime: ... running Reshape node ... requested shape:{1,7}"``)."""
    text = " ".join(str(exc).split())
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
    text = re.sub(r"Status Message: \S+:\d+ .*?\) ", "", text)
    return f"onnxruntime: {text}"


def _values_text(v: np.ndarray) -> str:
    """``NaN``, ``1.7`` for one value; ``[inf, 0]`` for several (at most 8 shown)."""
    texts = [value_text(float(x)) for x in v[:8]]
    if v.size == 1:
        return texts[0]
    return "[" + ", ".join(texts) + (", ..." if v.size > 8 else "") + "]"


def _is_static(d) -> bool:
    return isinstance(d, int) and d > 0


def _layout_shape(layout: str, c: int, h: int, w: int) -> list[int]:
    return [1, c, h, w] if layout == "NCHW" else [1, h, w, c]


def _fits(shape: list, want: list[int]) -> bool:
    """Whether a model shape accepts ``want``; dynamic dims (None, names, 0) accept any."""
    return len(shape) == len(want) and all(
        not _is_static(d) or d == w for d, w in zip(shape, want, strict=True)
    )


def _static_count(shape: list) -> int | None:
    """Values in one sample's output, or None when a non-batch dim is dynamic."""
    dims = shape[1:] if shape and not _is_static(shape[0]) else shape
    if not all(_is_static(d) for d in dims):
        return None
    return math.prod(dims)


def _shape_str(shape: list) -> str:
    return "[" + ", ".join(str(d) if d is not None else "None" for d in shape) + "]"


def _usable_box(box) -> bool:
    b = np.asarray(box, dtype=np.float64).ravel()
    return b.size == 4 and bool(np.all(np.isfinite(b))) and b[2] > b[0] and b[3] > b[1]


def _cut(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Return the pixels of an integer box; the parts outside the frame are black."""
    x1, y1, x2, y2 = box
    h, w = rgb.shape[:2]
    out = np.zeros((y2 - y1, x2 - x1, 3), dtype=np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = rgb[sy1:sy2, sx1:sx2]
    return out


def _resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    if img.shape[1] == width and img.shape[0] == height:
        return img
    shrink = width <= img.shape[1] and height <= img.shape[0]
    return cv2.resize(
        img, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )


def _fit(img: np.ndarray, width: int, height: int, letterbox: bool) -> np.ndarray:
    """Resize to ``width`` x ``height``: stretched, or letterboxed (centred, black bars)."""
    if not letterbox:
        return _resize(img, width, height)
    s = min(width / img.shape[1], height / img.shape[0])
    nw = min(width, max(1, round(img.shape[1] * s)))
    nh = min(height, max(1, round(img.shape[0] * s)))
    out = np.zeros((height, width, 3), dtype=np.uint8)
    x0, y0 = (width - nw) // 2, (height - nh) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = _resize(img, nw, nh)
    return out


def _scale(x: np.ndarray, spec: ClassifierSpec) -> np.ndarray:
    """Scale 0..255 float pixels (model channel order, last axis) as the sidecar says."""
    s = spec.scaling
    if s.kind == "unit":
        return x / np.float32(255)
    if s.kind == "mean_std":
        mean, std = np.asarray(s.mean, np.float32), np.asarray(s.std, np.float32)
        return (x / np.float32(255) - mean) / std
    if s.kind == "mean_subtract":
        return x - np.asarray(s.mean, np.float32)
    return x


def _sigmoid(z: float) -> float:
    # Written for both signs so that exp never overflows.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
