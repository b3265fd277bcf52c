"""Recorded sessions read back for a replay: samples, alarm log and advisories.

Read from the SQLite files ``painsign monitor --db`` writes (read-only, as
``painsign history`` does): see :mod:`painsign.storage.db` for the tables.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from painsign.alarms import AlarmId
from painsign.errors import InputError
from painsign.storage.db import damaged_error, is_damage, open_db

logger = logging.getLogger("painsign.central")


@dataclass
class RecordedSession:
    """One stored session, ready to replay.

    Attributes
    ----------
    name : str
        ``"FILE session ID"`` for the start lines.
    bed, source_kind : str
        The recorded bed label and ``camera``/``stream``/``file``.
    demo : bool
        Whether it was recorded with shortened alarm delays.
    scorers : list of dict
        ``name``, ``display_name``, ``threshold``, the first driving the pain alarms.
    samples : dict
        Scorer name -> (t, face, p) arrays; p is the live value the bedside showed (the
        mean of the last second's measured P(pain)), NaN where not measured.
    alarms : list of tuple
        ``(t, kind, priority, state, note)`` rows, oldest first, advisories apart.
    advisories : list of tuple
        ``(t, text or None)``: the review advisory from ``t`` on.
    duration_s : float
        Length of one loop (last row plus one second).
    p_raw : dict
        Scorer name -> the frames' raw P(pain) (NaN where not measured), aligned with
        ``samples``: what the bedside's sign-type trackers were fed.
    settings : dict
        The stored session settings (``{}`` when unreadable).
    """

    name: str
    bed: str
    source_kind: str
    demo: bool
    scorers: list[dict]
    samples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    alarms: list[tuple]
    advisories: list[tuple]
    duration_s: float
    p_raw: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def _read_sessions(conn: sqlite3.Connection, path: Path) -> list[RecordedSession]:
    out = []
    rows = conn.execute("SELECT id, bed, source, scorers, settings FROM sessions ORDER BY id")
    for sid, bed, source, scorers_json, settings_json in rows.fetchall():
        try:
            scorers = [
                {
                    "name": str(s["name"]),
                    "display_name": str(s.get("display_name") or s["name"]),
                    "threshold": float(s["threshold"]),
                }
                for s in json.loads(scorers_json or "[]")
            ]
            settings = json.loads(settings_json or "{}")
            demo = bool(settings.get("demo", False))
        except (ValueError, TypeError, KeyError, AttributeError):
            logger.warning("%s session %s: unreadable scorers or settings, skipped", path, sid)
            continue
        samples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        p_raw: dict[str, np.ndarray] = {}
        for s in scorers:
            data = conn.execute(
                "SELECT t, face, p, p_raw FROM samples WHERE session_id = ? AND scorer = ? "
                "ORDER BY t",
                (sid, s["name"]),
            ).fetchall()
            if data:
                arr = np.array(
                    [
                        (t, face, math.nan if p is None else p, math.nan if raw is None else raw)
                        for t, face, p, raw in data
                    ]
                )
                samples[str(s["name"])] = (arr[:, 0], arr[:, 1] > 0, arr[:, 2])
                p_raw[str(s["name"])] = arr[:, 3]
        if not scorers or scorers[0]["name"] not in samples:
            continue  # nothing measured: nothing to replay
        alarms, advisories = [], []
        for t, kind, priority, state, note in conn.execute(
            "SELECT t, kind, priority, state, note FROM alarms WHERE session_id = ? "
            "ORDER BY t, rowid",
            (sid,),
        ):
            if kind == "needs_review":
                advisories.append((float(t), note or None if state == "active" else None))
            elif kind != AlarmId.CENTRAL_LINK_LOST:
                alarms.append((float(t), str(kind), priority, str(state), note or ""))
        last = max(
            [float(v[0][-1]) for v in samples.values()] + [a[0] for a in alarms + advisories]
        )
        word = (source or "").split(" ", 1)[0]
        out.append(
            RecordedSession(
                name=f"{path.name} session {sid}",
                bed=bed or "",
                source_kind=word if word in ("camera", "stream", "file") else "file",
                demo=demo,
                scorers=scorers,
                samples=samples,
                alarms=alarms,
                advisories=advisories,
                duration_s=last + 1.0,
                p_raw=p_raw,
                settings=settings,
            )
        )
    return out


def load_sessions(paths) -> list[RecordedSession]:
    """Every session with samples in the painsign databases ``paths``, in order.

    Raises
    ------
    InputError
        A file is missing, not a painsign database (or damaged, or from a newer
        painsign), or none of them holds a session with samples; one line each.
    """
    sessions: list[RecordedSession] = []
    for path in map(Path, paths):
        conn = open_db(path, readonly=True)
        try:
            sessions += _read_sessions(conn, path)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged_error(path, exc) from None
            raise InputError(f"cannot read the sessions of {path}: {exc}") from None
        finally:
            conn.close()
    if not sessions:
        raise InputError(
            "no recorded session with samples in "
            + ", ".join(str(p) for p in paths)
            + ": record one with `painsign monitor --db PATH`"
        )
    return sessions
