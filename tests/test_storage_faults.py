"""Storage faults on real files: damaged and foreign databases are refused and left
untouched, unusable paths and a full disk lose nothing silently (the monitor goes on, says
how many rows were lost and exits non-zero), ``history`` reads a read-only medium, and
alarm rows logged while a replay stalls keep their real times."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from monitor_fakes import ScriptedAnalyzer, ScriptSource, feed
from painsign_cli import painsign_argv, run_painsign

from painsign.alarms import AlarmSettings
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.storage import (
    SessionRecorder,
    StorageError,
    export_session_csv,
    list_sessions,
    open_db,
)

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo_grimace.mp4"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def record_session(path: Path, n: int = 20_000) -> None:
    """A closed session of ``n`` samples of two scorers and one alarm (about 1.5 MB)."""
    with SessionRecorder(path, "bed 3", "camera 0", ["nfcs", "vgg"], {}) as rec:
        for i in range(n):
            rec.add_sample(i / 30, True, "nfcs", 0.4, 0.3)
            rec.add_sample(i / 30, True, "vgg", 0.6, 0.5)
        rec.add_alarm(1.0, "sustained_pain", "high", "active")


@pytest.fixture
def damaged_db(tmp_path) -> Path:
    """A real session database whose middle pages were overwritten with garbage."""
    path = tmp_path / "damaged.db"
    record_session(path)
    page = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek((size // page // 2) * page)
        fh.write(os.urandom(4 * page))
    return path


def painsign(*argv, timeout=120, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return run_painsign(*argv, timeout=timeout, cwd=REPO, env=env, **kwargs)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("painsign: error:")]


# -- refused files are never written --------------------------------------------------------


def test_a_damaged_database_is_refused_untouched_and_every_row_counted_lost(damaged_db):
    before = sha(damaged_db)
    errors = []
    rec = SessionRecorder(
        damaged_db, "bed 3", "camera 0", ["nfcs"], {}, on_error=errors.append, retry_interval=0.05
    )
    rec.add_samples((i / 30, True, "nfcs", 0.4, 0.3) for i in range(90))
    rec.add_alarm(2.0, "sustained_pain", "high", "active")
    assert wait_for(lambda: errors, 3.0)
    rec.close()
    assert isinstance(rec.refused, StorageError) and len(errors) == 1
    message = str(rec.refused)
    assert str(damaged_db) in message and "damaged" in message and "move it aside" in message
    assert rec.session_id is None and rec.rows_written == 0 and rec.rows_dropped == 91
    assert rec.outcome() == (2, f"session not recorded: {message}; 91 rows lost")
    assert sha(damaged_db) == before, "a damaged database was written to"
    assert not damaged_db.with_name("damaged.db-wal").exists()


@pytest.mark.parametrize("kind", ["not SQLite", "a folder"])
def test_a_foreign_file_or_a_folder_is_refused(tmp_path, kind):
    path = tmp_path / "x.db"
    if kind == "a folder":
        path.mkdir()
        match = "not a regular file"
    else:
        path.write_bytes(b"PNG? no: notes about bed 3\n" * 300)
        match = "not an SQLite database"
    before = sha(path) if path.is_file() else None
    with pytest.raises(StorageError, match=match):
        open_db(path)
    rec = SessionRecorder(path, retry_interval=0.05)
    rec.add_sample(0.0, True, "nfcs", 0.1, 0.1)
    rec.close()
    code, line = rec.outcome()
    assert (
        code == 2
        and line.startswith(f"session not recorded: {path}")
        and line.endswith("; 1 rows lost")
    )
    assert (sha(path) if path.is_file() else None) == before


def test_quick_check_is_what_refuses_damage_that_opening_does_not_see(tmp_path, damaged_db):
    """The schema and header of ``damaged_db`` are intact: only the check finds the damage
    (a plain open and an INSERT would succeed and bury rows in a damaged file)."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(damaged_db, copy)
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
    conn.execute("INSERT INTO alarms VALUES (1, 9.0, 'x', 'high', 'active', '', 'now')")
    conn.commit()  # SQLite itself appends to the damaged file without a word
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        conn.execute("PRAGMA quick_check").fetchall()
    conn.close()
    with pytest.raises(StorageError, match="damaged"):
        open_db(damaged_db)


