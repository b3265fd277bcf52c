"""The session database: schema, connections and time stamps.

One SQLite file holds every monitoring session; trusted monitors lose no recorded data:

* WAL journal: a crash of the application loses no committed transaction, and readers
  (``painsign history``) never block the writer.
* ``synchronous=FULL``: a committed transaction also survives a power loss.
* ``foreign_keys=ON``: rows of a session go with it.

Tables (columns in this order; later versions may add columns after these):

``sessions(id, bed, source, started_utc, ended_utc, scorers, settings, painsign_version)``
    ``scorers`` is a JSON list of ``{name, display_name, threshold}``, ``settings`` a JSON
    object. ``ended_utc`` stays NULL while the session runs or when it was cut off.
``samples(session_id, t, face, scorer, p_raw, p)``
    ``t``: seconds since the session start, from the monotonic clock (wall-clock jumps do not
    reorder rows); ``face`` 0/1; ``p_raw`` is NULL without a face (a gap stays a gap).
``alarms(session_id, t, kind, priority, state, note, utc)``
``snapshots(session_id, t, state, scorer, png)``
    ``state`` is ``'pain'`` or ``'no pain'``; only written when snapshots are switched on.
``segments(session_id, segment, t, media_t, reason, utc)``
    Replay only: each seek or restart starts segment 1, 2, ... at session time ``t``
    (which never goes back) from ``media_t`` seconds into the file; ``reason`` is
    ``'seek'`` or ``'restart'``. A sample's media time is ``media_t + (t - segment t)``
    of the last segment starting at or before it (segment 0 starts at t = 0, media 0).
    ``reason`` ``'stall'``: frames came again after the replay had stalled (its session
    time ran on the monotonic clock meanwhile).
    Added to existing files of the same schema version when opened for writing.

UTC time stamps are ISO 8601 with milliseconds and a ``Z``: ``2024-05-01T12:00:00.000Z``.
The schema version is ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from painsign.errors import InputError
from painsign.signal.snapshot_rule import NO_PAIN as NO_PAIN  # the stored snapshot states
from painsign.signal.snapshot_rule import PAIN as PAIN

#: Version of the schema written by this painsign (``PRAGMA user_version``).
SCHEMA_VERSION = 1

#: Required columns of each table, in order.
TABLES: dict[str, tuple[str, ...]] = {
    "sessions": ("id", "bed", "source", "started_utc", "ended_utc", "scorers", "settings"),
    "samples": ("session_id", "t", "face", "scorer", "p_raw", "p"),
    "alarms": ("session_id", "t", "kind", "priority", "state", "note", "utc"),
    "snapshots": ("session_id", "t", "state", "scorer", "png"),
}


_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    bed TEXT,
    source TEXT,
    started_utc TEXT NOT NULL,
    ended_utc TEXT,
    scorers TEXT NOT NULL DEFAULT '[]',
    settings TEXT NOT NULL DEFAULT '{}',
    painsign_version TEXT
);
CREATE TABLE IF NOT EXISTS samples (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    face INTEGER NOT NULL,
    scorer TEXT NOT NULL,
    p_raw REAL,
    p REAL
);
CREATE INDEX IF NOT EXISTS samples_session_t ON samples(session_id, t);
CREATE TABLE IF NOT EXISTS alarms (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    priority TEXT,
    state TEXT,
    note TEXT NOT NULL DEFAULT '',
    utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarms_session_t ON alarms(session_id, t);
CREATE TABLE IF NOT EXISTS snapshots (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pain', 'no pain')),
    scorer TEXT,
    png BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_session_t ON snapshots(session_id, t);
"""
    + """
CREATE TABLE IF NOT EXISTS segments (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    segment INTEGER NOT NULL,
    t REAL NOT NULL,
    media_t REAL,
    reason TEXT NOT NULL DEFAULT '',
    utc TEXT NOT NULL
);
"""
)
_SEGMENTS_ONLY = _SCHEMA.split("CREATE TABLE IF NOT EXISTS segments")[1]


