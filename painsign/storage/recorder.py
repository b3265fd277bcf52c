"""Record a live monitoring session to SQLite without ever blocking the caller.

:class:`SessionRecorder` puts every sample, alarm and snapshot on a queue; one writer thread
batches them and commits at least every ``commit_interval`` seconds (default 0.5 s), so a
crash or ``kill -9`` loses at most the last second, and a committed batch survives a power
loss (WAL, ``synchronous=FULL``; see :mod:`painsign.storage.db`).

Face snapshots are opt-in (privacy: by default no frame of the baby's face is stored): with
``snapshots=True`` the recorder stores the PNG bytes it is given; when to take one is the
domain's rule (:mod:`painsign.signal.snapshot_rule`).
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from painsign import __version__
from painsign.scoring.base import display_name
from painsign.storage.db import (
    NO_PAIN,
    PAIN,
    StorageError,
    delete_old_snapshots,
    open_db,
    utc_now,
)

log = logging.getLogger(__name__)

_SAMPLE, _ALARM, _SNAPSHOT, _SEGMENT, _FLUSH = "sample", "alarm", "snapshot", "segment", "flush"


def _real(x) -> float | None:
    """A float for the database; NaN, None and infinities become NULL."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _file_id(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def _scorer_entries(scorers) -> list[dict]:
    """Normalise scorers to JSON-able ``{name, display_name, threshold}`` dicts.

    Accepts dicts, strings (a name) or objects with ``name`` (and optionally
    ``display_name`` and ``threshold``), such as painsign's scorers.
    """
    out = []
    for s in scorers or ():
        if isinstance(s, str):
            out.append({"name": s, "display_name": s, "threshold": None})
        elif isinstance(s, dict):
            name = str(s["name"])
            out.append(
                {
                    "name": name,
                    "display_name": s.get("display_name", name),
                    "threshold": _real(s.get("threshold")),
                }
            )
        else:
            name = str(s.name)
            out.append(
                {
                    "name": name,
                    "display_name": display_name(s),
                    "threshold": _real(getattr(s, "threshold", None)),
                }
            )
    return out


