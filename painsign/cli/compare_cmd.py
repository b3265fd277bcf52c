"""``painsign compare SUMMARY.json``: how far the signs of several scorers agree."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare",
        help="compare the signs of the scorers of one analysis (research)",
        description="For every pair of scorers in SUMMARY.json (and the frames.csv beside "
        "it): Pearson r between their signs, agreement of their window sign types, and "
        "their whole-video types. Writes DIR/compare.json and DIR/compare.png.",
    )
    p.add_argument(
        "summary",
        type=Path,
        metavar="SUMMARY.json",
        help="summary.json written by painsign analyze with two or more scorers",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: the summary's folder)",
    )
    p.set_defaults(run=run)


def _fmt(x, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def run(args: argparse.Namespace) -> int:
    """Compare the scorers; print the table and write compare.json and compare.png."""
    # Imported here, like the other research commands, so that painsign starts fast.
    from painsign.research.compare import compare_scorers, draw_overlay

    result = compare_scorers(args.summary)
    out = args.out or args.summary.parent
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    draw_overlay(args.summary, out / "compare.png", result)
    print(
        f"{'scorer A':<14} {'scorer B':<14} {'pearson r':>9} {'samples':>8} "
        f"{'windows agree':>14}  whole-video types"
    )
    for p in result["pairs"]:
        agree = (
            "n/a"
            if p["window_agreement"] is None
            else f"{p['window_agreement']:.0%} of {p['n_windows']}"
        )
        same = "same" if p["same_type"] else "differ"
        print(
            f"{p['a']:<14} {p['b']:<14} {_fmt(p['pearson_r'], '9.3f'):>9} "
            f"{p['n_samples']:>8} {agree:>14}  {p['sign_type_a']} / {p['sign_type_b']} "
            f"({same})"
        )
    print(f"written to {out}/ (compare.json, compare.png)")
    return 0
