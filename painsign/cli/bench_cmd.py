"""``painsign bench``: how fast, how late and how big the pipeline is on this machine."""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from painsign.errors import InputError

TARGETS = {
    "model_ratio_max": 1.2,
    "replay_x_real_time_min": 10.0,
    "live_fps_min": 29.0,
    "live_latency_p95_ms_max": 100.0,
    "live_cpu_cores_max": 1.0,
    "rss_mb_max": 500.0,
    "rss_growth_max": 0.05,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` subcommand."""
    p = sub.add_parser("bench", help="measure speed, latency and memory on this machine")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--live-seconds",
        type=float,
        default=20.0,
        metavar="S",
        help="length of each simulated live run (default 20)",
    )
    p.add_argument(
        "--video-seconds",
        type=float,
        default=60.0,
        metavar="S",
        help="length of the 640x480 replay video (default 60)",
    )
    p.add_argument(
        "--no-heavy",
        action="store_true",
        help="skip the live run with a heavy (4.8 GFLOPs) user classifier",
    )
    p.add_argument(
        "--soak-minutes",
        type=float,
        default=0.0,
        metavar="M",
        help="also replay M minutes of video at full speed and report memory "
        "growth (60 for the one-hour check; default 0: skip)",
    )
    p.add_argument(
        "--central",
        action="store_true",
        help="only the central-station bench: --beds replayed beds into one central "
        "station through mosquitto on loopback (messages/s, latency, CPU, memory)",
    )
    p.add_argument(
        "--beds", type=int, default=50, metavar="N", help="beds for --central (default 50)"
    )
    p.add_argument(
        "--central-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="measuring window of --central after a 5-s warm-up (default 30)",
    )
    p.add_argument(
        "--central-db",
        action="append",
        type=Path,
        default=None,
        metavar="SESSIONS.db",
        help="sessions to replay for --central (default: one recorded from the demo "
        "video, then cached); repeat for more",
    )
    p.add_argument(
        "--batch",
        action="store_true",
        help="only the batch bench on a local Dask cluster: --batch-videos 30-s videos on "
        "1 and 2 workers, a --batch-minutes video chunked and not (several minutes)",
    )
    p.add_argument(
        "--batch-minutes",
        type=float,
        default=10.0,
        metavar="M",
        help="length of the long 640x480 video of --batch (default 10)",
    )
    p.add_argument(
        "--batch-videos",
        type=int,
        default=8,
        metavar="N",
        help="videos in the batch of --batch (default 8)",
    )
    p.add_argument(
        "--batch-repeat",
        type=int,
        default=1,
        metavar="N",
        help="runs of each --batch configuration, taking turns; the figures are their "
        "medians (default 1; this shared machine varied by 20 %% between two runs)",
    )
    p.set_defaults(run=run)


def run_batch_bench(args: argparse.Namespace) -> int:
    """The batch bench alone (``--batch``); 0 even when a target is missed."""
    from painsign.bench.batch import batch_figures, print_batch

    if not args.batch_minutes > 0 or args.batch_videos < 1 or args.batch_repeat < 1:
        raise InputError(
            "--batch-minutes must be positive, --batch-videos and --batch-repeat at least 1"
        )
    say = (lambda *a: None) if args.json else print
    result = batch_figures(args.batch_minutes, args.batch_videos, say=say, repeat=args.batch_repeat)
    if args.json:
        print(json.dumps({"batch": result}, indent=2))
    else:
        print_batch(result)
    return 0


def run_central(args: argparse.Namespace) -> int:
    """The central-station bench alone (``--central``)."""
    from painsign.bench.central import central_bench, print_central

    if args.beds < 1 or not args.central_seconds > 0:
        raise InputError("--beds must be at least 1 and --central-seconds positive")
    if args.central_db:
        from painsign.central.recorded_sessions import load_sessions

        load_sessions(args.central_db)  # a bad file: one line, exit 2, before any process
    say = (lambda *a: None) if args.json else print
    result = central_bench(args.beds, args.central_seconds, dbs=args.central_db, say=say)
    if args.json:
        print(json.dumps({"central": result}, indent=2))
    else:
        print_central(result)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run every measurement and print the results; 0 even when a target is missed."""
    if args.central:
        return run_central(args)
    if args.batch:
        return run_batch_bench(args)
    from painsign.bench import measure
    from painsign.bench.workload import bench_video
    from painsign.model_store import ModelStore
    from painsign.runtime import available_providers

    if args.live_seconds <= 0 or args.video_seconds <= 0 or args.soak_minutes < 0:
        raise InputError(
            "--live-seconds and --video-seconds must be positive, --soak-minutes zero or positive"
        )
    say = (lambda *a: None) if args.json else print
    # Alarms raised by the bench's own runs are not news: keep the report readable.
    logging.getLogger("painsign.monitor").setLevel(logging.ERROR)
    store = ModelStore(args.models)
    say("preparing the bench video (rendered once, then cached) ...")
    video = bench_video(args.video_seconds)
    result = {"provider": available_providers()[0], "video": str(video), "targets": TARGETS}
    say("models ...")
    result["models"] = measure.model_ratios(store)
    say(f"live, simulated 30-fps camera, {args.live_seconds:g} s ...")
    result["live"] = measure.live_run(video, args.live_seconds, store)
    if not args.no_heavy:
        result["live_heavy"] = heavy_run(video, args.live_seconds, store, say)
    say("stages ...")
    result["stages_ms"] = measure.stage_times(video, store)
    say("replay (painsign analyze in a fresh process) ...")
    result["replay"] = measure.replay_speed(video, args.video_seconds)
    if args.soak_minutes > 0:
        say(f"soak: {args.soak_minutes:g} min of video at full speed ...")
        result["soak"] = measure.soak(video, args.soak_minutes, store)
    result["checks"] = checks(result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


#: Why the heavy-classifier run is skipped without the ``onnx`` package.
NO_ONNX = (
    "skipped: building the heavy test classifier needs the 'onnx' package, which "
    "only the dev install has (pip install onnx, or pip install painsign[dev]); "
    "--no-heavy skips this run"
)


def heavy_run(video, seconds: float, store, say=print) -> dict:
    """The live run with a heavy user classifier, or ``{"skipped": why}`` without onnx.

    The test classifier is written with the ``onnx`` package (a dev dependency); running
    it needs only onnxruntime, which every install has.
    """
    from painsign.bench import measure
    from painsign.bench.heavy import GFLOPS, heavy_classifier

    try:
        import onnx  # noqa: F401 - only to write the test model
    except ImportError:
        say(f"live with a heavy classifier: {NO_ONNX}")
        return {"skipped": NO_ONNX}
    say(f"live with a heavy classifier ({GFLOPS} GFLOPs per call) ...")
    with tempfile.TemporaryDirectory() as tmp:
        model = heavy_classifier(Path(tmp))
        out = measure.live_run(video, seconds, store, model)
    out["heavy_gflops"] = GFLOPS
    return out


def checks(r: dict) -> dict:
    """Each target: the measured figure and whether it was met."""
    t = TARGETS
    out = {}
    for m in r["models"]:
        if m["ratio"] is not None:
            out[f"{m['model']} ort/litert"] = (m["ratio"], m["ratio"] <= t["model_ratio_max"])
    out["replay x real time"] = (
        r["replay"]["x_real_time"],
        r["replay"]["x_real_time"] >= t["replay_x_real_time_min"],
    )
    live = r["live"]
    out["live fps"] = (live["processed_fps"], live["processed_fps"] >= t["live_fps_min"])
    out["live latency p95 ms"] = (
        live["latency_p95_ms"],
        (live["latency_p95_ms"] or 1e9) <= t["live_latency_p95_ms_max"],
    )
    out["live cpu cores"] = (live["cpu_cores"], live["cpu_cores"] <= t["live_cpu_cores_max"])
    out["live rss MB"] = (live["rss_end_mb"], live["rss_end_mb"] <= t["rss_mb_max"])
    if "processed_fps" in r.get("live_heavy", {}):
        h = r["live_heavy"]
        out["heavy: live fps"] = (h["processed_fps"], h["processed_fps"] >= t["live_fps_min"])
    if "soak" in r:
        s = r["soak"]
        out["soak rss growth"] = (s["rss_growth"], s["rss_growth"] <= t["rss_growth_max"])
    return {k: {"value": v, "met": bool(ok)} for k, (v, ok) in out.items()}


def print_table(r: dict) -> None:
    """Human-readable report."""
    print(f"\npainsign bench  ({time.strftime('%Y-%m-%d %H:%M')}, provider {r['provider']})")
    print("\nmodel                        onnxruntime ms  ai-edge-litert ms  ratio")
    for m in r["models"]:
        ref = "-" if m["litert_ms"] is None else f"{m['litert_ms']:.2f}"
        ratio = "-" if m["ratio"] is None else f"{m['ratio']:.2f}"
        print(f"{m['model']:28s} {m['onnxruntime_ms']:14.2f} {ref:>18s} {ratio:>6s}")
    print(
        "\nstage (ms per frame): "
        + ", ".join(f"{k[:-3]} {v:.2f}" for k, v in r["stages_ms"].items())
    )
    rp = r["replay"]
    print(
        f"replay: {rp['video_s']:g} s of 640x480 video in {rp['wall_s']:.2f} s "
        f"= {rp['x_real_time']:.1f}x real time ({rp['frames_per_s']:.0f} frames/s, start-up "
        "included)"
    )
    for key, label in (("live", "live"), ("live_heavy", "live + heavy classifier")):
        if key not in r:
            continue
        lv = r[key]
        if "skipped" in lv:
            print(f"{label}: {lv['skipped']}")
            continue
        extra = (
            f", heavy scorer {lv['heavy_scorer_fps']:.1f} faces/s"
            if "heavy_scorer_fps" in lv
            else ""
        )
        print(
            f"{label}: {lv['processed_fps']:.1f} fps processed of {lv['input_fps']:.1f}, "
            f"latency p50 {lv['latency_p50_ms']} ms p95 {lv['latency_p95_ms']} ms, "
            f"dropped {lv['dropped']}, CPU {lv['cpu_cores']:.2f} cores, RSS "
            f"{lv['rss_end_mb']:.0f} MB{extra}"
        )
    if "soak" in r:
        s = r["soak"]
        print(
            f"soak: {s['video_minutes']:g} min of video, RSS {s['rss_early_mb']:.0f} -> "
            f"{s['rss_end_mb']:.0f} MB ({100 * s['rss_growth']:+.1f} %)"
        )
    print("\ntargets:")
    for name, c in r["checks"].items():
        print(f"  {'ok  ' if c['met'] else 'MISS'} {name}: {c['value']}")
