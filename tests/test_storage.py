"""Session storage on real SQLite files: schema, crash safety (kill -9), errors, snapshots."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from painsign.errors import InputError
from painsign.monitor.face_snapshots import encode_png
from painsign.signal import threshold_crossings
from painsign.signal.snapshot_rule import SnapshotRule
from painsign.storage import (
    SCHEMA_VERSION,
    TABLES,
    SessionRecorder,
    StorageError,
    default_db_path,
    list_sessions,
    open_db,
    parse_utc,
    purge_snapshots,
)

REPO = Path(__file__).resolve().parents[1]
SCORERS = [
    {"name": "nfcs", "display_name": "NFCS proxy", "threshold": 0.5},
    {"name": "vgg", "display_name": "VGG-Face", "threshold": 0.494},
]


def read(path, sql, *params):
    """Query the database from an independent connection (as another process would)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# -- schema and connections ------------------------------------------------------------------


def test_schema_tables_columns_and_pragmas(tmp_path):
    path = tmp_path / "new" / "sub" / "painsign.db"
    conn = open_db(path)  # creates the parent folders
    try:
        assert path.is_file()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        conn.close()
    assert read(path, "PRAGMA journal_mode") == [("wal",)]  # persistent, seen by anyone
    expected = {
        "sessions": ["id", "bed", "source", "started_utc", "ended_utc", "scorers", "settings"],
        "samples": ["session_id", "t", "face", "scorer", "p_raw", "p"],
        "alarms": ["session_id", "t", "kind", "priority", "state", "note", "utc"],
        "snapshots": ["session_id", "t", "state", "scorer", "png"],
    }
    assert {k: list(v) for k, v in TABLES.items()} == expected
    for table, cols in expected.items():
        info = read(path, f"PRAGMA table_info({table})")
        assert [r[1] for r in info][: len(cols)] == cols
    types = {r[1]: r[2] for r in read(path, "PRAGMA table_info(samples)")}
    assert types["t"] == "REAL" and types["p_raw"] == "REAL" and types["face"] == "INTEGER"
    assert {r[1]: r[2] for r in read(path, "PRAGMA table_info(snapshots)")}["png"] == "BLOB"


def test_reopening_keeps_data_and_version(tmp_path):
    path = tmp_path / "p.db"
    with SessionRecorder(path, "bed 1", "cam", SCORERS, {}) as rec:
        rec.add_sample(0.0, True, "nfcs", 0.1, 0.1)
    conn = open_db(path)
    conn.close()
    assert read(path, "SELECT count(*) FROM samples") == [(1,)]


def test_newer_schema_version_is_a_clear_error(tmp_path):
    path = tmp_path / "future.db"
    open_db(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageError, match=r"newer painsign \(schema version 2"):
        open_db(path)
    with pytest.raises(InputError, match="upgrade painsign"):
        list_sessions(path)
    errors = []
    rec = SessionRecorder(path, "b", "s", [], {}, on_error=errors.append, retry_interval=0.1)
    rec.close(timeout=0.3)
    assert isinstance(rec.error, StorageError) and "newer painsign" in str(rec.error)
    assert len(errors) == 1 and isinstance(errors[0], StorageError)
    assert read(path, "SELECT count(*) FROM sessions") == [(0,)]


def test_foreign_or_garbage_files_are_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not SQLite at all" * 200)
    with pytest.raises(StorageError, match="not an SQLite database: painsign never writes to it"):
        open_db(garbage)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE x (a)")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="not a painsign database"):
        open_db(other)


def test_default_db_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PAINSIGN_DB", str(tmp_path / "explicit.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "explicit.db"
    monkeypatch.delenv("PAINSIGN_DB")
    assert default_db_path() == tmp_path / "xdg" / "painsign" / "painsign.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / ".local" / "share" / "painsign" / "painsign.db"
    assert not (tmp_path / "home").exists()  # looking the path up creates nothing


# -- the session row, samples and alarms -----------------------------------------------------


