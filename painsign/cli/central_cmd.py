"""``painsign central``: the central station of a unit (headless for now)."""

from __future__ import annotations

import argparse
import time

from painsign.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``central`` subcommand."""
    p = sub.add_parser(
        "central",
        help="central station: every bed of a unit from an MQTT broker",
        description="Subscribe to the beds that `painsign monitor --publish` sends to an MQTT "
        "broker; --headless prints one line per bed change.",
    )
    p.add_argument("--broker", required=True, metavar="mqtt://HOST:PORT", help="the broker")
    p.add_argument("--unit", default=None, metavar="NAME", help="only this unit (default: all)")
    p.add_argument("--headless", action="store_true", help="no window: one line per bed change")
    p.add_argument(
        "--exit-after", type=float, default=None, metavar="S", help="stop after S seconds"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the central station until Ctrl+C or ``--exit-after``."""
    from painsign.central.link import parse_broker

    host, port = parse_broker(args.broker)
    if not args.headless:
        raise InputError("the central window is not built yet; use --headless")
    if args.exit_after is not None and args.exit_after <= 0:
        raise InputError("--exit-after must be positive")
    from painsign.central.central import CentralStation

    station = CentralStation(host, port, args.unit, echo=lambda line: print(line, flush=True))
    print(f"central station on {host}:{port}: press Ctrl+C to stop", flush=True)
    station.start()
    start = time.monotonic()
    try:
        while args.exit_after is None or time.monotonic() - start < args.exit_after:
            time.sleep(0.1)
    finally:
        station.stop()
    return 0