class StorageError(InputError):
    """A database file cannot be used: not a painsign database, too new, unreadable."""


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds and a ``Z``.

    Examples
    --------
    >>> utc_now().endswith("Z")
    True
    """
    return to_utc_iso(datetime.now(UTC))


def to_utc_iso(when: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (naive means UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """Parse a stored UTC time stamp into an aware datetime."""
    return datetime.fromisoformat(text)


def default_db_path() -> Path:
    """Where the session database lives by default.

    ``$PAINSIGN_DB`` if set, else ``$XDG_DATA_HOME/painsign/painsign.db`` (XDG's default
    ``~/.local/share``; a relative ``XDG_DATA_HOME`` is ignored, as the XDG spec says).
    Nothing is created here: :func:`open_db` creates the parent folders when it creates
    the file.
    """
    env = os.environ.get("PAINSIGN_DB")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "painsign" / "painsign.db"


def _configure(conn: sqlite3.Connection, readonly: bool) -> None:
    conn.execute("PRAGMA foreign_keys=ON")
    if not readonly:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(
                f"cannot use WAL journaling for the database (got {mode!r}); put it on a "
                "local disk (--db PATH or $PAINSIGN_DB)"
            )
    conn.execute("PRAGMA synchronous=FULL")


def _user_tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    )
    return {r[0] for r in rows}


def _check_schema(conn: sqlite3.Connection, path: Path) -> int:
    """Return the file's schema version; raise :class:`StorageError` if unusable."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{path} was written by a newer painsign (schema version {version}; this painsign "
            f"reads up to {SCHEMA_VERSION}): upgrade painsign or use another --db"
        )
    if version == 0 and _user_tables(conn):
        raise StorageError(
            f"{path} is an SQLite file but not a painsign database: give another --db"
        )
    if version == SCHEMA_VERSION:
        for table, cols in TABLES.items():
            have = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            if have[: len(cols)] != list(cols):
                raise StorageError(
                    f"{path}: table {table!r} has columns {have}, expected {list(cols)} "
                    "first: the database is damaged or not from painsign"
                )
    return version


def is_damage(exc: BaseException) -> bool:
    """Whether an SQLite error means the file is not SQLite or its pages are damaged."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or (
        isinstance(exc, sqlite3.DatabaseError)
        and ("not a database" in str(exc) or "malformed" in str(exc))
    )


def damaged_error(path, exc_or_reason) -> StorageError:
    """The one-line refusal of a damaged or non-SQLite database file."""
    reason = exc_or_reason
    if isinstance(exc_or_reason, BaseException):
        reason = (
            "not an SQLite database"
            if "not a database" in str(exc_or_reason)
            else f"damaged (SQLite: {exc_or_reason})"
        )
    reason = " ".join(str(reason).split())  # quick_check reports span several lines
    return StorageError(
        f"{path} is {reason}: painsign never writes to it; move it aside "
        "(keep it for recovery) or give another --db"
    )


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check`` before painsign appends to a file: rows added to a damaged
    database may be lost with it. It reads every page (about 0.3 s for 100 MB) without
    the index cross-checks of ``integrity_check`` (5 times slower)."""
    problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        first = problems[0].replace("*** in database main ***", "")
        raise damaged_error(path, f"damaged (SQLite quick_check: {first[:200]})")


class _CopyConnection(sqlite3.Connection):
    """A connection to a private temporary copy, deleted when the connection closes."""

    copy_dir: str | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.copy_dir is not None:
                shutil.rmtree(self.copy_dir, ignore_errors=True)
                self.copy_dir = None


def _connect_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    """``mode=ro``; on a read-only medium, ``immutable=1`` or a private copy.

    A WAL database needs its ``-shm`` index: SQLite opens a read-only one only if the
    ``-shm`` (and ``-wal``) exist or can be created. Where neither is possible (a
    read-only medium or folder), ``immutable=1`` reads the database file alone, which is
    complete when there is no ``-wal`` with content (a session closed normally leaves
    none); otherwise the database and its ``-wal`` are copied into a private temporary
    folder and read there, so no committed row is missed.
    """
    base = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{base}?mode=ro", uri=True, timeout=timeout, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) not in (
            sqlite3.SQLITE_CANTOPEN,
            sqlite3.SQLITE_READONLY,
            getattr(sqlite3, "SQLITE_READONLY_DIRECTORY", 1544),
        ):
            raise
        conn.close()
    wal = path.with_name(path.name + "-wal")
    if not (wal.is_file() and wal.stat().st_size > 0):
        return sqlite3.connect(
            f"{base}?mode=ro&immutable=1", uri=True, timeout=timeout, isolation_level=None
        )
    copy_dir = tempfile.mkdtemp(prefix="painsign-history-")  # 0700: patient data
    copy = Path(copy_dir) / path.name
    shutil.copyfile(path, copy)
    shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    conn = sqlite3.connect(
        f"{copy.as_uri()}?mode=ro",
        uri=True,
        timeout=timeout,
        isolation_level=None,
        factory=_CopyConnection,
    )
    conn.copy_dir = copy_dir
    return conn