def test_session_row_times_and_json(tmp_path):
    path = tmp_path / "s.db"
    before = datetime.now(UTC) - timedelta(seconds=1)
    rec = SessionRecorder(path, "bed 7", "camera 0", SCORERS, {"delay_s": 5, "window": 20.0})
    assert rec.flush()
    sid = rec.session_id
    row = read(
        path,
        "SELECT bed, source, started_utc, ended_utc, scorers, settings FROM sessions WHERE id = ?",
        sid,
    )[0]
    assert row[:2] == ("bed 7", "camera 0")
    assert row[3] is None  # still running
    rec.close()
    rec.close()  # idempotent
    after = datetime.now(UTC) + timedelta(seconds=1)
    started, ended, scorers, settings = read(
        path, "SELECT started_utc, ended_utc, scorers, settings FROM sessions"
    )[0]
    assert started.endswith("Z") and ended.endswith("Z")
    t_start, t_end = parse_utc(started), parse_utc(ended)
    assert t_start.utcoffset() == timedelta(0)
    assert before <= t_start <= t_end <= after
    assert json.loads(scorers) == SCORERS
    assert json.loads(settings) == {"delay_s": 5, "window": 20.0}


def test_scorer_objects_are_described(tmp_path):
    class Scorer:
        name, display_name, threshold = "onnx", "My CNN", 0.42

    path = tmp_path / "o.db"
    with SessionRecorder(path, "b", "s", [Scorer(), "plain"], {}):
        pass
    assert json.loads(read(path, "SELECT scorers FROM sessions")[0][0]) == [
        {"name": "onnx", "display_name": "My CNN", "threshold": 0.42},
        {"name": "plain", "display_name": "plain", "threshold": None},
    ]


def test_samples_and_alarms_round_trip(tmp_path):
    path = tmp_path / "r.db"
    rows = [
        (i / 30, i % 3 != 0, "nfcs", math.nan if i % 3 == 0 else i / 100, 0.5 + i / 1000)
        for i in range(60)
    ]
    with SessionRecorder(path, "b", "s", SCORERS, {}) as rec:
        rec.add_samples(rows)
        rec.add_sample(2.5, True, "vgg", 0.75, math.nan)
        rec.add_alarm(1.25, "pain", "high", "raised", note="p >= 0.5 for 5 s")
        rec.add_alarm(3.0, "camera", "medium", "ended")
    assert rec.rows_written == 63 and rec.pending == 0 and rec.error is None
    got = read(
        path, "SELECT t, face, scorer, p_raw, p FROM samples WHERE scorer = 'nfcs' ORDER BY rowid"
    )
    assert len(got) == 60
    for (t, face, scorer, p_raw, p), (t0, face0, _, p_raw0, p0) in zip(got, rows, strict=True):
        assert (t, face, scorer, p) == (t0, int(face0), "nfcs", p0)
        assert p_raw is None if math.isnan(p_raw0) else p_raw == p_raw0
    assert read(path, "SELECT p_raw, p FROM samples WHERE scorer = 'vgg'") == [(0.75, None)]
    alarms = read(path, "SELECT t, kind, priority, state, note, utc FROM alarms ORDER BY t")
    assert [a[:5] for a in alarms] == [
        (1.25, "pain", "high", "raised", "p >= 0.5 for 5 s"),
        (3.0, "camera", "medium", "ended", ""),
    ]
    assert all(a[5].endswith("Z") and parse_utc(a[5]) for a in alarms)


def test_default_time_is_the_monotonic_session_clock(tmp_path):
    now = [100.0]
    path = tmp_path / "c.db"
    with SessionRecorder(path, "b", "s", [], {}, clock=lambda: now[0]) as rec:
        now[0] = 112.5
        assert rec.elapsed() == 12.5
        rec.add_sample(None, True, "nfcs", 0.2, 0.2)
        rec.add_alarm(None, "pain", "high", "raised")
    assert read(path, "SELECT t FROM samples") == [(12.5,)]
    assert read(path, "SELECT t FROM alarms") == [(12.5,)]


