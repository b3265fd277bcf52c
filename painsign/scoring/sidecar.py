"""The JSON sidecar that tells painsign how to feed a clinical engineer's ONNX classifier.

A classifier ``model.onnx`` comes with ``model.json`` (same stem, or an explicit path)
saying how the face crop is prepared and how the output becomes P(pain). Example, for a
VGG-Face style model (Carlini et al.: 224x224x3, BGR, per-channel mean subtracted; threshold
from Youden's index, Ferreira et al.)::

    {
      "name": "VGG-Face",
      "input_size": [224, 224],
      "layout": "NCHW",
      "colour_order": "BGR",
      "grayscale": false,
      "scaling": {"kind": "mean_subtract", "mean": [93.59, 104.76, 129.19]},
      "crop_margin": 0.1,
      "resize": "letterbox",
      "output": {"kind": "sigmoid"},
      "threshold": 0.494,
      "input_name": "input",
      "output_name": "prob",
      "description": "VGG-Face fine-tuned on our unit's recordings, fold 3",
      "license": "internal use only"
    }

Only ``name`` and ``input_size`` are required; the defaults are NCHW, RGB, colour,
``{"kind": "unit"}`` scaling, no margin, letterbox, ``{"kind": "sigmoid"}`` output,
threshold 0.5 and the model's first input and output.

Keys
----
name : str
    Display name. Its column-safe ``key`` (used in column names such as ``p_raw_KEY``) is
    the name in lower case with each run of characters other than ``a-z0-9`` replaced by
    one ``_``, leading and trailing ``_`` removed: ``"VGG-Face (int8)"`` -> ``vgg_face_int8``.
input_size : [width, height]
    Model input size in pixels.
layout : "NCHW" or "NHWC"
    Axis order of the input tensor (batch of one).
colour_order : "RGB" or "BGR"
    Channel order of a colour input.
grayscale : bool
    True for a one-channel input, which receives the luminance
    0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as OpenCV); ``colour_order`` is then unused.
scaling : object
    How 0..255 pixel values become model values (``mean`` and ``std`` are in the model's
    channel order; one value applies to every channel, and is required for grayscale):
    ``{"kind": "unit"}`` x / 255; ``{"kind": "mean_std", "mean": [..], "std": [..]}``
    (x / 255 - mean) / std (ImageNet style); ``{"kind": "mean_subtract", "mean": [..]}``
    x - mean on 0..255 values (VGG-Face style); ``{"kind": "raw"}`` x as 0..255 floats.
crop_margin : float
    Fraction of the face box added on each side (0.2 grows a 100-px box to 140 px).
resize : "letterbox" or "stretch"
    Letterbox keeps the crop's aspect ratio, centred, padded with black (Zhao et al.);
    stretch fills the input. Padding is black pixels *before* scaling, so after
    ``mean_subtract`` a padding value is ``-mean``.
output : object
    ``{"kind": "sigmoid"}`` one probability; ``{"kind": "logit"}`` one value, sigmoid
    applied; ``{"kind": "softmax", "pain_index": i}`` a probability vector, class ``i``
    is pain; ``{"kind": "logits", "pain_index": i}`` softmax applied, then class ``i``.
threshold : float
    Decision threshold in [0, 1] (Youden's index on the training folds).
input_name, output_name : str, optional
    Which model input and output to use; the first of each when omitted.
description, license : str, optional
    Free text shown to the user.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from painsign.errors import ModelFileError, PainsignError

LAYOUTS = ("NCHW", "NHWC")
COLOUR_ORDERS = ("RGB", "BGR")
RESIZES = ("letterbox", "stretch")
#: Scaling kind -> the keys it takes besides "kind".
SCALING_KEYS = {"unit": (), "mean_std": ("mean", "std"), "mean_subtract": ("mean",), "raw": ()}
#: Output kind -> the keys it takes besides "kind".
OUTPUT_KEYS = {"sigmoid": (), "logit": (), "softmax": ("pain_index",), "logits": ("pain_index",)}
REQUIRED = ("name", "input_size")
OPTIONAL = (
    "layout",
    "colour_order",
    "grayscale",
    "scaling",
    "crop_margin",
    "resize",
    "output",
    "threshold",
    "input_name",
    "output_name",
    "description",
    "license",
)


@dataclass(frozen=True)
class Scaling:
    """Pixel scaling of a classifier input.

    Attributes
    ----------
    kind : {"unit", "mean_std", "mean_subtract", "raw"}
        See the module documentation.
    mean, std : tuple of float or None
        Per-channel values in the model's channel order (one value: every channel).
    """

    kind: str = "unit"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def to_dict(self) -> dict:
        """Return the JSON form, ``{"kind": ...}`` plus ``mean``/``std`` when used."""
        out: dict[str, Any] = {"kind": self.kind}
        for key in SCALING_KEYS[self.kind]:
            out[key] = list(getattr(self, key))
        return out


@dataclass(frozen=True)
class Output:
    """How a classifier output becomes P(pain).

    Attributes
    ----------
    kind : {"sigmoid", "logit", "softmax", "logits"}
        See the module documentation.
    pain_index : int or None
        Index of the pain class for ``softmax`` and ``logits``.
    """

    kind: str = "sigmoid"
    pain_index: int | None = None

    def to_dict(self) -> dict:
        """Return the JSON form, ``{"kind": ...}`` plus ``pain_index`` when used."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.pain_index is not None:
            out["pain_index"] = self.pain_index
        return out


