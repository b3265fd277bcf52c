"""``painsign analyze VIDEO``: the pain sign of a recorded video, as CSV, JSON and a figure."""

from __future__ import annotations

import argparse
from pathlib import Path

from painsign.analysis.figure import draw_sign_figure
from painsign.analysis.frames import MIN_FACE_RUN_S, FrameAnalyzer
from painsign.analysis.replay import SignSettings, analyze_video
from painsign.analysis.report import failure_text, write_frames_csv, write_summary_json
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
        "DIR/summary.json and DIR/sign.png.",
    )
    p.add_argument("video", type=Path, help="video file (MP4, MKV, AVI, ...)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: ./painsign-VIDEO_NAME)",
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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Analyse the video; return 0, 2 when the file was damaged (the report covers the
    frames decoded), 1 when a scorer failed on a frame (see the README's exit codes)."""
    for option in ("window", "step", "surge_within"):
        if getattr(args, option) <= 0:
            raise InputError(f"--{option.replace('_', '-')} must be positive")
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
    out.mkdir(parents=True, exist_ok=True)
    write_frames_csv(analysis, out / "frames.csv")
    data = write_summary_json(analysis, out / "summary.json")
    if not args.no_figure:
        draw_sign_figure(analysis, out / "sign.png")
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
    failures = []
    for name, s in data["scorers"].items():
        failed = failure_text(s, data["frames_with_face"])
        if failed is not None:
            failures.append(f"scorer '{name}' {failed}")
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
    print(f"written to {out}/ (frames.csv, summary.json{'' if args.no_figure else ', sign.png'})")
    # After the reports are written: a damaged file (exit 2) outranks a failed scorer (1).
    if analysis.damage:
        raise InputError("; ".join([analysis.damage, *failures]))
    if failures:
        raise PainsignError("; ".join(failures) + " (NaN in frames.csv; see summary.json)")
    return 0
