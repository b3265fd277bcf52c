"""``painsign models``: list the face models, their checksums and the provider; verify them."""

from __future__ import annotations

import argparse

from painsign.errors import ModelFileError
from painsign.model_store import REBUILD_HINT, ModelStore
from painsign.runtime import available_providers, create_session, session_provider
from painsign.vision.model_signatures import required, signature_mismatch


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    p = sub.add_parser("models", help="list the face models; --verify checks them")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check each file's sha256, load it in onnxruntime and check its inputs and "
        "outputs against what painsign feeds it; check that the manifest lists every model "
        "painsign needs and every .onnx file of the folder (exit 1 on failure)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List (and with ``--verify`` check) the models; return 1 when a check fails."""
    store = ModelStore(args.models)
    print(f"models folder: {store.folder}")
    print(f"execution provider: {available_providers()[0]}")
    failures = []
    for name, info in store.models.items():
        line = f"{name:28s} {info.sha256}  {info.size:>9d} B  {info.license}"
        if args.verify:
            problem, provider = _check(store, name)
            if problem is None:
                line += f"  ok ({provider})"
            else:
                failures.append(problem)
                line += f"  FAILED\n    {problem}"
        print(line)
    if not args.verify:
        return 0
    manifest = store.folder / "manifest.json"
    for name in sorted(set(required()) - set(store.models)):
        failures.append(f"{manifest} does not list model '{name}', which painsign needs")
        print(f"{name:28s} FAILED\n    not in {manifest}; {REBUILD_HINT}")
    for path in store.unlisted_files():
        failures.append(f"{path} is in the models folder but not in {manifest}")
        print(
            f"{path.name:28s} FAILED\n    not in {manifest} (unverified file); remove it "
            f"or {REBUILD_HINT}"
        )
    if not failures:
        print("all models verified")
        return 0
    print(f"{len(failures)} problem(s) found")
    raise ModelFileError(
        f"models --verify failed: {failures[0]}"
        + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
    )


def _check(store: ModelStore, name: str) -> tuple[str | None, str]:
    """Verify one model: checksum, loading, and its inputs and outputs."""
    try:
        session = create_session(store.read_verified(name), name)
    except ModelFileError as exc:
        return str(exc), ""
    if name in required():
        mismatch = signature_mismatch(name, session)
        if mismatch is not None:
            return f"model file {store.path(name)}: {mismatch}", ""
    return None, session_provider(session)
