"""Options shared by the commands that score faces: which scorers, and their baseline."""

from __future__ import annotations

import argparse

from painsign.errors import InputError


def add_scorer_options(p: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--no-nfcs`` and ``--calibration`` to a subcommand."""
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ONNX",
        help="an ONNX pain classifier with its JSON sidecar (MODEL.json); repeat for several",
    )
    p.add_argument(
        "--no-nfcs",
        "--no-default",
        dest="no_nfcs",
        action="store_true",
        help="leave out the built-in scorers (the default pain score, its "
        "expression CNN and NFCS parts); score with --model only",
    )
    p.add_argument(
        "--calibration",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds of rest face at the start for the NFCS baseline (default 3)",
    )


def build_scorers(args: argparse.Namespace) -> list:
    """Return the scorers the options ask for: the built-in ones (the default pain score,
    then its expression and NFCS parts) unless left out, then models. The first scorer is
    the default: reports mark it, the monitor shows it first and alarms on it.

    Raises
    ------
    InputError
        For a negative ``--calibration``, no scorer at all, or a plug-in whose name
        (its column key) is that of a built-in scorer or of another plug-in: checked
        when the models are loaded, before any video is read.
    """
    from painsign.model_store import ModelStore
    from painsign.scoring.default import default_scorers
    from painsign.scoring.onnx_scorer import OnnxClassifierScorer

    if args.calibration < 0:
        raise InputError("--calibration must be zero or positive")
    store = ModelStore(args.models) if getattr(args, "models", None) else None
    plugins = [OnnxClassifierScorer(m) for m in args.model]
    check_plugin_names(plugins)
    scorers = [] if args.no_nfcs else default_scorers(args.calibration, store)
    scorers += plugins
    if not scorers:
        raise InputError("no scorer: drop --no-nfcs or give --model")
    return scorers


#: Names of the built-in scorers (their columns ``p_raw_pain`` etc.); no plug-in may take one.
BUILT_IN_NAMES = ("pain", "expression", "nfcs")


def check_plugin_names(plugins: list) -> None:
    """Refuse plug-ins whose column key is a built-in scorer's or another plug-in's.

    Parameters
    ----------
    plugins : list of OnnxClassifierScorer
        The ``--model`` scorers, in order.

    Raises
    ------
    InputError
        Naming the clash, the files and the fix (rename in the model's JSON sidecar).
    """
    seen: dict[str, object] = {}
    for p in plugins:
        said = f"--model {p.model_path.name}: its name '{p.display_name}' (key '{p.name}')"
        if p.name in BUILT_IN_NAMES:
            raise InputError(
                f"{said} is that of a built-in scorer ({', '.join(BUILT_IN_NAMES)}); "
                f'give it another "name" in {p.spec_path}'
            )
        if p.name in seen:
            other = seen[p.name]
            raise InputError(
                f"{said} is also that of --model {other.model_path.name}; give each a "
                f'distinct "name" in its JSON ({other.spec_path}, {p.spec_path})'
            )
        seen[p.name] = p
