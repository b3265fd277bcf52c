"""``painsign models``: list the face models, their checksums and the provider; verify them."""

from __future__ import annotations

import argparse

from painsign.errors import ModelFileError
from painsign.model_store import ModelStore
from painsign.runtime import available_providers, create_session, session_provider


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    p = sub.add_parser("models", help="list the face models; --verify checks them")
    p.add_argument(
        "--verify", action="store_true",
        help="check each file's sha256 and load it in onnxruntime (exit 1 on failure)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List (and with ``--verify`` check) the models; return 1 when a check fails."""
    store = ModelStore(args.models)
    print(f"models folder: {store.folder}")
    print(f"execution provider: {available_providers()[0]}")
    results = {r.name: r for r in store.verify()} if args.verify else {}
    failed = 0
    for name, info in store.models.items():
        line = f"{name:28s} {info.sha256}  {info.size:>9d} B  {info.license}"
        result = results.get(name)
        if result is not None and result.ok:
            try:
                session = create_session(store.read_verified(name), name)
                line += f"  ok ({session_provider(session)})"
            except ModelFileError as exc:
                failed += 1
                line += f"  FAILED\n    {exc}"
        elif result is not None:
            failed += 1
            line += f"  FAILED\n    {result.message}"
        print(line)
    if args.verify:
        print("all models verified" if not failed else f"{failed} model(s) failed verification")
    return 1 if failed else 0