def test_commits_within_a_second_without_close(tmp_path):
    path = tmp_path / "live.db"
    rec = SessionRecorder(path, "b", "s", SCORERS, {}, commit_interval=0.5)
    try:
        assert rec.session_id is not None
        t0 = time.monotonic()
        rec.add_samples((i / 30, True, "nfcs", 0.3, 0.3) for i in range(50))
        rec.add_alarm(1.0, "pain", "high", "raised")

        def committed():
            return read(
                path, "SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM alarms)"
            )[0] == (50, 1)

        assert wait_for(committed, 3.0)
        assert time.monotonic() - t0 < 1.2
        assert read(path, "SELECT ended_utc FROM sessions") == [(None,)]
        assert rec.rows_written == 51 and rec.pending == 0
    finally:
        rec.close()


def test_commit_interval_is_capped_at_one_second(tmp_path):
    with pytest.raises(ValueError, match="commit_interval"):
        SessionRecorder(tmp_path / "x.db", commit_interval=2.0)


CHILD = textwrap.dedent("""
    import sys, time
    from painsign.storage import SessionRecorder

    rec = SessionRecorder(sys.argv[1], "bed", "kill test", ["s"], {}, commit_interval=0.5)
    print("ready", rec.session_id, flush=True)
    start = time.monotonic()
    i = 0
    while True:
        delay = start + i / 200 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        rec.add_sample(i / 200, True, "s", 0.25, 0.5)
        print(i, flush=True)
        i += 1
""")


@pytest.mark.slow
def test_kill_9_loses_at_most_the_last_second(tmp_path):
    path = tmp_path / "killed.db"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    lines: list[str] = []
    ready = threading.Event()

    def reader():
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("ready"):
                ready.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        assert ready.wait(30), "the recorder subprocess did not start"
        time.sleep(2.5)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    thread.join(10)
    assert proc.returncode == -signal.SIGKILL
    last_i = int(lines[-1])  # the last sample the child had handed to the recorder
    assert last_i >= 200, "the child wrote less than a second of samples"

    conn = sqlite3.connect(path)  # recovers the WAL of the killed writer
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        ts = [r[0] for r in conn.execute("SELECT t FROM samples ORDER BY rowid")]
        ended = conn.execute("SELECT ended_utc FROM sessions").fetchall()
    finally:
        conn.close()
    assert ended == [(None,)]  # cut off, not closed
    idx = [round(t * 200) for t in ts]
    assert idx == list(range(len(idx))), "a gap or reordering in the committed samples"
    assert ts, "nothing was committed"
    lost_s = last_i / 200 - ts[-1]
    assert -0.01 <= lost_s <= 1.2, f"lost {lost_s:.2f} s of samples"


# -- errors never crash the caller -----------------------------------------------------------


