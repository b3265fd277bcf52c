"""Locate the default face models and verify them by sha256 before anything loads them.

The models folder holds ONNX files and a ``manifest.json`` describing each (checksum,
input/output names and shapes, input scaling, origin, licence). It is found, in order, from
an explicit folder, the ``PAINSIGN_MODELS`` environment variable, the copy shipped inside
the installed package (``painsign/_models``), or the ``models/`` folder of a source checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from painsign.errors import ModelFileError

ENV_VAR = "PAINSIGN_MODELS"
REBUILD_HINT = "rebuild it with `make models` in a painsign checkout, or reinstall painsign"
_PACKAGE_DIR = Path(__file__).resolve().parent


def default_models_dir() -> Path:
    """Return the folder the default models are read from.

    Returns
    -------
    pathlib.Path
        ``$PAINSIGN_MODELS`` if set, else the models shipped in the installed package, else
        the ``models/`` folder next to the package in a source checkout.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    shipped = _PACKAGE_DIR / "_models"
    if (shipped / "manifest.json").is_file():
        return shipped
    return _PACKAGE_DIR.parent / "models"


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ModelInfo:
    """What the manifest says about one model file."""

    name: str
    file: str
    sha256: str
    size: int
    role: str
    inputs: list[dict]
    outputs: list[dict]
    input_scaling: dict
    license: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking one model file against the manifest."""

    name: str
    path: Path
    ok: bool
    message: str


class ModelStore:
    """A folder of ONNX models described by a ``manifest.json``.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        The models folder; :func:`default_models_dir` when omitted.

    Raises
    ------
    ModelFileError
        When the folder or its manifest is missing or unreadable.
    """

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder).expanduser() if folder is not None else default_models_dir()
        manifest_path = self.folder / "manifest.json"
        if not manifest_path.is_file():
            raise ModelFileError(
                f"no model manifest at {manifest_path}; point --models or {ENV_VAR} at a "
                f"folder with manifest.json, or {REBUILD_HINT}"
            )
        try:
            self.manifest = json.loads(manifest_path.read_text())
            self.models = {
                name: ModelInfo(
                    name=name,
                    file=m["file"],
                    sha256=m["sha256"],
                    size=int(m["bytes"]),
                    role=m.get("role", ""),
                    inputs=m.get("inputs", []),
                    outputs=m.get("outputs", []),
                    input_scaling=m.get("input_scaling", {}),
                    license=m.get("license", "unknown"),
                )
                for name, m in self.manifest["models"].items()
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelFileError(f"model manifest {manifest_path} is unreadable ({exc})") from exc

    def info(self, name: str) -> ModelInfo:
        """Return the manifest entry of model ``name``."""
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise ModelFileError(
                f"model '{name}' is not in {self.folder / 'manifest.json'} (it lists: {known})"
            ) from None

    def path(self, name: str) -> Path:
        """Return the path of model ``name`` (not verified)."""
        return self.folder / self.info(name).file

    def read_verified(self, name: str) -> bytes:
        """Read model ``name`` and check its size and sha256 against the manifest.

        Returns
        -------
        bytes
            The file's content, safe to hand to onnxruntime.

        Raises
        ------
        ModelFileError
            Naming the file and how to rebuild it, when it is missing, truncated or altered.
        """
        info = self.info(name)
        path = self.folder / info.file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(
                f"model file {path} is missing or unreadable ({exc.strerror}); {REBUILD_HINT}"
            ) from exc
        if len(data) != info.size:
            raise ModelFileError(
                f"model file {path} is {len(data)} bytes, the manifest says {info.size} "
                f"(truncated or replaced); {REBUILD_HINT}"
            )
        digest = sha256_bytes(data)
        if digest != info.sha256:
            raise ModelFileError(
                f"model file {path} has sha256 {digest[:12]}..., the manifest says "
                f"{info.sha256[:12]}... (altered or corrupted); {REBUILD_HINT}"
            )
        return data

    def verify(self) -> list[VerifyResult]:
        """Check every model in the manifest; never raises for a bad file."""
        results = []
        for name in self.models:
            try:
                self.read_verified(name)
                results.append(VerifyResult(name, self.path(name), True, "ok"))
            except ModelFileError as exc:
                results.append(VerifyResult(name, self.path(name), False, str(exc)))
        return results
