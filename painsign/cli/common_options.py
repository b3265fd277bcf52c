"""Options shared by several commands, defined once so that their meaning cannot drift."""

from __future__ import annotations

import argparse
from pathlib import Path

from painsign.vision.detector import DETECTORS

#: What the other detector does when the first finds no face (video and clips).
BACKUP = "the other model backs it up when it finds no face"


def add_detector_option(p: argparse.ArgumentParser, backup: str = BACKUP) -> None:
    """Add ``--detector``: the BlazeFace model tried first.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.
    backup : str
        What happens when it misses a face, for the help text.
    """
    p.add_argument(
        "--detector",
        choices=sorted(DETECTORS),
        default="full_range",
        help=f"BlazeFace model tried first (default: full_range); {backup}",
    )


def add_sign_types_option(p: argparse.ArgumentParser) -> None:
    """Add ``--sign-types MODEL.json``: a sign-type model from ``painsign cluster``."""
    p.add_argument(
        "--sign-types",
        type=Path,
        default=None,
        metavar="MODEL.json",
        help="sign-type model from painsign cluster (default: the paper's centroids)",
    )