def test_history_of_a_damaged_or_foreign_database_is_one_line_exit_2(tmp_path, damaged_db):
    foreign = tmp_path / "foreign.db"
    foreign.write_bytes(b"\x00garbage" * 1000)
    for argv in (["--db", damaged_db], ["--db", damaged_db, "--session", "1"], ["--db", foreign]):
        r = painsign("history", *argv)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and len(error_lines(r.stderr)) == 1, r.stderr
        assert str(argv[1]) in r.stderr and "move it aside" in r.stderr


# -- the recorder keeps going and counts what it loses -------------------------------------


def test_a_database_deleted_during_the_session_is_noticed_and_recreated(tmp_path):
    path = tmp_path / "s.db"
    errors = []
    rec = SessionRecorder(
        path,
        "b",
        "s",
        ["nfcs"],
        {},
        on_error=errors.append,
        retry_interval=0.05,
        commit_interval=0.1,
    )
    rec.add_samples((i / 30, True, "nfcs", 0.1, 0.1) for i in range(30))
    assert rec.flush()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rec.add_samples((1 + i / 30, True, "nfcs", 0.2, 0.2) for i in range(30))
    assert wait_for(lambda: errors, 3.0), "deleting the database raised no alarm"
    assert "deleted" in str(errors[0])
    assert rec.flush(3.0)
    rec.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id FROM sessions").fetchall() == [(rec.session_id,)]
    assert conn.execute("SELECT count(*) FROM samples").fetchone() == (30,)
    code, line = rec.outcome()
    assert code == 1 and "deleted" in line and line.endswith("; 30 rows lost")


_FULL_DISK = """
import json, resource, signal, sqlite3, sys, time
from painsign.storage import SessionRecorder
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG for writes past the limit
path = sys.argv[1]
SessionRecorder(path).close()  # the schema, while the disk has room
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
errors = []
rec = SessionRecorder(path, "b", "s", ["nfcs"], {}, on_error=errors.append,
                      retry_interval=0.1, commit_interval=0.1)
added, t0 = 0, time.monotonic()
while time.monotonic() - t0 < 4.0 and not errors:
    rec.add_samples((added / 30 + i / 30, True, "nfcs", 0.5, 0.5) for i in range(10))
    added += 10
    time.sleep(0.01)
alarm_during_run = bool(errors) and not rec.healthy
rec.close(timeout=0.3)
print(json.dumps({"added": added, "written": rec.rows_written, "lost": rec.rows_dropped,
                  "error": str(rec.error), "alarm_during_run": alarm_during_run,
                  "outcome": rec.outcome()}))
"""


def test_a_disk_that_fills_up_mid_run_raises_the_alarm_and_counts_the_lost_rows(tmp_path):
    """A real full disk for SQLite: the file-size limit makes writes fail with EFBIG."""
    import json

    path = tmp_path / "full.db"
    r = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["alarm_during_run"], out
    assert "full" in out["error"] or "disk I/O" in out["error"], out
    assert out["written"] > 0 and out["lost"] > 0
    assert out["written"] + out["lost"] == out["added"], "rows vanished without a count"
    stored = sqlite3.connect(path).execute("SELECT count(*) FROM samples").fetchone()[0]
    assert stored == out["written"]
    code, line = out["outcome"]
    assert code == 1 and line.endswith(f"; {out['lost']} rows lost") and str(path) in line


# -- the monitor: recording fails, monitoring goes on, one line at the end ----------------


