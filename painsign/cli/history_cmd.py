"""``painsign history``: list stored monitoring sessions, summarise one, export it as CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from painsign.errors import InputError
from painsign.storage.db import default_db_path
from painsign.storage.history import (
    export_alarms_csv,
    export_session_csv,
    list_sessions,
    session_summary,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``history`` subcommand."""
    p = sub.add_parser(
        "history",
        help="list stored monitoring sessions; summarise or export one",
        description="Without --session: a table of the sessions in the database. With "
        "--session ID: that session's summary, or with --export CSV its samples as "
        "t,utc,face,scorer,p_raw,p.",
    )
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="PATH",
        help="session database (default: $PAINSIGN_DB, else $XDG_DATA_HOME/painsign/painsign.db)",
    )
    p.add_argument(
        "--session",
        type=int,
        default=None,
        metavar="ID",
        help="one session, by the id in the table",
    )
    p.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="CSV",
        help="write the session's samples to CSV (needs --session)",
    )
    p.add_argument(
        "--export-alarms",
        type=Path,
        default=None,
        metavar="CSV",
        help="write the session's alarm log to CSV (needs --session)",
    )
    p.set_defaults(run=run)


def _fmt_duration(seconds: float) -> str:
    """``h:mm:ss``, e.g. 66 s -> ``0:01:06``."""
    s = round(float(seconds))
    return f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _fmt(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _print_table(db: Path, sessions: list[dict]) -> None:
    print(f"database: {db}")
    if not sessions:
        print("no sessions recorded yet")
        return
    # Columns as wide as their longest entry: a source (a URL, a file) is never cut.
    bed_w = max([3] + [len(s["bed"] or "-") for s in sessions])
    src_w = max([6] + [len(s["source"] or "-") for s in sessions])
    print(
        f"{'id':>4}  {'bed':{bed_w}s} {'source':{src_w}s} {'started (UTC)':24s} "
        f"{'ended (UTC)':24s} {'duration':>9} {'samples':>8} {'alarms':>6}"
    )
    for s in sessions:
        ended = s["ended_utc"] or "- (open or cut off)"
        print(
            f"{s['id']:>4}  {s['bed'] or '-':{bed_w}s} {s['source'] or '-':{src_w}s} "
            f"{s['started_utc']:24s} {ended:24s} {_fmt_duration(s['duration_s']):>9} "
            f"{s['samples']:>8d} {s['alarms']:>6d}"
        )


def _print_summary(info: dict) -> None:
    print(f"session {info['id']} (bed: {info['bed'] or '-'}, source: {info['source'] or '-'})")
    print(
        f"  started {info['started_utc']}, ended "
        f"{info['ended_utc'] or '- (still open, or cut off)'}, "
        f"duration {_fmt_duration(info['duration_s'])}"
    )
    if info["snapshots"]:
        print(f"  snapshots: {info['snapshots']}")
    thresholds = {s.get("name"): s.get("threshold") for s in info["scorers"] if isinstance(s, dict)}
    if not info["per_scorer"]:
        print("  no samples")
    for name, st in info["per_scorer"].items():
        thr = thresholds.get(name)
        print(
            f"  {name}: {st['samples']} samples, {st['with_face']} with a face, "
            f"mean p {_fmt(st['mean_p'])}, mean p_raw {_fmt(st['mean_p_raw'])}"
            + (f", threshold {thr:g}" if thr is not None else "")
        )
    for seg in info.get("segments", []):
        media = "-" if seg["media_t"] is None else f"{seg['media_t']:.1f} s"
        print(f"  segment {seg['segment']}: {seg['reason']} at t={seg['t']:.2f} s to media {media}")
    print(f"  alarms: {len(info['alarms'])}")
    for a in info["alarms"]:
        note = f"  {a['note']}" if a["note"] else ""
        print(f"    t={a['t']:9.2f} s  {a['utc']}  {a['kind']} {a['priority']} {a['state']}{note}")


def run(args: argparse.Namespace) -> int:
    """Print the sessions table, one session's summary, or export a session; return 0."""
    db = Path(args.db) if getattr(args, "db", None) else default_db_path()
    session = getattr(args, "session", None)
    export = getattr(args, "export", None)
    export_alarms = getattr(args, "export_alarms", None)
    if session is None:
        if export is not None or export_alarms is not None:
            raise InputError("--export needs --session ID: `painsign history` lists the ids")
        _print_table(db, list_sessions(db))
        return 0
    if export is None and export_alarms is None:
        _print_summary(session_summary(db, session))
        return 0
    if export is not None:
        n = export_session_csv(db, session, export)
        print(f"session {session}: {n} samples written to {export}")
    if export_alarms is not None:
        n = export_alarms_csv(db, session, export_alarms)
        print(f"session {session}: {n} alarm events written to {export_alarms}")
    return 0
