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
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"model manifest {manifest_path} is unreadable ({exc})") from None
        models = self.manifest.get("models") if isinstance(self.manifest, dict) else None
        if not isinstance(models, dict):
            raise ModelFileError(
                f"model manifest {manifest_path} has no 'models' table; {REBUILD_HINT}"
            )
        self.models = {name: _model_info(name, m, manifest_path) for name, m in models.items()}

    def unlisted_files(self) -> list[Path]:
        """Return the ``.onnx`` files of the folder that the manifest does not list."""
        listed = {info.file for info in self.models.values()}
        return sorted(p for p in self.folder.glob("*.onnx") if p.name not in listed)

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


_SHA256_CHARS = frozenset("0123456789abcdef")


def _model_info(name: str, entry: object, manifest_path: Path) -> ModelInfo:
    """Check the types of one manifest entry (a hand-edited manifest must fail clearly)."""

    def bad(what: str) -> ModelFileError:
        return ModelFileError(
            f"model manifest {manifest_path}: model '{name}' {what}; {REBUILD_HINT}"
        )

    if not isinstance(entry, dict):
        raise bad("is not a table")
    file, sha, size = entry.get("file"), entry.get("sha256"), entry.get("bytes")
    if not isinstance(file, str) or not file or Path(file).name != file:
        raise bad(f"has 'file' {file!r}, not a file name in the models folder")
    if not isinstance(sha, str) or len(sha) != 64 or not set(sha) <= _SHA256_CHARS:
        raise bad(f"has 'sha256' {sha!r}, not 64 lower-case hex digits")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise bad(f"has 'bytes' {size!r}, not a whole number of bytes")
    fields = {"inputs": list, "outputs": list, "input_scaling": dict, "role": str, "license": str}
    for key, kind in fields.items():
        if key in entry and not isinstance(entry[key], kind):
            raise bad(f"has '{key}' of type {type(entry[key]).__name__}, not {kind.__name__}")
    return ModelInfo(
        name=name,
        file=file,
        sha256=sha,
        size=size,
        role=entry.get("role", ""),
        inputs=entry.get("inputs", []),
        outputs=entry.get("outputs", []),
        input_scaling=entry.get("input_scaling", {}),
        license=entry.get("license", "unknown"),
    )
