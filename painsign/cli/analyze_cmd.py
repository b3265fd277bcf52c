"""``painsign analyze VIDEO ...``: the pain sign of recorded videos, as CSV, JSON and a figure.

One video is analysed in this process, as it always was; several (or a folder, or a CSV
list) make a batch on a Dask cluster (:mod:`painsign.batch`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from painsign.analysis.frames import MIN_FACE_RUN_S, FrameAnalyzer
from painsign.analysis.replay import SignSettings, analyze_video
from painsign.analysis.report import failure_text
from painsign.batch.inputs import is_batch
from painsign.batch.reports import outcome, write_reports
from painsign.cli.analyze_batch import add_batch_options, run_many, wants_cluster
from painsign.cli.common_options import add_detector_option, add_sign_types_option
from painsign.cli.outputs import check_out_dir
from painsign.cli.progress import Progress
from painsign.cli.scorer_options import add_scorer_options, build_scorers
from painsign.errors import InputError, PainsignError
from painsign.model_store import ModelStore
from painsign.signal.learned import load_sign_types
from painsign.vision.detector import FaceDetector
from painsign.vision.landmarks import FaceLandmarker
from painsign.vision.tracker import FaceTracker


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` subcommand."""
    p = sub.add_parser(
        "analyze",
        help="compute the pain sign of a video file",
        description="Process every frame of VIDEO and write DIR/frames.csv, "
        "DIR/summary.json and DIR/sign.png. Several videos, folders or CSV lists make a "
        "batch on a Dask cluster: DIR/NAME/ per video and DIR/index.csv.",
    )
    p.add_argument(
        "video",
        type=Path,
        nargs="+",
        metavar="VIDEO",
        help="video file (MP4, MKV, AVI, ...); several, folders (searched recursively) "
        "or CSV lists (column 'video', else the first) make a batch",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: ./painsign-VIDEO_NAME; a batch: ./painsign-batch)",
    )
    add_scorer_options(p)
    p.add_argument(
        "--window",
        type=float,
        default=20.0,
        metavar="S",
        help="sliding window length in seconds (default 20)",
    )
    p.add_argument(
        "--step",
        type=float,
        default=1.0,
        metavar="S",
        help="sliding window step in seconds (default 1)",
    )
    p.add_argument(
        "--surge-rise",
        type=float,
        default=0.3,
        metavar="D",
        help="rise of the sign that counts as a surge (default 0.3)",
    )
    p.add_argument(
        "--surge-within",
        type=float,
        default=3.0,
        metavar="T",
        help="seconds within which the rise must happen (default 3)",
    )
    add_sign_types_option(p)
    add_detector_option(p)
    p.add_argument("--no-figure", action="store_true", help="skip sign.png")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_batch_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyse the video; return 0, 2 when the file was damaged (the report covers the
    frames decoded), 1 when a scorer failed on a frame (see the README's exit codes)."""
    for option in ("window", "step", "surge_within"):
        if getattr(args, option) <= 0:
            raise InputError(f"--{option.replace('_', '-')} must be positive")
    if is_batch(args.video) or wants_cluster(args):
        return run_many(args, print_report)
    args.video = args.video[0]
    out = check_out_dir(args.out or Path(f"painsign-{args.video.stem}"))
    classifier = None if args.sign_types is None else load_sign_types(args.sign_types)
    store = ModelStore(args.models)
    scorers = build_scorers(args)
    tracker = FaceTracker(FaceDetector(args.detector, store=store), FaceLandmarker(store=store))
    settings = SignSettings(
        window_s=args.window,
        step_s=args.step,
        surge_rise=args.surge_rise,
        surge_within_s=args.surge_within,
        classifier=classifier,
    )
    progress = None if args.quiet else Progress(f"analyzing {args.video.name}")
    try:
        analysis = analyze_video(args.video, FrameAnalyzer(tracker, scorers), settings, progress)
    finally:
        if progress is not None:
            progress.close()
    data = write_reports(analysis, out, not args.no_figure)
    print_report(data, out, not args.no_figure)
    _, code, message = outcome(analysis, data)
    if code == 2:
        raise InputError(message)
    if code:
        raise PainsignError(message)
    return 0


def print_report(data: dict, out: Path, figure: bool) -> None:
    """Print what a video's summary.json says, a few lines on stdout.

    Parameters
    ----------
    data : dict
        The summary.json content.
    out : pathlib.Path
        The folder of the reports.
    figure : bool
        Whether sign.png was drawn.
    """
    brief = data["frames_face_unconfirmed"]
    print(
        f"{data['frames']} frames, {data['frames_with_face']} with a face, "
        f"{data['fps']:.1f} fps"
        + (
            f" ({brief} more showed a face for less than {MIN_FACE_RUN_S:g} s in a row: "
            "not counted)"
            if brief and not data["frames_with_face"]
            else ""
        )
    )
    for name, s in data["scorers"].items():
        failed = failure_text(s, data["frames_with_face"])
        if s["mean"] is None:
            print(
                f"  {name}: scorer {failed}" if failed else f"  {name}: no face found, no pain sign"
            )
            continue
        pred = "pain" if s["prediction"] else "no pain"
        print(
            f"  {name}: mean {s['mean']:.2f} ({pred} at {s['threshold']}), entropy "
            f"{s['entropy']:.2f} bits, {s['crossings']} crossings, {s['sign_type']} -> "
            f"{s['action']}; {len(s['events'])} events" + (f"; scorer {failed}" if failed else "")
        )
    print(f"written to {out}/ (frames.csv, summary.json{', sign.png' if figure else ''})")