def _open_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    try:
        conn = _connect_readonly(path, timeout)
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise damaged_error(path, exc) from exc
        raise StorageError(f"cannot read {path}: {exc}") from exc
    try:
        try:
            _configure(conn, readonly=True)
            version = _check_schema(conn, path)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged_error(path, exc) from exc
            raise
        if version == 0:
            raise StorageError(f"{path} is an empty database, not a painsign database")
    except BaseException:
        conn.close()
        raise
    return conn


def open_db(
    path, *, readonly: bool = False, create: bool = True, timeout: float = 5.0
) -> sqlite3.Connection:
    """Open (and if needed create) a painsign database.

    Parameters
    ----------
    path : str or Path
    readonly : bool, default False
        Open with ``mode=ro`` (for reports); never creates or changes the file, and
        reads a database on a read-only medium too (see :func:`_connect_readonly`).
        Without it, the file is checked with ``PRAGMA quick_check`` first.
    create : bool, default True
        Create the file, its parent folders and the schema when missing (ignored when
        ``readonly``).
    timeout : float, default 5.0
        Seconds to wait for a lock held by another connection ("database is locked").

    Returns
    -------
    sqlite3.Connection
        In autocommit mode (``isolation_level=None``): use explicit ``BEGIN``/``COMMIT``.

    Raises
    ------
    StorageError
        The path is not a regular file, or the file is not SQLite, damaged, not a
        painsign database, or from a newer painsign (it is never changed then).
    InputError
        ``readonly`` or not ``create`` and the file does not exist.
    sqlite3.Error, OSError
        The file cannot be created or opened (permissions, disk full).
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        # os.open below would block on a FIFO and fail obscurely on a folder.
        raise StorageError(
            f"{path} is not a regular file (a folder, pipe or device): give "
            "the path of a database file with --db"
        )
    if (readonly or not create) and not path.is_file():
        raise InputError(
            f"no painsign database at {path}: run a monitoring session first, "
            "or give the right --db PATH"
        )
    if readonly:
        return _open_readonly(path, timeout)
    if create:
        existing = next(p for p in path.parents if p.exists())
        if not existing.is_dir():  # an OSError: the recorder retries, the user may fix it
            raise NotADirectoryError(f"{existing} is a file, not a folder")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Patient data: a new folder is 0700 and the file is made 0600 before SQLite
        # opens it; SQLite gives its -wal and -shm files the database's mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    uri = f"{path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    try:
        try:
            _configure(conn, readonly=False)
            _quick_check(conn, path)
            version = _check_schema(conn, path)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged_error(path, exc) from exc
            raise
        if version == 0:
            # One transaction; IF NOT EXISTS makes a race with another creator harmless.
            conn.executescript(
                f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
            )
        elif "segments" not in _user_tables(conn):
            conn.executescript(f"CREATE TABLE IF NOT EXISTS segments{_SEGMENTS_ONLY}")
    except BaseException:
        conn.close()
        raise
    return conn


def delete_old_snapshots(conn: sqlite3.Connection, older_than_days: float) -> int:
    """Delete snapshots taken more than ``older_than_days`` ago; return how many.

    A snapshot was taken at its session's ``started_utc`` plus its ``t``. This is the
    retention limit for face images (Carlini et al.'s app keeps them 30 days).
    """
    if not older_than_days >= 0:
        raise InputError(f"snapshot retention must be >= 0 days, got {older_than_days}")
    cutoff = datetime.now(UTC) - timedelta(days=float(older_than_days))
    starts = dict(conn.execute("SELECT id, started_utc FROM sessions"))
    doomed = [
        (rowid,)
        for rowid, sid, t in conn.execute("SELECT rowid, session_id, t FROM snapshots")
        if parse_utc(starts[sid]) + timedelta(seconds=t) < cutoff
    ]
    if doomed:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM snapshots WHERE rowid = ?", doomed)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(doomed)
