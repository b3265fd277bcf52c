"""``painsign monitor``: the live bedside monitor (dashboard or headless) with recording."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
from pathlib import Path

from painsign.cli.common_options import add_sign_types_option
from painsign.cli.mqtt_options import add_mqtt_options, mqtt_security
from painsign.cli.scorer_options import add_scorer_options, build_scorers
from painsign.errors import InputError, PainsignError

logger = logging.getLogger("painsign.monitor")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``monitor`` subcommand."""
    p = sub.add_parser(
        "monitor",
        help="live pain-sign monitor on a camera, stream or video file",
        description="Show the bedside dashboard (or run --headless), raise alarms and "
        "record the session in SQLite.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=int, metavar="N", help="camera index (0 is the first)")
    src.add_argument("--video", type=Path, metavar="FILE", help="replay a recorded video")
    src.add_argument("--url", metavar="URL", help="RTSP or HTTP (MJPEG) stream of an IP camera")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="replay speed for --video (default 1 = real time)",
    )
    p.add_argument("--bed", default="bed 1", help="bed label shown and stored (default 'bed 1')")
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file for the session (default: $PAINSIGN_DB or the user's data folder)",
    )
    p.add_argument("--no-record", action="store_true", help="do not record the session")
    p.add_argument(
        "--snapshots",
        action="store_true",
        help="store the first face image at each pain / no-pain change (off by "
        "default: no images are stored)",
    )
    add_scorer_options(p)
    add_sign_types_option(p)
    p.add_argument(
        "--sustained",
        type=float,
        default=30.0,
        metavar="S",
        help="sign above threshold this long raises the high alarm (default 30)",
    )
    p.add_argument(
        "--face-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="no face this long raises a technical alarm (default 10)",
    )
    p.add_argument(
        "--stall",
        type=float,
        default=3.0,
        metavar="S",
        help="no new frame this long: camera lost (default 3)",
    )
    p.add_argument(
        "--frozen",
        type=float,
        default=5.0,
        metavar="S",
        help="identical frames this long: camera frozen (default 5)",
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="no window: same pipeline, alarms and recording, status to the log",
    )
    p.add_argument(
        "--exit-after", type=float, default=None, metavar="S", help="stop cleanly after S seconds"
    )
    p.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PNG",
        help="save the window as PNG just before exit",
    )
    p.add_argument("--mute", action="store_true", help="do not play alarm sounds")
    p.add_argument(
        "--publish",
        default=None,
        metavar="mqtt://HOST:PORT",
        help="send state, alarms and status to a central station through this MQTT broker "
        "(needs --unit; the bed is --bed)",
    )
    p.add_argument("--unit", default=None, metavar="NAME", help="unit label for --publish")
    add_mqtt_options(p)
    p.add_argument(
        "--demo",
        action="store_true",
        help=f"demonstration: shortened alarm delays (sustained pain "
        f"{DEMO_SUSTAINED_S:g} s, face not seen {DEMO_FACE_TIMEOUT_S:g} s) so a short "
        "video shows every alarm priority; said on screen",
    )
    p.set_defaults(run=run)


#: Alarm delays of a --demo run: the demo video's grimace (5-9 s) and cry (18-23 s) last
#: a few seconds, its face leaves the picture for 2 s (23-25 s).
DEMO_SUSTAINED_S = 3.0
DEMO_FACE_TIMEOUT_S = 1.5


def stop_hint(headless: bool, exit_after: float | None) -> str:
    """How to stop the monitor, printed at start."""
    if headless:
        how = "press Ctrl+C to stop"
    else:
        how = "close the window (or press Ctrl+C here) to stop"
    if exit_after is not None:
        how += f"; it stops by itself after {exit_after:g} s"
    return how


