"""Options shared by the commands that score faces: which scorers, and their baseline."""

from __future__ import annotations

import argparse

from painsign.errors import InputError


def add_scorer_options(p: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--no-nfcs`` and ``--calibration`` to a subcommand."""
    p.add_argument("--model", action="append", default=[], metavar="ONNX",
                   help="an ONNX pain classifier with its JSON sidecar (MODEL.json); "
                   "repeat for several")
    p.add_argument("--no-nfcs", "--no-default", dest="no_nfcs", action="store_true",
                   help="leave out the built-in scorers (the default pain score, its "
                   "expression CNN and NFCS parts); score with --model only")
    p.add_argument("--calibration", type=float, default=3.0, metavar="S",
                   help="seconds of rest face at the start for the NFCS baseline (default 3)")


def build_scorers(args: argparse.Namespace) -> list:
    """Return the scorers the options ask for: the built-in ones (the default pain score,
    then its expression and NFCS parts) unless left out, then models. The first scorer is
    the default: reports mark it, the monitor shows it first and alarms on it."""
    from painsign.model_store import ModelStore
    from painsign.scoring.default import default_scorers
    from painsign.scoring.onnx_scorer import OnnxClassifierScorer

    if args.calibration < 0:
        raise InputError("--calibration must be zero or positive")
    store = ModelStore(args.models) if getattr(args, "models", None) else None
    scorers = [] if args.no_nfcs else default_scorers(args.calibration, store)
    scorers += [OnnxClassifierScorer(m) for m in args.model]
    if not scorers:
        raise InputError("no scorer: drop --no-nfcs or give --model")
    return scorers