def test_unwritable_location_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    errors: list[BaseException] = []
    rec = SessionRecorder(
        blocker / "painsign.db", "b", "s", SCORERS, {}, on_error=errors.append, retry_interval=0.1
    )
    assert wait_for(lambda: errors, 3.0)
    assert isinstance(errors[0], OSError | sqlite3.Error)
    assert type(rec.error) is type(errors[0])
    assert not rec.healthy and rec.session_id is None
    t0 = time.monotonic()
    for i in range(100):
        rec.add_sample(i / 30, True, "nfcs", 0.2, 0.2)  # no exception, no waiting
    rec.add_alarm(1.0, "pain", "high", "raised")
    assert time.monotonic() - t0 < 0.5
    time.sleep(0.3)
    assert len(errors) == 1, "one failure episode gives one on_error call"
    assert rec.errors_count >= 2, "the recorder keeps retrying"
    rec.close(timeout=0.3)
    assert rec.rows_written == 0 and rec.rows_dropped == 101


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions"
)
def test_read_only_folder_is_reported_not_raised(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    errors = []
    try:
        rec = SessionRecorder(folder / "painsign.db", on_error=errors.append)
        rec.add_sample(0.0, True, "nfcs", 0.1, 0.1)
        rec.close(timeout=0.3)
    finally:
        folder.chmod(0o700)
    assert len(errors) == 1 and isinstance(rec.error, OSError | sqlite3.Error)


def test_locked_database_reports_then_recovers_without_loss(tmp_path):
    path = tmp_path / "locked.db"
    errors = []
    rec = SessionRecorder(
        path,
        "b",
        "s",
        SCORERS,
        {},
        on_error=errors.append,
        busy_timeout=0.1,
        retry_interval=0.1,
        commit_interval=0.2,
    )
    assert rec.flush()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        t0 = time.monotonic()
        rec.add_samples((i / 30, True, "nfcs", 0.4, 0.4) for i in range(100))
        assert time.monotonic() - t0 < 0.1, "adding samples waited for the disk"
        assert wait_for(lambda: errors, 3.0)
        assert isinstance(rec.error, sqlite3.OperationalError)
        assert "locked" in str(rec.error) and not rec.healthy
        assert rec.pending == 100
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rec.flush(5.0) and rec.healthy
    rec.close()
    assert len(errors) == 1
    assert read(path, "SELECT count(*) FROM samples") == [(100,)]
    assert rec.rows_written == 100 and rec.rows_dropped == 0


def test_backlog_is_bounded_and_keeps_alarms(tmp_path):
    path = tmp_path / "bounded.db"
    rec = SessionRecorder(
        path, "b", "s", [], {}, busy_timeout=0.05, retry_interval=0.05, max_backlog=50
    )
    assert rec.flush()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        rec.add_alarm(0.0, "pain", "high", "raised")
        rec.add_samples((i, True, "nfcs", 0.4, 0.4) for i in range(100))
        assert wait_for(lambda: rec.rows_dropped == 51, 3.0)
    finally:
        other.execute("ROLLBACK")
        other.close()
    rec.close()
    assert read(path, "SELECT count(*) FROM alarms") == [(1,)]
    assert [r[0] for r in read(path, "SELECT t FROM samples ORDER BY t")] == [
        float(i) for i in range(51, 100)
    ]


def test_add_after_close_is_dropped_quietly(tmp_path):
    rec = SessionRecorder(tmp_path / "c.db")
    rec.close()
    rec.add_sample(1.0, True, "nfcs", 0.1, 0.1)
    assert rec.rows_dropped == 1
    assert read(tmp_path / "c.db", "SELECT count(*) FROM samples") == [(0,)]


# -- snapshots -------------------------------------------------------------------------------

#: Sign values crossing 0.5 three times (at 3, 6, 8); 0.5 exactly keeps the side, NaN skips.
P_SEQUENCE = [0.2, 0.3, 0.5, 0.7, 0.8, 0.5, 0.3, 0.1, 0.9, math.nan, 0.95, 0.9]


def frames_of(face_bgr, n):
    """n different face images (each brightened by its index)."""
    return [cv2.add(face_bgr, np.full_like(face_bgr, 5 * i)) for i in range(n)]


def test_snapshots_are_off_by_default(tmp_path):
    # The engine cuts no face at all then (tests/test_engine_seams.py); the recorder
    # itself stores nothing it is given.
    path = tmp_path / "private.db"
    with SessionRecorder(path, "b", "s", SCORERS, {}) as rec:
        assert rec.snapshots_enabled is False
        rec.add_snapshot(0.0, "pain", "nfcs", b"\x89PNG fake")
    assert read(path, "SELECT count(*) FROM snapshots") == [(0,)]


def test_snapshot_first_image_of_each_state(tmp_path, face_crop_bgr):
    # The rule (painsign.signal.snapshot_rule) says when; the recorder stores the bytes.
    path = tmp_path / "snap.db"
    frames = frames_of(face_crop_bgr, len(P_SEQUENCE))
    no_crop_at = {6}  # the face crop is missing when "no pain" begins: take the next one
    rule, taken = SnapshotRule(0.5), []
    with SessionRecorder(path, "b", "s", SCORERS, {}, snapshots=True) as rec:
        for i, p in enumerate(P_SEQUENCE):
            state = rule.update(p)
            if state is not None and i not in no_crop_at:
                rec.add_snapshot(i / 10, state, "nfcs", encode_png(frames[i]))
                rule.taken()
                taken.append(i)
    assert taken == [0, 3, 7, 8]
    # N crossings -> N + 1 snapshots (the initial state counts as a change)
    assert threshold_crossings(P_SEQUENCE, 0.5) == 3 == rule.count - 1
    rows = read(path, "SELECT t, state, scorer, png FROM snapshots ORDER BY t")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (0.0, "no pain", "nfcs"),
        (0.3, "pain", "nfcs"),
        (0.7, "no pain", "nfcs"),
        (0.8, "pain", "nfcs"),
    ]
    for (_, _, _, png), i in zip(rows, taken, strict=True):
        assert bytes(png[:8]) == b"\x89PNG\r\n\x1a\n"
        decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(decoded, frames[i])  # lossless, the right frame
    assert rule.state == "pain"


