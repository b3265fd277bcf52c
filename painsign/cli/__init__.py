"""The ``painsign`` command line: one subcommand per job, one clear line per error."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from painsign import __version__
from painsign.cli import (
    analyze_cmd,
    bench_cmd,
    central_cmd,
    cluster_cmd,
    compare_cmd,
    detect_cmd,
    evaluate_cmd,
    explain_cmd,
    history_cmd,
    models_cmd,
    monitor_cmd,
    replay_unit_cmd,
)
from painsign.cli.chatter import quiet_opencv, route_chatter
from painsign.errors import PainsignError

COMMANDS = (
    models_cmd,
    detect_cmd,
    analyze_cmd,
    monitor_cmd,
    history_cmd,
    evaluate_cmd,
    cluster_cmd,
    compare_cmd,
    explain_cmd,
    bench_cmd,
    central_cmd,
    replay_unit_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="painsign",
        description="A continuous pain sign for newborns from face video. Research "
        "software: the default score (an adult-trained expression network and an NFCS proxy) "
        "is a research signal, not a validated clinical tool.",
    )
    parser.add_argument("--version", action="version", version=f"painsign {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument(
        "--models",
        metavar="DIR",
        help="folder with the face models and manifest.json (default: the bundled models, "
        "or $PAINSIGN_MODELS)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


#: The umask of a painsign process: no access for group and others.
PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Errors print one line on stderr and give a non-zero status (1 for a failed check,
    2 for unusable input, 3 for an internal error); ``--debug`` shows the traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    # Everything painsign writes can identify a patient (face boxes and images, pain
    # signs, sessions, alarms): files are created 0600 and folders 0700, whatever the
    # user's umask (the session database's WAL files follow the database's mode).
    os.umask(PRIVATE_UMASK)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="painsign: %(levelname)s: %(message)s",
    )
    route_chatter()
    if not args.debug:
        quiet_opencv()
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except PainsignError as exc:
        if args.debug:
            raise
        print(f"painsign: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("painsign: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"painsign: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
