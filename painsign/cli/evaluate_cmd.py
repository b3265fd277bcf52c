"""``painsign evaluate LABELS.csv``: AUC, Youden thresholds and folds against labelled items."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from painsign.analysis.replay import SignSettings
from painsign.cli.common_options import add_detector_option
from painsign.cli.outputs import check_out_dir
from painsign.cli.scorer_options import add_scorer_options, build_scorers
from painsign.errors import InputError, PainsignError
from painsign.model_store import ModelStore
from painsign.vision.detector import FaceDetector
from painsign.vision.landmarks import FaceLandmarker
from painsign.vision.tracker import FaceTracker


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    p = sub.add_parser(
        "evaluate",
        help="evaluate the scorers against labelled videos and images (research)",
        description="Score every item of LABELS.csv (columns path,label and optionally "
        "subject,start,end,frame_labels; see painsign/research/labels.py) and write "
        "DIR/evaluation.json, DIR/scores.csv, DIR/roc.png, DIR/pr.png and "
        "DIR/calibration.png. A video's score is the mean of its pain sign, an image's "
        "the P(pain) of its face.",
    )
    p.add_argument("labels", type=Path, metavar="LABELS.csv", help="the labelled items")
    add_scorer_options(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: ./painsign-eval-LABELS_NAME)",
    )
    p.add_argument(
        "--folds",
        type=int,
        default=None,
        metavar="K",
        help="also choose the Youden threshold on K-1 folds of subjects and "
        "test it on the held-out fold (leave subjects out)",
    )
    p.add_argument(
        "--groups",
        default=None,
        metavar="COLUMN",
        help="column of LABELS.csv naming the subject (default: subject)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the fold assignment (0)")
    add_detector_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run)


def _num(x, fmt: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _shown(result, name: str, p: float) -> str:
    """One scorer's score of an item as the progress line shows it."""
    failure = result.failures.get(name)
    shown = _num(p) if math.isfinite(p) else ("-" if failure else "no face")
    return shown if failure is None else f"{shown} (scorer {failure})"


def _print_item(done: int, total: int, result) -> None:
    scores = ", ".join(f"{n} {_shown(result, n, p)}" for n, p in result.scores.items())
    print(f"[{done}/{total}] {result.item.name}: {scores}", file=sys.stderr, flush=True)


def print_table(result: dict) -> None:
    """Print a short table per scorer (and the cross-validated and per-frame results)."""
    subjects = f", {result['subjects']} subjects" if result["subjects"] else ""
    print(
        f"{result['items']} items ({result['pain']} pain, {result['no_pain']} no pain"
        f"{subjects}); research evaluation, not a clinical validation"
    )
    print(
        f"{'scorer':<12} {'n':>4} {'no face':>7} {'failed':>6} {'AUC':>6} {'Brier':>6} | "
        f"{'Youden thr':>10} {'sens':>5} {'spec':>5} | {'own thr':>7} {'sens':>5} "
        f"{'spec':>5} {'acc':>5}"
    )
    for name, e in result["scorers"].items():
        yd, own = e.get("youden") or {}, e.get("at_threshold") or {}
        print(
            f"{name:<12} {e['n']:>4} {e['n_no_face']:>7} {e['n_failed']:>6} "
            f"{_num(e.get('auc')):>6} "
            f"{_num(e.get('brier')):>6} | {_num(yd.get('threshold')):>10} "
            f"{_num(yd.get('sensitivity'), '.2f'):>5} {_num(yd.get('specificity'), '.2f'):>5}"
            f" | {_num(e['threshold']):>7} {_num(own.get('sensitivity'), '.2f'):>5} "
            f"{_num(own.get('specificity'), '.2f'):>5} {_num(own.get('accuracy'), '.2f'):>5}"
        )
    for name, e in result["scorers"].items():
        cv = e.get("cross_validation")
        if cv:
            thr = " ".join(_num(f["threshold"]) for f in cv["folds"])
            pooled = cv["pooled"]
            print(
                f"  {name}, {cv['k']} folds leaving subjects out: thresholds {thr}; "
                f"held out sens {_num(pooled['sensitivity'], '.2f')} spec "
                f"{_num(pooled['specificity'], '.2f')} acc "
                f"{_num(pooled['accuracy'], '.2f')}"
            )
        frames = e.get("frames")
        if frames and frames.get("auc") is not None:
            print(
                f"  {name}, per frame ({frames['n']} frames of {frames['items']} videos): "
                f"AUC {_num(frames['auc'])}, Youden threshold "
                f"{_num(frames['youden']['threshold'])}"
            )


def run(args: argparse.Namespace) -> int:
    """Evaluate the scorers on ``args.labels``; return 0. Exits 2 when a metric was
    impossible, else 1 when a scorer failed on an item (its metrics cover the items it
    scored; the other scorers are unaffected), as the README's exit codes say."""
    from painsign.research.evaluate import evaluate

    folds = getattr(args, "folds", None)
    if folds is not None and folds < 2:
        raise InputError(f"--folds must be at least 2, got {folds}")
    labels = Path(args.labels)
    out = check_out_dir(getattr(args, "out", None) or f"painsign-eval-{labels.stem}")
    store = ModelStore(args.models)
    scorers = build_scorers(args)
    detector = FaceDetector(getattr(args, "detector", "full_range"), store=store)
    tracker = FaceTracker(detector, FaceLandmarker(store=store))
    result = evaluate(
        labels,
        lambda: scorers,
        tracker,
        out,
        SignSettings(),
        folds=folds,
        groups=getattr(args, "groups", None),
        seed=getattr(args, "seed", 0),
        progress=None if getattr(args, "quiet", False) else _print_item,
    )
    print_table(result)
    for note in result["item_notes"]:
        print(f"  note: {note['path']}: {note['note']}")
    print(f"written to {out}/ (evaluation.json, scores.csv, roc.png, pr.png, calibration.png)")
    if result["problems"]:
        raise InputError("; ".join(result["problems"] + result["scorer_failures"]))
    if result["scorer_failures"]:
        raise PainsignError("; ".join(result["scorer_failures"]))
    return 0
