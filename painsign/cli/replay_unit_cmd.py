"""``painsign replay-unit``: recorded sessions published as N live beds of a unit."""

from __future__ import annotations

import argparse
import signal
import threading
import time

from painsign.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``replay-unit`` subcommand."""
    from painsign.cli.mqtt_options import add_mqtt_options

    p = sub.add_parser(
        "replay-unit",
        help="publish recorded sessions as N live beds to an MQTT broker",
        description="Replay sessions from `painsign monitor --db` databases as live beds "
        "'bed 1'..'bed N' of a unit, each with its own MQTT client, so a central station "
        "can be tried and loaded without N cameras. Sessions go to the beds round-robin, "
        "looped, each bed from its own offset. Ctrl+C stops: every bed goes offline "
        "(stopped).",
    )
    p.add_argument("db", nargs="+", metavar="SESSIONS.db", help="painsign session databases")
    p.add_argument("--beds", type=int, required=True, metavar="N", help="number of beds")
    p.add_argument("--broker", required=True, metavar="mqtt://HOST:PORT", help="the broker")
    p.add_argument("--unit", required=True, metavar="NAME", help="the unit label")
    p.add_argument("--speed", type=float, default=1.0, metavar="X", help="replay speed (default 1)")
    p.add_argument(
        "--exit-after", type=float, default=None, metavar="S", help="stop after S seconds"
    )
    add_mqtt_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Replay until Ctrl+C, SIGTERM or ``--exit-after``."""
    from painsign.central.link import parse_broker_address
    from painsign.central.schema import topic_label
    from painsign.cli.mqtt_options import mqtt_security

    address = parse_broker_address(args.broker, tls=args.mqtt_ca is not None)
    security = mqtt_security(args, scheme_tls=address.tls)
    if args.exit_after is not None and not args.exit_after > 0:
        raise InputError("--exit-after must be positive")
    try:
        topic_label(args.unit)
    except ValueError as exc:
        raise InputError(f"--unit: {exc}") from None
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_unit import ReplayUnit

    sessions = load_sessions(args.db)
    unit = ReplayUnit(
        sessions,
        args.beds,
        address.host,
        address.port,
        args.unit,
        speed=args.speed,
        link_options={"security": security},
    )
    for line in unit.describe():
        print(line, flush=True)
    print(
        f"replaying {args.beds} beds of unit {args.unit} to {address}: press Ctrl+C to stop",
        flush=True,
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    unit.start()
    start = time.monotonic()
    try:
        while not stop.wait(0.1):
            if args.exit_after is not None and time.monotonic() - start >= args.exit_after:
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        unit.stop()
    print(f"stopped {args.beds} beds: {unit.sent()} alarm messages sent", flush=True)
    return 0