class SessionRecorder:
    """Store one monitoring session (samples, alarms, optional snapshots) in SQLite.

    Every ``add_*`` method only puts a tuple on a queue: it never waits for the disk. A
    writer thread opens the database, creates the session row, and every
    ``commit_interval`` seconds writes everything queued in one transaction.

    Errors of the writer (cannot create the file, disk full, database locked, a database
    from a newer painsign) never reach the caller as exceptions: the latest is kept in
    :attr:`error`, :attr:`healthy` turns False, and ``on_error(exc)`` is called (from the
    writer thread) at the start of each failure episode, so the monitor can raise a
    technical alarm. Rows that could not be written stay in memory (up to ``max_backlog``;
    beyond that the oldest samples and snapshots are dropped and counted in
    :attr:`rows_dropped`) and are written when the database works again; the writer
    retries every ``retry_interval`` seconds. A file that is refused at opening (not
    SQLite, damaged, not a regular file, from a newer painsign: a
    :class:`~painsign.storage.db.StorageError`) is never written and never retried: every
    row is counted as lost. :meth:`outcome` says at the end what was lost and why.

    Parameters
    ----------
    path : str or Path
        The database file (see :func:`~painsign.storage.db.default_db_path`); created with
        its parent folders if missing.
    bed, source : str
        Bed label and video source (camera index, URL or file) for the session row.
    scorers : sequence
        The scorers: dicts ``{name, display_name, threshold}``, names, or scorer objects.
    settings : dict
        JSON-able settings of the session (alarm delays, window, ...).
    clock : callable, default time.monotonic
        Monotonic clock in seconds; :meth:`elapsed` is ``clock() - clock()`` at opening.
    commit_interval : float, default 0.5
        Seconds between commits (at most 1 s: that is the most a crash may lose).
    snapshots : bool, default False
        Store face snapshots. Off by default: :meth:`add_snapshot` then does nothing.
    snapshot_retention_days : float or None, default 30.0
        With ``snapshots=True``, snapshots (of any session) older than this are deleted
        when the database is opened; None keeps them.
    on_error : callable, optional
        ``on_error(exc)``, called from the writer thread when writing starts failing.
    retry_interval : float, default 1.0
        Seconds between attempts after a failure.
    busy_timeout : float, default 5.0
        Seconds SQLite waits for a lock held by another connection before failing.
    max_backlog : int, default 500_000
        Most rows kept in memory while the database cannot be written (about an hour of
        30 fps samples for four scorers).
    open_timeout : float, default 2.0
        The constructor waits up to this long for the session row, so :attr:`session_id`
        is usually set on return; it never raises for a disk problem.

    Examples
    --------
    >>> with SessionRecorder(db, "bed 3", "camera 0", ["nfcs"], {}) as rec:  # doctest: +SKIP
    ...     rec.add_sample(rec.elapsed(), True, "nfcs", 0.12, 0.10)
    """

    def __init__(
        self,
        path,
        bed: str = "",
        source: str = "",
        scorers: Sequence = (),
        settings: dict | None = None,
        clock: Callable[[], float] = time.monotonic,
        commit_interval: float = 0.5,
        *,
        snapshots: bool = False,
        on_error: Callable[[BaseException], None] | None = None,
        retry_interval: float = 1.0,
        busy_timeout: float = 5.0,
        max_backlog: int = 500_000,
        open_timeout: float = 2.0,
        snapshot_retention_days: float | None = 30.0,
    ):
        if not 0 < commit_interval <= 1.0:
            raise ValueError(f"commit_interval must be in (0, 1] s, got {commit_interval}")
        if snapshot_retention_days is not None and not snapshot_retention_days >= 0:
            raise ValueError(
                f"snapshot_retention_days must be >= 0 or None, got {snapshot_retention_days}"
            )
        self.path = Path(path)
        self.bed = str(bed)
        self.source = str(source)
        self.scorers = _scorer_entries(scorers)
        self.settings = dict(settings or {})
        self.clock = clock
        self.commit_interval = float(commit_interval)
        self.snapshots_enabled = bool(snapshots)
        self.snapshot_retention_days = snapshot_retention_days
        self.on_error = on_error
        self.retry_interval = float(retry_interval)
        self.busy_timeout = float(busy_timeout)
        self.max_backlog = int(max_backlog)
        self.started_utc = utc_now()
        self.ended_utc: str | None = None
        self._t0 = clock()
        self._settings_json = json.dumps(self.settings, default=str)
        self._scorers_json = json.dumps(self.scorers)

        #: The session's row id once the database has been opened, else None.
        self.session_id: int | None = None
        #: The latest writer error (kept after recovery; see :attr:`healthy`).
        self.error: BaseException | None = None
        #: False while the latest write attempt failed.
        self.healthy = True
        #: Rows committed so far (samples + alarms + snapshots).
        self.rows_written = 0
        #: Rows lost: dropped from a full backlog, added after close, unwritable at close.
        self.rows_dropped = 0
        #: Number of failed write attempts.
        self.errors_count = 0
        #: Why the database file was refused at opening (never retried), else None.
        self.refused: StorageError | None = None

        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._backlog: list[tuple] = []
        self._flush_waiters: list[threading.Event] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()
        self._conn = None
        self._file_id: tuple[int, int] | None = None
        self._rows_in_file = 0
        self._thread = threading.Thread(target=self._run, name="painsign-recorder", daemon=True)
        self._thread.start()
        self._ready.wait(open_timeout)

    # -- caller side (never touches the disk) ------------------------------------------------

    def elapsed(self) -> float:
        """Seconds since the session started, on the monotonic clock."""
        return self.clock() - self._t0

    @property
    def pending(self) -> int:
        """Rows queued or kept for retry, not yet committed."""
        return self._queue.qsize() + len(self._backlog)

    def _put(self, item: tuple) -> None:
        if self._closed:
            self.rows_dropped += 1
            log.debug("session recorder is closed: %s at t=%.3f dropped", item[0], item[1])
            return
        self._queue.put(item)

    def _t(self, t) -> float:
        return self.elapsed() if t is None else float(t)

    def add_sample(self, t: float | None, face: bool, scorer: str, p_raw: float, p: float) -> None:
        """Queue one scorer's sample: time (s since start; None for now), face found,
        scorer name, per-frame P(pain) (NaN without a face, stored NULL) and the sign."""
        self._put((_SAMPLE, self._t(t), int(bool(face)), str(scorer), _real(p_raw), _real(p)))

    def add_samples(self, rows: Iterable[Sequence]) -> None:
        """Queue several ``(t, face, scorer, p_raw, p)`` rows."""
        for t, face, scorer, p_raw, p in rows:
            self.add_sample(t, face, scorer, p_raw, p)

    def add_alarm(
        self, t: float | None, kind: str, priority: str, state: str, note: str = ""
    ) -> None:
        """Queue an alarm event (raised, acknowledged, paused, ended, setting changed...).

        Its ``utc`` column is the wall-clock time of this call.
        """
        self._put((_ALARM, self._t(t), str(kind), str(priority), str(state), str(note), utc_now()))

    def add_segment(
        self, segment: int, t: float, media_t: float | None, reason: str = "seek"
    ) -> None:
        """Queue the start of a replay segment (a seek or restart) at session time ``t``
        from ``media_t`` seconds into the file."""
        self._put((_SEGMENT, float(t), int(segment), _real(media_t), str(reason), utc_now()))

    def add_snapshot(self, t: float | None, state: str, scorer: str, png_bytes: bytes) -> None:
        """Queue a PNG face snapshot; does nothing unless created with ``snapshots=True``."""
        if not self.snapshots_enabled:
            return
        if state not in (PAIN, NO_PAIN):
            raise ValueError(f"snapshot state must be {PAIN!r} or {NO_PAIN!r}, got {state!r}")
        self._put((_SNAPSHOT, self._t(t), state, str(scorer), bytes(png_bytes)))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued before this call is committed (blocks the caller:
        for tests and shutdown, not for the frame loop). Return True if it was in time."""
        if self._closed:
            return not self._thread.is_alive() and self.healthy
        done = threading.Event()
        self._queue.put((_FLUSH, done))
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, set ``ended_utc`` and stop the writer (idempotent).

        Waits up to ``timeout`` seconds; rows that still cannot be written are counted in
        :attr:`rows_dropped` and reported through :attr:`error`.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self.ended_utc = utc_now()
            self._close_deadline = time.monotonic() + timeout
            self._stop.set()
        if threading.current_thread() is not self._thread:  # e.g. close() from on_error
            self._thread.join(timeout + 1.0)

    def outcome(self) -> tuple[int, str] | None:
        """What was lost, for the end of a session: None when nothing was.

        Returns
        -------
        tuple of (int, str) or None
            ``(2, "session not recorded: <why>; N rows lost")`` when the database could
            never be used (an unusable ``--db``), ``(1, "session ID only partly recorded
            in PATH: <why>; N rows lost")`` when rows were lost later (disk full, file
            made read-only or removed, backlog overflow); None when every row was
            written, even after a failure the writer recovered from.
        """
        why = " ".join(self.reason().split())  # one line on stderr
        if self.session_id is None:
            return 2, f"session not recorded: {why}; {self.rows_dropped} rows lost"
        if self.rows_dropped:
            return 1, (
                f"session {self.session_id} only partly recorded in {self.path}: "
                f"{why}; {self.rows_dropped} rows lost"
            )
        return None

    def reason(self) -> str:
        """The latest writer error in words, naming the file ('' when there was none)."""
        if self.error is None:
            return "" if self.rows_dropped == 0 else "too many rows waiting to be written"
        if isinstance(self.error, StorageError):
            return str(self.error)
        return f"cannot write {self.path}: {self.error}"

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writer thread -----------------------------------------------------------------------

    def _report(self, exc: BaseException) -> None:
        first = self.healthy
        self.error = exc
        self.healthy = False
        self.errors_count += 1
        if first:  # the monitor raises "Recording failed"; the CLI reports at the end
            log.info("session recorder cannot write %s: %s", self.path, exc)
            if self.on_error is not None:
                try:
                    self.on_error(exc)
                except Exception:
                    log.exception("session recorder on_error callback failed")

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item[0] == _FLUSH:
                self._flush_waiters.append(item[1])
            else:
                self._backlog.append(item)
        excess = len(self._backlog) - self.max_backlog
        if excess > 0:  # drop the oldest samples/snapshots, keep every alarm and segment
            kept, dropped = [], 0
            for item in self._backlog:
                if dropped < excess and item[0] not in (_ALARM, _SEGMENT):
                    dropped += 1
                else:
                    kept.append(item)
            self._backlog = kept
            self.rows_dropped += dropped

    def _open(self) -> None:
        conn = open_db(self.path, timeout=self.busy_timeout)
        try:
            # INSERT OR IGNORE: after the file was deleted, the session goes on in a new one.
            cur = conn.execute(
                "INSERT OR IGNORE INTO sessions (id, bed, source, started_utc, scorers, "
                "settings, painsign_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.session_id,
                    self.bed,
                    self.source,
                    self.started_utc,
                    self._scorers_json,
                    self._settings_json,
                    __version__,
                ),
            )
            if self.session_id is None:
                self.session_id = cur.lastrowid
            self._file_id = _file_id(self.path)
            self._rows_in_file = 0
            if self.snapshots_enabled and self.snapshot_retention_days is not None:
                deleted = delete_old_snapshots(conn, self.snapshot_retention_days)
                if deleted:
                    log.info(
                        "deleted %d snapshots older than %g days",
                        deleted,
                        self.snapshot_retention_days,
                    )
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _check_file(self) -> None:
        """SQLite goes on writing to a deleted file: notice it, count what went with it."""
        try:
            same = _file_id(self.path) == self._file_id
        except FileNotFoundError:
            same = False
        if not same:
            self._conn.close()
            self._conn = None
            self.rows_dropped += self._rows_in_file
            self._rows_in_file = 0
            raise OSError(
                f"{self.path} was deleted or replaced during the session: the "
                "rows written before are gone with it"
            )

    def _write(self, final: bool) -> None:
        """Open if needed and commit the backlog (and ``ended_utc`` when final)."""
        if self._conn is not None:
            self._check_file()
        if self._conn is None:
            self._open()
        conn, sid = self._conn, self.session_id
        batch = self._backlog
        if not batch and not final:
            self._release_waiters()
            return
        samples = [(sid, *r[1:]) for r in batch if r[0] == _SAMPLE]
        alarms = [(sid, *r[1:]) for r in batch if r[0] == _ALARM]
        snaps = [(sid, *r[1:]) for r in batch if r[0] == _SNAPSHOT]
        segments = [(sid, r[2], r[1], *r[3:]) for r in batch if r[0] == _SEGMENT]
        conn.execute("BEGIN IMMEDIATE")
        try:
            if samples:
                conn.executemany(
                    "INSERT INTO samples (session_id, t, face, scorer, p_raw, p) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    samples,
                )
            if alarms:
                conn.executemany(
                    "INSERT INTO alarms (session_id, t, kind, priority, state, "
                    "note, utc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    alarms,
                )
            if snaps:
                conn.executemany(
                    "INSERT INTO snapshots (session_id, t, state, scorer, png) "
                    "VALUES (?, ?, ?, ?, ?)",
                    snaps,
                )
            if segments:
                conn.executemany(
                    "INSERT INTO segments (session_id, segment, t, media_t, "
                    "reason, utc) VALUES (?, ?, ?, ?, ?, ?)",
                    segments,
                )
            if final:
                conn.execute(
                    "UPDATE sessions SET ended_utc = ? WHERE id = ?", (self.ended_utc, sid)
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._backlog = []
        self.rows_written += len(batch)
        self._rows_in_file += len(batch)
        self._release_waiters()

    def _release_waiters(self) -> None:
        for done in self._flush_waiters:
            done.set()
        self._flush_waiters = []

    def _attempt(self, final: bool = False) -> bool:
        if self.refused is not None:  # never touch a refused file again: count the rows
            self.rows_dropped += len(self._backlog)
            self._backlog = []
            self._release_waiters()
            return False
        try:
            self._write(final)
        except Exception as exc:  # sqlite3.Error, OSError, StorageError: all reported
            if isinstance(exc, StorageError) and self._conn is None:
                self.refused = exc
                self.rows_dropped += len(self._backlog)
                self._backlog = []
            self._report(exc)
            return False
        self.healthy = True
        self._ready.set()
        return True

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            self._drain()
            ok = self._attempt()
            self._ready.set()  # the constructor stops waiting (a failure is reported)
            wait = self.commit_interval if ok or self.refused else self.retry_interval
        # closing: flush everything, retrying until the close deadline
        while True:
            self._drain()
            if self._attempt(final=True):
                break
            if (
                self.refused is not None
                or time.monotonic() + self.retry_interval > self._close_deadline
            ):
                lost = len(self._backlog) + self._queue.qsize()
                self.rows_dropped += lost
                log.info("session recorder closed with %d rows unwritten to %s", lost, self.path)
                break
            time.sleep(self.retry_interval)
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception as exc:
                self._report(exc)
            self._conn = None
        self._ready.set()
