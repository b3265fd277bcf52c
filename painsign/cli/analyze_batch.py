"""``painsign analyze`` of many videos (or of one on a cluster): options and outcome."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from painsign.batch.index import SKIPPED
from painsign.batch.inputs import BatchItem, collect_videos, is_batch, output_names
from painsign.batch.job import AnalysisJob
from painsign.batch.reports import OK
from painsign.batch.runner import BatchOptions, run_batch
from painsign.cli.outputs import check_out_dir
from painsign.cli.progress import Progress
from painsign.cli.scorer_options import build_scorers
from painsign.errors import InputError, PainsignError

#: Default ``--chunk``: videos longer than this are analysed in time chunks in parallel.
DEFAULT_CHUNK_S = 300.0
#: Default ``--out`` of a batch.
DEFAULT_BATCH_OUT = Path("painsign-batch")


def add_batch_options(p: argparse.ArgumentParser) -> None:
    """Add ``--workers``, ``--scheduler`` and ``--chunk`` to ``painsign analyze``."""
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes of the local Dask cluster (default: one per core)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:8786",
        help="run on an existing Dask cluster; its workers read the videos and write the "
        "reports by path (shared storage)",
    )
    p.add_argument(
        "--chunk",
        type=float,
        default=None,
        metavar="S",
        help=f"analyse a video longer than S seconds in time chunks in parallel "
        f"(default {DEFAULT_CHUNK_S:g}; 0: never)",
    )


def wants_cluster(args: argparse.Namespace) -> bool:
    """Whether the options ask for a Dask cluster even for one video."""
    return args.workers is not None or args.scheduler is not None or args.chunk is not None


def run_many(args: argparse.Namespace, print_report: Callable[[dict, Path, bool], None]) -> int:
    """Analyse a batch (or one video on a cluster); return 0 or raise with the largest
    exit status of its videos (README: 2 unusable or damaged input, 1 a failed scorer,
    3 an internal error).

    Parameters
    ----------
    args : argparse.Namespace
        The ``painsign analyze`` options.
    print_report : callable
        Prints one video's summary (the one-video path's output).
    """
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers must be at least 1")
    if args.workers is not None and args.scheduler is not None:
        raise InputError("--workers is for the local cluster; leave it out with --scheduler")
    chunk_s = DEFAULT_CHUNK_S if args.chunk is None else args.chunk
    if chunk_s < 0:
        raise InputError("--chunk must be zero (never) or positive")
    if args.scheduler is not None and not args.scheduler.startswith(("tcp://", "tls://")):
        raise InputError(f"--scheduler {args.scheduler}: give tcp://HOST:PORT")
    build_scorers(args)  # bad plug-ins and options fail here, before any cluster starts
    job = AnalysisJob.from_args(args)
    job.sign_settings()
    batch = is_batch(args.video)
    options = BatchOptions(args.workers, args.scheduler, chunk_s, resume=batch, debug=args.debug)
    if batch:
        items = output_names(collect_videos(args.video))
        out = check_out_dir(args.out or DEFAULT_BATCH_OUT)
        index = out / "index.csv"
    else:
        video = args.video[0]
        out = check_out_dir(args.out or Path(f"painsign-{video.stem}"))
        items, index = [BatchItem(video.absolute(), "")], None  # out / "" is out itself
    label = f"analyzing {len(items)} videos" if batch else f"analyzing {items[0].video.name}"
    progress = None if args.quiet else Progress(label)
    try:
        rows = run_batch(items, out.absolute(), job, options, index, progress)
    finally:
        if progress is not None:
            progress.close()
    if not batch:
        return _one(rows[0], out, not args.no_figure, print_report)
    return _summary(rows, index)


def _one(row: dict, out: Path, figure: bool, print_report) -> int:
    """One video on a cluster: the one-video path's output and exit status."""
    if "frames" in row:
        print_report(json.loads((out / "summary.json").read_text()), out, figure)
    if row["exit_code"]:
        raise PainsignError(row["error"], row["exit_code"])
    return 0


def _summary(rows: list[dict], index: Path) -> int:
    """Print a line per video and the totals; raise with the largest exit status."""
    for row in rows:
        name = Path(row["output"]).name
        if "frames" in row and row["status"] in (OK, SKIPPED):
            said = f"{row['frames']} frames, {row['frames_with_face']} with a face"
        else:
            said = row["error"]
        print(f"  {name}: {row['status']}" + (f" ({said})" if said else ""))
    bad = [r for r in rows if r.get("exit_code")]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print(
        f"{len(rows)} videos: " + ", ".join(f"{n} {s}" for s, n in counts.items())
        + f"; index in {index}"
    )  # fmt: skip
    if not bad:
        return 0
    worst = max(r["exit_code"] for r in bad)
    first = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise PainsignError(
        f"{len(bad)} of {len(rows)} videos not ok: {Path(first['video']).name}: "
        f"{first['error']}{more}; see {index}",
        worst,
    )