def test_snapshot_rule_alone_wants_each_state_once():
    rule = SnapshotRule(0.5)
    assert rule.update(0.5) is None  # on threshold: no side
    assert rule.update(0.9) == "pain"
    assert rule.update(0.95) == "pain"  # still wanted: not taken yet
    rule.taken()
    assert rule.update(0.95) is None and rule.update(math.nan) is None
    assert rule.state == "pain" and rule.count == 1


def test_snapshot_retention_limit(tmp_path, face_crop_bgr):
    path = tmp_path / "old.db"
    png = cv2.imencode(".png", face_crop_bgr)[1].tobytes()
    with SessionRecorder(path, "b", "s", [], {}, snapshots=True) as rec:
        rec.add_snapshot(10.0, "pain", "nfcs", png)
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat().replace("+00:00", "Z")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE sessions SET started_utc = ?", (old,))
    conn.commit()
    conn.close()
    with SessionRecorder(path, "b", "s", [], {}, snapshots=True, snapshot_retention_days=30) as rec:
        rec.add_snapshot(0.0, "no pain", "nfcs", png)
    assert read(path, "SELECT session_id, state FROM snapshots") == [(2, "no pain")]
    time.sleep(0.01)
    assert purge_snapshots(path, 0) == 1
    assert read(path, "SELECT count(*) FROM snapshots") == [(0,)]


def test_storage_imports_no_qt_or_cv2():
    code = (
        "import sys, painsign.storage; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cv2', 'PySide6', "
        "'pyqtgraph')]; print(bad); sys.exit(bool(bad))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_replay_segments_are_recorded_and_old_files_gain_the_table(tmp_path):
    import sqlite3

    from painsign.storage import SessionRecorder, open_db

    path = tmp_path / "s.db"
    with SessionRecorder(path, "b", "file demo.mp4", ["nfcs"]) as rec:
        rec.add_sample(0.5, True, "nfcs", 0.2, 0.2)
        rec.add_segment(1, 12.4, 3.0, "seek")
        rec.add_segment(2, 20.0, 0.0, "restart")
    con = sqlite3.connect(path)
    rows = con.execute("select session_id, segment, t, media_t, reason from segments").fetchall()
    assert rows == [(1, 1, 12.4, 3.0, "seek"), (1, 2, 20.0, 0.0, "restart")]
    assert all(u.endswith("Z") for (u,) in con.execute("select utc from segments"))
    # a file written before segments existed (same schema version) gets the table
    con.execute("drop table segments")
    con.commit()
    con.close()
    open_db(path, readonly=True).close()  # a reader never changes the file
    assert "segments" not in {
        r[0]
        for r in sqlite3.connect(path).execute(
            "select name from sqlite_master where type = 'table'"
        )
    }
    open_db(path).close()
    assert "segments" in {
        r[0]
        for r in sqlite3.connect(path).execute(
            "select name from sqlite_master where type = 'table'"
        )
    }


def test_a_new_database_and_its_wal_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        db = tmp_path / "private.db"
        conn = open_db(db)
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
        conn.execute("COMMIT")
        files = [p for p in tmp_path.iterdir() if p.name.startswith("private.db")]
        assert {p.name for p in files} >= {"private.db", "private.db-wal"}
        for p in files:
            assert p.stat().st_mode & 0o777 == 0o600, p.name
        conn.close()
    finally:
        os.umask(old)