@dataclass(frozen=True)
class ClassifierSpec:
    """A validated sidecar: how to feed one ONNX classifier and read its output.

    Build it with :func:`load_spec` or :meth:`from_dict`; the attributes mirror the JSON
    keys described in :mod:`painsign.scoring.sidecar`.
    """

    name: str
    input_size: tuple[int, int]
    layout: str = "NCHW"
    colour_order: str = "RGB"
    grayscale: bool = False
    scaling: Scaling = Scaling()
    crop_margin: float = 0.0
    resize: str = "letterbox"
    output: Output = Output()
    threshold: float = 0.5
    input_name: str | None = None
    output_name: str | None = None
    description: str | None = None
    license: str | None = None

    @property
    def key(self) -> str:
        """Column-safe name: lower case, runs of other than ``a-z0-9`` become one ``_``."""
        return name_key(self.name)

    @property
    def channels(self) -> int:
        """Channels of the model input: 1 for grayscale, else 3."""
        return 1 if self.grayscale else 3

    @classmethod
    def from_dict(cls, data: Any, source: str = "sidecar") -> ClassifierSpec:
        """Validate a parsed sidecar.

        Parameters
        ----------
        data : dict
            The parsed JSON object.
        source : str
            Name of the file it came from, used in error messages.

        Returns
        -------
        ClassifierSpec

        Raises
        ------
        PainsignError
            On unknown or missing keys and wrong types or values; the message names the
            file, the key and the allowed values.
        """
        v = _Validator(source)
        obj = v.object(data, "the top level")
        v.keys(obj, REQUIRED, OPTIONAL, "")
        name = v.string(obj["name"], "name")
        if not name_key(name):
            v.fail(f"'name' {name!r} must contain a letter or digit")
        grayscale = v.boolean(obj.get("grayscale", False), "grayscale")
        return cls(
            name=name,
            input_size=v.size(obj["input_size"], "input_size"),
            layout=v.choice(obj.get("layout", "NCHW"), "layout", LAYOUTS),
            colour_order=v.choice(obj.get("colour_order", "RGB"), "colour_order", COLOUR_ORDERS),
            grayscale=grayscale,
            scaling=v.scaling(obj.get("scaling", {"kind": "unit"}), 1 if grayscale else 3),
            crop_margin=v.number(obj.get("crop_margin", 0.0), "crop_margin", low=0.0),
            resize=v.choice(obj.get("resize", "letterbox"), "resize", RESIZES),
            output=v.output(obj.get("output", {"kind": "sigmoid"})),
            threshold=v.number(obj.get("threshold", 0.5), "threshold", low=0.0, high=1.0),
            input_name=v.optional_string(obj.get("input_name"), "input_name"),
            output_name=v.optional_string(obj.get("output_name"), "output_name"),
            description=v.optional_string(obj.get("description"), "description"),
            license=v.optional_string(obj.get("license"), "license"),
        )

    def to_dict(self) -> dict:
        """Return the JSON form; :meth:`from_dict` of it gives an equal spec.

        Optional text keys that are not set are left out.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "input_size": list(self.input_size),
            "layout": self.layout,
            "colour_order": self.colour_order,
            "grayscale": self.grayscale,
            "scaling": self.scaling.to_dict(),
            "crop_margin": self.crop_margin,
            "resize": self.resize,
            "output": self.output.to_dict(),
            "threshold": self.threshold,
        }
        for key in ("input_name", "output_name", "description", "license"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def name_key(name: str) -> str:
    """Return the column-safe key of a display name (``"VGG-Face (int8)"`` -> ``vgg_face_int8``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def load_spec(path: str | Path) -> ClassifierSpec:
    """Read and validate a classifier sidecar.

    Parameters
    ----------
    path : str or pathlib.Path
        The JSON file.

    Returns
    -------
    ClassifierSpec

    Raises
    ------
    ModelFileError
        When the file is missing or unreadable.
    PainsignError
        When it is not valid JSON or breaks the rules of :meth:`ClassifierSpec.from_dict`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(
            f"classifier sidecar {path} not found; write it next to the model "
            "(see painsign.scoring.sidecar for an example)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"cannot read classifier sidecar {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PainsignError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    return ClassifierSpec.from_dict(data, source=str(path))


class _Validator:
    """Type and value checks whose errors all name the sidecar file."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, message: str) -> NoReturn:
        raise PainsignError(f"{self.source}: {message}")

    def object(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            self.fail(f"{where} must be a JSON object, not {_json_type(value)}")
        return value

    def keys(self, obj: dict, required, optional, prefix: str) -> None:
        allowed = (*required, *optional)
        for key in obj:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{prefix}{near[0]}'?)" if near else ""
                self.fail(
                    f"unknown key '{prefix}{key}'{hint}; allowed keys: "
                    + ", ".join(prefix + k for k in allowed)
                )
        for key in required:
            if key not in obj:
                self.fail(f"missing required key '{prefix}{key}'")

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(f"'{key}' must be a non-empty string, not {value!r}")
        return value

    def optional_string(self, value: Any, key: str) -> str | None:
        return None if value is None else self.string(value, key)

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(f"'{key}' must be true or false, not {value!r}")
        return value

    def choice(self, value: Any, key: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            got = "missing" if value is None else f"{value!r}"
            self.fail(f"'{key}' is {got}; allowed values: {', '.join(allowed)}")
        return value

    def number(
        self, value: Any, key: str, low: float | None = None, high: float | None = None
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"'{key}' must be a number, not {value!r}")
        value = float(value)
        if (
            not math.isfinite(value)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf" if high is None else f"{high:g}"
            self.fail(f"'{key}' is {value:g}; it must lie in [{lo}, {hi}]")
        return value

    def integer(self, value: Any, key: str, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(f"'{key}' must be an integer >= {low}, not {value!r}")
        return value

    def size(self, value: Any, key: str) -> tuple[int, int]:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(f"'{key}' must be [width, height], not {value!r}")
        width = self.integer(value[0], f"{key}[0] (width)", 1)
        height = self.integer(value[1], f"{key}[1] (height)", 1)
        return width, height

    def floats(self, value: Any, key: str, channels: int) -> tuple[float, ...]:
        lengths = (1,) if channels == 1 else (1, 3)
        if not isinstance(value, list) or len(value) not in lengths:
            need = "1 number" if channels == 1 else "3 numbers (or 1 for every channel)"
            self.fail(f"'{key}' must be a list of {need} for {channels} channel(s), not {value!r}")
        return tuple(self.number(x, f"{key}[{i}]") for i, x in enumerate(value))

    def scaling(self, value: Any, channels: int) -> Scaling:
        obj = self.object(value, "'scaling'")
        kind = self.choice(obj.get("kind"), "scaling.kind", tuple(SCALING_KEYS))
        self.keys(obj, ("kind", *SCALING_KEYS[kind]), (), "scaling.")
        mean = std = None
        if "mean" in obj:
            mean = self.floats(obj["mean"], "scaling.mean", channels)
        if "std" in obj:
            std = self.floats(obj["std"], "scaling.std", channels)
            if any(s <= 0 for s in std):
                self.fail(f"'scaling.std' values must be > 0, not {list(std)}")
        return Scaling(kind, mean, std)

    def output(self, value: Any) -> Output:
        obj = self.object(value, "'output'")
        kind = self.choice(obj.get("kind"), "output.kind", tuple(OUTPUT_KEYS))
        self.keys(obj, ("kind", *OUTPUT_KEYS[kind]), (), "output.")
        index = None
        if "pain_index" in obj:
            index = self.integer(obj["pain_index"], "output.pain_index", 0)
        return Output(kind, index)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