def has_display() -> bool:
    """Whether a window can be seen here (an X or Wayland display, or a Qt platform other
    than the invisible offscreen and minimal ones)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform not in ("offscreen", "minimal"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


#: How to get the dashboard when Qt is missing (Qt is the optional ``gui`` extra).
GUI_HINT = "pip install 'painsign[gui]'"


def require_gui() -> None:
    """Check that the dashboard can be shown: PySide6 and pyqtgraph import.

    Raises
    ------
    PainsignError
        With exit status 2 and how to install them, or to run ``--headless``.
    """
    # Only whether they are installed: loading Qt is the dashboard's business (gui/).
    missing = [name for name in ("PySide6", "pyqtgraph") if importlib.util.find_spec(name) is None]
    if missing:
        raise PainsignError(
            f"the bedside window needs {' and '.join(missing)}, which is not installed: "
            f"{GUI_HINT}, or run the monitor with --headless",
            exit_code=2,
        )


def build_engine(args: argparse.Namespace):
    """Assemble source, models, scorers, alarms and recorder from the options."""
    from painsign.alarms import AlarmSettings
    from painsign.analysis.frames import FrameAnalyzer
    from painsign.capture import open_source
    from painsign.model_store import ModelStore
    from painsign.monitor.engine import MonitorEngine, MonitorSettings
    from painsign.scoring.background import BackgroundScorer
    from painsign.signal.learned import load_sign_types
    from painsign.storage import SessionRecorder, default_db_path
    from painsign.vision.tracker import FaceTracker

    for option in ("speed", "sustained", "face_timeout", "stall", "frozen"):
        if getattr(args, option) <= 0:
            raise InputError(f"--{option.replace('_', '-')} must be positive")
    classifier = None if args.sign_types is None else load_sign_types(args.sign_types)
    store = ModelStore(args.models)
    # User classifiers (--model) may be heavy: each runs in its own thread on the newest
    # face when it is free, so the video, NFCS and the alarms keep the camera's rate.
    scorers = build_scorers(args)  # the built-in ones, then one per --model, in order
    n_user = len(args.model)
    if n_user:
        scorers = scorers[:-n_user] + [BackgroundScorer(s) for s in scorers[-n_user:]]
    demo_note = None
    if getattr(args, "demo", False):
        args.sustained = min(args.sustained, DEMO_SUSTAINED_S)
        args.face_timeout = min(args.face_timeout, DEMO_FACE_TIMEOUT_S)
        demo_note = (
            f"DEMO: alarm delays shortened (sustained pain {args.sustained:g} s, "
            f"face not seen {args.face_timeout:g} s) to show every alarm priority"
        )
    live_options = {} if args.video else {"stall_s": args.stall, "frozen_s": args.frozen}
    source = open_source(
        camera=args.camera, video=args.video, url=args.url, speed=args.speed, **live_options
    )
    alarm_settings = AlarmSettings(
        sustained_pain_s=args.sustained, face_not_seen_s=args.face_timeout
    )
    settings = MonitorSettings(bed=args.bed)
    recorder = None
    if not args.no_record:
        db = args.db or default_db_path()
        recorder = SessionRecorder(
            db,
            bed=args.bed,
            source=source.describe(),
            scorers=scorers,
            settings={
                "monitor": vars(settings),
                "alarms": vars(alarm_settings),
                "demo": bool(demo_note),
                # The trackers' frame rate, as the engine takes it (the replay-unit's signs).
                "fps": float(getattr(getattr(source, "info", None), "fps", 30.0) or 30.0),
                "calibration_s": args.calibration,
                "sign_types": None if args.sign_types is None else str(args.sign_types),
            },
            snapshots=args.snapshots,
        )  # the engine then snapshots the first scorer's states
    engine = MonitorEngine(
        source,
        FrameAnalyzer(FaceTracker(store=store), scorers),
        settings,
        alarm_settings,
        recorder,
        classifier=classifier,
        demo_note=demo_note,
    )
    return engine, recorder


def run(args: argparse.Namespace) -> int:
    """Run the monitor until the window closes, the file ends or ``--exit-after``."""
    # A screenshot can be rendered offscreen, so it needs a window but no display.
    headless = args.headless or (not has_display() and args.screenshot is None)
    if not headless:
        require_gui()
    publisher = open_publisher(args)
    engine, recorder = build_engine(args)
    if headless and not args.headless:
        print("no display: running headless (alarms and status in the log)")
    if recorder is not None and recorder.session_id is not None:
        print(f"recording session {recorder.session_id} in {recorder.path}")
    elif recorder is not None:
        # The bedside stays primary: monitoring goes on with "Recording failed" raised.
        print(
            f"NOT RECORDING: {recorder.reason() or f'{recorder.path} is not open yet'} "
            "(monitoring goes on)"
        )
    if engine.demo_note:
        print(engine.demo_note)
    print(
        f"monitoring {engine.source.describe()}: {stop_hint(headless, args.exit_after)}", flush=True
    )
    if publisher is not None:
        print(f"publishing to {args.publish} as {args.unit}/{args.bed}", flush=True)
        publisher.start(engine)
    engine.start()
    try:
        if headless:
            from painsign.monitor.headless import run_headless

            code = run_headless(engine, args.exit_after)
        else:
            try:
                from painsign.gui.app import run_dashboard
            except ImportError as exc:  # installed but broken (a missing system library)
                raise PainsignError(
                    f"the bedside window cannot load Qt ({exc}): "
                    f"{GUI_HINT}, or run with --headless",
                    exit_code=2,
                ) from exc
            code = run_dashboard(engine, args.exit_after, args.screenshot, play_sound=not args.mute)
    finally:
        engine.stop()
        if publisher is not None:
            publisher.stop()
            print(publisher.summary())
        if recorder is not None:
            recorder.close()
    lost = None if recorder is None else recorder.outcome()
    if recorder is not None and recorder.session_id is not None:
        print(
            f"session {recorder.session_id} recorded in {recorder.path} "
            f"(painsign history --db {recorder.path} --session {recorder.session_id})"
        )
    damage = replay_damage_line(engine)
    # One stderr line for everything that went wrong; the largest exit code wins.
    problems = [
        (c, line)
        for c, line in [(2, damage), *([lost] if lost else []), (1, engine.scorer_failure_line())]
        if line
    ]
    if problems:
        raise PainsignError(
            "; ".join(line for _, line in problems), max([code] + [c for c, _ in problems])
        )
    return code


def open_publisher(args: argparse.Namespace):
    """The central-station publisher of ``--publish`` (not connected yet); None without it.

    Raises
    ------
    InputError
        For a bad broker address, a missing ``--unit``, or paho-mqtt not installed.
    """
    if args.publish is None:
        if args.unit is not None or args.mqtt_user is not None or args.mqtt_ca is not None:
            raise InputError("--unit, --mqtt-user and --mqtt-ca are for --publish mqtt://HOST:PORT")
        return None
    from painsign.central.link import parse_broker_address
    from painsign.central.publisher import CentralPublisher
    from painsign.central.schema import topic_label

    address = parse_broker_address(args.publish, tls=args.mqtt_ca is not None)
    security = mqtt_security(args, scheme_tls=address.tls)
    if not args.unit:
        raise InputError("--publish needs --unit NAME (the bed is --bed)")
    try:
        topic_label(args.unit), topic_label(args.bed)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    kind = "file" if args.video else "stream" if args.url else "camera"
    return CentralPublisher(
        address.host,
        address.port,
        args.unit,
        args.bed,
        kind,
        demo=bool(args.demo),
        security=security,
    )


def replay_damage_line(engine) -> str | None:
    """The one error line for a replayed file found damaged; None when it was not.

    Skipped frames count even when the replay was stopped before the end of the file.
    """
    damage = getattr(engine.source, "damage", None)
    text = engine.replay_damage or (damage() if callable(damage) else None)
    if text is None:
        return None
    line = f"video {engine.source.path} is damaged: {text}"
    end = getattr(engine.source, "end_position", None)
    if engine.replay_ended_early and end is not None:
        line += f"; the replay ended early at {end:.1f} s of {engine.replay_duration():.1f} s"
    return line
