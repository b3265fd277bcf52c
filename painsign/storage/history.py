"""Read stored sessions back: list them, summarise one, export it as CSV, purge snapshots.

Every reader opens the database read-only (``mode=ro``): it never creates a file and can
run beside a live :class:`~painsign.storage.recorder.SessionRecorder` (WAL readers do not
block the writer).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path

from painsign.errors import InputError
from painsign.storage.db import (
    damaged_error,
    delete_old_snapshots,
    is_damage,
    open_db,
    parse_utc,
    to_utc_iso,
)

#: Header of the samples CSV written by :func:`export_session_csv`.
SAMPLES_CSV_COLUMNS = ("t", "utc", "face", "scorer", "p_raw", "p")
#: Header of the alarms CSV written by :func:`export_alarms_csv`.
ALARMS_CSV_COLUMNS = ("t", "utc", "kind", "priority", "state", "note")


@contextmanager
def _reading(path) -> Iterator[sqlite3.Connection]:
    """A read-only connection; damaged pages found while reading become a
    :class:`~painsign.storage.db.StorageError` naming the file (not a traceback)."""
    conn = open_db(path, readonly=True)
    try:
        yield conn
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise damaged_error(path, exc) from exc
        raise
    finally:
        conn.close()


def _session_row(conn: sqlite3.Connection, path, session_id: int) -> sqlite3.Row:
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM sessions WHERE id = ?", (int(session_id),)).fetchone()
    if row is None:
        ids = [r[0] for r in conn.execute("SELECT id FROM sessions ORDER BY id")]
        known = (
            f"sessions there: {ids[0]}..{ids[-1]}"
            if len(ids) > 1
            else f"the only session there is {ids[0]}"
            if ids
            else "it has no sessions"
        )
        raise InputError(
            f"no session {session_id} in {path} ({known}); `painsign history` lists them"
        )
    return row


def _duration(started: str | None, ended: str | None, max_t: float | None) -> float:
    """Recorded length in s: the latest sample/alarm time (monotonic-derived) or, when
    longer, the wall-clock span of a closed session (a session whose camera never
    delivered a frame has few rows but still lasted); 0 for an open session without rows."""
    recorded = float(max_t) if max_t is not None else 0.0
    if started and ended:
        try:
            span = (parse_utc(ended) - parse_utc(started)).total_seconds()
        except ValueError:
            span = 0.0
        return max(recorded, span)
    return recorded


def list_sessions(path) -> list[dict]:
    """Every session in the database, oldest first.

    Returns
    -------
    list of dict
        ``id, bed, source, started_utc, ended_utc`` (None while running or when cut off),
        ``scorers`` (names), ``samples``, ``alarms``, ``snapshots`` (row counts) and
        ``duration_s`` (see :func:`_duration`).

    Raises
    ------
    InputError
        No database at ``path``, or not a usable painsign database.
    """
    with _reading(path) as conn:
        rows = conn.execute(
            "SELECT s.id, s.bed, s.source, s.started_utc, s.ended_utc, s.scorers, "
            " (SELECT count(*) FROM samples WHERE session_id = s.id), "
            " (SELECT count(*) FROM alarms WHERE session_id = s.id), "
            " (SELECT count(*) FROM snapshots WHERE session_id = s.id), "
            " max((SELECT max(t) FROM samples WHERE session_id = s.id), "
            "     (SELECT max(t) FROM alarms WHERE session_id = s.id)) "
            "FROM sessions s ORDER BY s.id"
        ).fetchall()
    out = []
    for sid, bed, source, started, ended, scorers, n_s, n_a, n_snap, max_t in rows:
        try:
            names = [s["name"] for s in json.loads(scorers or "[]")]
        except (ValueError, TypeError, KeyError):
            names = []
        out.append(
            {
                "id": sid,
                "bed": bed,
                "source": source,
                "started_utc": started,
                "ended_utc": ended,
                "scorers": names,
                "samples": n_s,
                "alarms": n_a,
                "snapshots": n_snap,
                "duration_s": _duration(started, ended, max_t),
            }
        )
    return out


def session_summary(path, session_id: int) -> dict:
    """One session: its row, settings, per-scorer statistics and every alarm.

    Returns
    -------
    dict
        The ``sessions`` columns (``scorers`` and ``settings`` decoded from JSON),
        ``duration_s``, ``snapshots`` (count), ``per_scorer``: ``{name: {samples,
        with_face, mean_p_raw, mean_p}}`` (means over stored values; None when there are
        none), ``alarms``: list of ``{t, utc, kind, priority, state, note}`` and
        ``segments``: the replay segments after seeks, ``{segment, t, media_t, reason, utc}``.
    """
    with _reading(path) as conn:
        row = _session_row(conn, path, session_id)
        info = dict(row)
        for key, empty in (("scorers", []), ("settings", {})):
            try:
                info[key] = json.loads(info[key]) if info[key] else empty
            except ValueError:
                pass
        per = {}
        for name, n, n_face, mraw, mp, tmax in conn.execute(
            "SELECT scorer, count(*), sum(face), avg(p_raw), avg(p), max(t) FROM samples "
            "WHERE session_id = ? GROUP BY scorer ORDER BY scorer",
            (row["id"],),
        ):
            per[name] = {
                "samples": n,
                "with_face": int(n_face or 0),
                "mean_p_raw": mraw,
                "mean_p": mp,
                "t_max": tmax,
            }
        alarms = [
            dict(r)
            for r in conn.execute(
                "SELECT t, utc, kind, priority, state, note FROM alarms WHERE session_id = ? "
                "ORDER BY t, rowid",
                (row["id"],),
            )
        ]
        info["snapshots"] = conn.execute(
            "SELECT count(*) FROM snapshots WHERE session_id = ?", (row["id"],)
        ).fetchone()[0]
        try:
            info["segments"] = [
                dict(r)
                for r in conn.execute(
                    "SELECT segment, t, media_t, reason, utc FROM segments WHERE session_id = ? "
                    "ORDER BY t, rowid",
                    (row["id"],),
                )
            ]
        except sqlite3.OperationalError:  # a file from before replay segments
            info["segments"] = []
    max_t = max([v["t_max"] for v in per.values()] + [a["t"] for a in alarms], default=None)
    info["duration_s"] = _duration(info["started_utc"], info["ended_utc"], max_t)
    info["per_scorer"] = per
    info["alarms"] = alarms
    return info


def _csv_value(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return x


def _write_csv(out_csv, header, rows) -> int:
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    n = 0
    # Patient data: 0600 whatever the umask, also when replacing an existing file.
    fd = os.open(out_csv, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with open(fd, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([_csv_value(x) for x in r])
            n += 1
    return n


def export_session_csv(path, session_id: int, out_csv) -> int:
    """Write a session's samples as CSV ``t,utc,face,scorer,p_raw,p``; return the row count.

    ``t`` is seconds since the session start (monotonic clock); ``utc`` is the session's
    UTC start plus ``t`` (ISO 8601, milliseconds, ``Z``). Rows are in time order (then in
    recording order); a missing value (no face) is written as ``nan``, as in
    ``painsign analyze``'s ``frames.csv``. Floats keep full precision.
    """
    with _reading(path) as conn:
        row = _session_row(conn, path, session_id)
        sid, start = row["id"], parse_utc(row["started_utc"])
        conn.row_factory = None
        cur = conn.execute(
            "SELECT t, face, scorer, p_raw, p FROM samples WHERE session_id = ? ORDER BY t, rowid",
            (sid,),
        )
        rows = (
            (t, to_utc_iso(start + timedelta(seconds=t)), face, scorer, p_raw, p)
            for t, face, scorer, p_raw, p in cur
        )
        return _write_csv(out_csv, SAMPLES_CSV_COLUMNS, rows)


def export_alarms_csv(path, session_id: int, out_csv) -> int:
    """Write a session's alarm log as CSV ``t,utc,kind,priority,state,note``; return rows."""
    with _reading(path) as conn:
        sid = _session_row(conn, path, session_id)["id"]
        conn.row_factory = None
        cur = conn.execute(
            "SELECT t, utc, kind, priority, state, note FROM alarms "
            "WHERE session_id = ? ORDER BY t, rowid",
            (sid,),
        )
        return _write_csv(out_csv, ALARMS_CSV_COLUMNS, cur)


def purge_snapshots(path, older_than_days: float) -> int:
    """Delete face snapshots taken more than ``older_than_days`` ago (retention limit);
    return how many were deleted (see :func:`~painsign.storage.db.delete_old_snapshots`)."""
    with closing(open_db(path, create=False)) as conn:
        return delete_old_snapshots(conn, older_than_days)


__all__ = [
    "ALARMS_CSV_COLUMNS",
    "SAMPLES_CSV_COLUMNS",
    "export_alarms_csv",
    "export_session_csv",
    "list_sessions",
    "purge_snapshots",
    "session_summary",
]