def _monitor(db: Path, **kwargs) -> subprocess.CompletedProcess:
    return painsign(
        "monitor",
        "--video",
        DEMO,
        "--headless",
        "--speed",
        "4",
        "--exit-after",
        "4",
        "--db",
        db,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", ["under a file", "damaged"])
def test_monitor_with_an_unusable_db_monitors_then_exits_2_with_the_lost_rows(
    tmp_path, damaged_db, case
):
    if case == "under a file":
        blocker = tmp_path / "somefile"
        blocker.write_text("a file, not a folder")
        db = blocker / "x.db"
    else:
        db, before = damaged_db, sha(damaged_db)
    r = _monitor(db)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "session None" not in r.stdout + r.stderr and "NOT RECORDING" in r.stdout
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and lines[0] == r.stderr.splitlines()[-1], r.stderr
    assert lines[0].startswith("painsign: error: session not recorded: ")
    assert str(db) in lines[0]
    lost = int(lines[0].rsplit("; ", 1)[1].removesuffix(" rows lost"))
    assert lost >= 60, "monitoring went on: at least a second of samples was produced"
    assert "alarm recording_failure active" in r.stderr  # "Recording failed" was raised
    assert "Traceback" not in r.stderr and " ERROR: " not in r.stderr
    if case == "damaged":
        assert sha(damaged_db) == before


_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
sys.argv = ["painsign", *sys.argv[2:]]
from painsign.cli import main
sys.exit(main())
"""


@pytest.mark.slow
def test_monitor_on_a_disk_that_fills_up_exits_1_and_says_how_many_rows_were_lost(tmp_path):
    db = tmp_path / "full.db"
    SessionRecorder(db).close()
    limit = db.stat().st_size + 48 * 1024
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            _LIMITED,
            str(limit),
            "monitor",
            "--video",
            str(DEMO),
            "--headless",
            "--speed",
            "4",
            "--exit-after",
            "4",
            "--db",
            str(db),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and lines[0] == r.stderr.splitlines()[-1], r.stderr
    assert "only partly recorded" in lines[0]
    assert "full" in lines[0] or "disk I/O" in lines[0], lines[0]
    assert int(lines[0].rsplit("; ", 1)[1].removesuffix(" rows lost")) > 0
    assert "alarm recording_failure active" in r.stderr
    samples = sqlite3.connect(db).execute("SELECT count(*) FROM samples").fetchone()[0]
    assert samples > 0, "the rows written before the disk filled up are kept"


# -- history is read-only ------------------------------------------------------------------


def _uncheckpointed_rows(path: Path) -> None:
    """Leave committed rows in the -wal only, as a crash would (no checkpoint at close)."""
    code = textwrap.dedent(f"""
        import os, sqlite3
        c = sqlite3.connect({str(path)!r}, isolation_level=None)
        c.execute("PRAGMA wal_autocheckpoint=0")
        c.execute("INSERT INTO samples VALUES (1, 99.0, 1, 'nfcs', 0.9, 0.9)")
        os._exit(0)
        """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def _read_only_history(folder: Path, mount: Path, *argv) -> subprocess.CompletedProcess:
    """``painsign history`` on ``folder`` seen through a read-only medium: a read-only
    bind mount in a private mount namespace as root (root ignores permissions), a
    0555 folder of 0444 files otherwise."""
    if IS_ROOT:
        script = 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"'
        cmd = [
            "unshare",
            "-m",
            "sh",
            "-c",
            script,
            "sh",
            str(folder),
            str(mount),
            *painsign_argv("history", *argv),
        ]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    for f in folder.iterdir():
        f.chmod(0o444)
    folder.chmod(0o555)
    try:
        return painsign("history", *[str(a).replace(str(mount), str(folder)) for a in argv])
    finally:
        folder.chmod(0o700)


def _can_mount_read_only(tmp_path) -> bool:
    if not IS_ROOT:
        return True
    if shutil.which("unshare") is None:
        return False
    (tmp_path / "probe").mkdir()
    r = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f"mount --bind {tmp_path} {tmp_path / 'probe'} && "
            f"mount -o remount,bind,ro {tmp_path / 'probe'}",
        ],
        capture_output=True,
        timeout=30,
    )
    return r.returncode == 0


@pytest.mark.parametrize("wal", [False, True], ids=["closed session", "rows in the -wal"])
def test_history_reads_a_database_on_a_read_only_medium(tmp_path, wal):
    if not _can_mount_read_only(tmp_path):
        pytest.skip("root without unshare/mount: no read-only medium to test on")
    folder, mount = tmp_path / "medium", tmp_path / "mnt"
    folder.mkdir()
    mount.mkdir()
    record_session(folder / "painsign.db", n=300)
    if wal:
        _uncheckpointed_rows(folder / "painsign.db")
        (folder / "painsign.db-shm").unlink()  # a copy made with the .db and its -wal only
    files = sorted(p.name for p in folder.iterdir())
    r = _read_only_history(folder, mount, "--db", mount / "painsign.db")
    assert r.returncode == 0, r.stderr
    expected = 600 + (1 if wal else 0)
    assert f" {expected} " in r.stdout.splitlines()[-1], r.stdout
    assert r.stderr == ""
    r = _read_only_history(folder, mount, "--db", mount / "painsign.db", "--session", "1")
    assert r.returncode == 0 and "alarms: 1" in r.stdout, r.stderr
    assert sorted(p.name for p in folder.iterdir()) == files, "history wrote to the medium"


def test_export_is_private_whatever_the_umask_and_the_old_file(tmp_path):
    db = tmp_path / "s.db"
    record_session(db, n=10)
    out = tmp_path / "out" / "samples.csv"
    out.parent.mkdir()
    out.write_text("old")
    out.chmod(0o644)
    old = os.umask(0o022)
    try:
        assert export_session_csv(db, 1, out) == 20
        fresh = tmp_path / "new" / "samples.csv"
        export_session_csv(db, 1, fresh)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o600
    assert fresh.stat().st_mode & 0o777 == 0o600
    assert fresh.parent.stat().st_mode & 0o777 == 0o700
    assert list_sessions(db)[0]["samples"] == 20


# -- alarm times during an outage ---------------------------------------------------------


@pytest.mark.slow
def test_alarm_rows_during_a_replay_stall_advance_with_the_session_clock(tmp_path):
    db = tmp_path / "s.db"
    recorder = SessionRecorder(db, bed="b", source="file", scorers=["nfcs"])
    source = ScriptSource()
    engine = MonitorEngine(
        source,
        ScriptedAnalyzer(lambda t: 0.2),
        MonitorSettings(bed="b"),
        AlarmSettings(),
        recorder=recorder,
    )
    index = feed(engine, source, 0.0, 2.0)
    engine.pause_audio()  # an alarm row at the start of the outage
    stalled = time.monotonic()
    time.sleep(2.5)  # no frame comes
    engine.cancel_pause()  # and one 2.5 s later
    outage = time.monotonic() - stalled
    feed(engine, source, 2.0, 3.0, start_index=index)  # frames again
    recorder.close()
    conn = sqlite3.connect(db)
    rows = dict(conn.execute("SELECT state, t FROM alarms WHERE kind = 'audio_pause'"))
    assert rows["resumed"] - rows["paused"] == pytest.approx(outage, abs=0.5)
    t_after = conn.execute("SELECT min(t) FROM samples WHERE t > 2.0").fetchone()[0]
    assert t_after >= rows["resumed"] - 0.1, "samples after the stall went back in time"
    segment = conn.execute("SELECT reason, media_t FROM segments").fetchall()
    assert segment == [("stall", 2.0)]


def test_a_refused_database_raises_recording_failed_with_its_reason_on_screen(damaged_db):
    from painsign.gui.present import status_text

    recorder = SessionRecorder(damaged_db, "b", "file", ["nfcs"], {}, retry_interval=0.05)
    source = ScriptSource()
    engine = MonitorEngine(
        source,
        ScriptedAnalyzer(lambda t: 0.2),
        MonitorSettings(bed="b"),
        AlarmSettings(),
        recorder=recorder,
    )
    assert wait_for(lambda: recorder.refused is not None, 3.0)
    feed(engine, source, 0.0, 8.0)  # monitoring goes on
    with engine._lock:
        engine._watch_source()
    feed(engine, source, 8.0, 9.0, start_index=240)
    state = engine.snapshot()
    recorder.close()
    assert "Recording failed" in [a.label for a in state.alarms]
    assert state.recording_problem.startswith(f"{damaged_db} is damaged")
    assert status_text(state).startswith(f"NOT RECORDING: {damaged_db} is damaged")
    assert state.scorers[0].current == pytest.approx(0.2)
    assert recorder.rows_dropped >= 270  # every sample (and the alarm rows) counted lost
