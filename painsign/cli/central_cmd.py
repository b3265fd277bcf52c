"""``painsign central``: the central station of a unit, a window or headless lines."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from painsign.cli.mqtt_options import add_mqtt_options, mqtt_security
from painsign.errors import InputError, PainsignError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``central`` subcommand."""
    p = sub.add_parser(
        "central",
        help="central station: every bed of a unit from an MQTT broker",
        description="Subscribe to the beds that `painsign monitor --publish` sends to an MQTT "
        "broker; --headless prints one line per bed change.",
    )
    p.add_argument(
        "--broker",
        required=True,
        metavar="mqtt://HOST:PORT",
        help="the broker (mqtts://HOST:PORT for TLS, port 8883 by default)",
    )
    p.add_argument("--unit", default=None, metavar="NAME", help="only this unit (default: all)")
    p.add_argument("--headless", action="store_true", help="no window: one line per bed change")
    p.add_argument(
        "--screenshot", type=Path, default=None, metavar="PNG", help="save the window on exit"
    )
    p.add_argument("--mute", action="store_true", help="no alarm sound at the central window")
    p.add_argument(
        "--remote-ack",
        action="store_true",
        help="allow acknowledging a bed's alarms from here (sent to the bed over MQTT; "
        "both sides log who and where); by default acknowledging stays at the bedside",
    )
    add_mqtt_options(p)
    p.add_argument(
        "--client-id",
        default=None,
        metavar="ID",
        help="MQTT client id of this station's persistent session (default: "
        "painsign-central-UNIT-HOST-USER-window or -headless); two stations with the same "
        "id take the session from each other",
    )
    p.add_argument(
        "--exit-after", type=float, default=None, metavar="S", help="stop after S seconds"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the central station until Ctrl+C or ``--exit-after``."""
    from painsign.central.link import parse_broker_address

    address = parse_broker_address(args.broker, tls=args.mqtt_ca is not None)
    host, port = address.host, address.port
    security = mqtt_security(args, scheme_tls=address.tls)
    args.headless = args.headless or _no_window(args)
    if args.exit_after is not None and args.exit_after <= 0:
        raise InputError("--exit-after must be positive")
    from painsign.central.central import CentralStation, default_client_id

    station = CentralStation(
        host,
        port,
        args.unit,
        echo=lambda line: print(line, flush=True),
        security=security,
        remote_ack=args.remote_ack,
        client_id=args.client_id
        or default_client_id(args.unit, "headless" if args.headless else "window"),
    )
    print(f"central station on {address}: press Ctrl+C to stop", flush=True)
    station.start()
    start = time.monotonic()
    try:
        if not args.headless:
            return _run_window(station, args)
        while args.exit_after is None or time.monotonic() - start < args.exit_after:
            if station.refused is not None:
                # Exit 2: the user name, password or CA given cannot be used here.
                why = station.refused
                if why.startswith("TLS"):
                    raise InputError(f"no secure link to the broker {address}: {why}")
                raise InputError(f"the broker {address} refused the central station: {why}")
            time.sleep(0.1)
    finally:
        station.stop()
    return 0


def _no_window(args: argparse.Namespace) -> bool:
    """Check that the window can be shown; True (with a note) when there is no display."""
    import importlib.util

    from painsign.cli.monitor_cmd import GUI_HINT, has_display

    missing = [name for name in ("PySide6", "pyqtgraph") if importlib.util.find_spec(name) is None]
    if missing:
        raise PainsignError(
            f"the central window needs {' and '.join(missing)}, which is not installed: "
            f"{GUI_HINT}, or run the central station with --headless",
            exit_code=2,
        )
    if not has_display() and args.screenshot is None:
        print("no display: running headless (one line per bed change)", flush=True)
        return True
    return False


def _run_window(station, args: argparse.Namespace) -> int:
    from painsign.central.overview import CentralOverview
    from painsign.cli.monitor_cmd import GUI_HINT

    try:
        from painsign.gui.central_window import run_central_window
    except ImportError as exc:  # installed but broken (a missing system library)
        raise PainsignError(
            f"the central window cannot load Qt ({exc}): {GUI_HINT}, or run with --headless",
            exit_code=2,
        ) from exc
    return run_central_window(
        station,
        CentralOverview(station),
        exit_after=args.exit_after,
        screenshot=args.screenshot,
        play_sound=not args.mute,
    )
