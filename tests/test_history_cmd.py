"""``painsign history`` on a real session database: table, summary, CSV export, errors."""

from __future__ import annotations

import argparse
import csv
import math

import pytest

from painsign.cli import history_cmd
from painsign.errors import InputError, PainsignError
from painsign.storage import SessionRecorder, export_alarms_csv, list_sessions, parse_utc

SCORERS = [
    {"name": "nfcs", "display_name": "NFCS proxy", "threshold": 0.5},
    {"name": "vgg", "display_name": "VGG-Face", "threshold": 0.494},
]


def history(*argv):
    """Parse like ``painsign [--models DIR] history ...`` and run the subcommand."""
    parser = argparse.ArgumentParser(prog="painsign")
    parser.add_argument("--models")
    sub = parser.add_subparsers(dest="command")
    history_cmd.register(sub)
    args = parser.parse_args(["history", *map(str, argv)])
    assert args.run is history_cmd.run
    return args.run(args)


@pytest.fixture
def db(tmp_path):
    """Two recorded sessions: bed 3 (90 frames x 2 scorers, 2 alarms), bed 4 (10 frames)."""
    path = tmp_path / "painsign.db"
    with SessionRecorder(path, "bed 3", "camera 0", SCORERS, {"delay_s": 5}) as rec:
        for i in range(90):
            face = i % 10 != 0
            p_raw = 0.8 if face else math.nan
            rec.add_sample(i / 30, face, "nfcs", p_raw, 0.6)
            rec.add_sample(i / 30, face, "vgg", p_raw, 0.2)
        rec.add_alarm(1.5, "pain", "high", "raised", note="sign above 0.5 for 1 s")
        rec.add_alarm(2.5, "pain", "high", "acknowledged")
    with SessionRecorder(path, "bed 4", "demo.mp4", SCORERS[:1], {}) as rec:
        rec.add_samples((i / 30, True, "nfcs", 0.1, 0.1) for i in range(10))
    return path


def test_lists_sessions(db, capsys):
    assert history("--db", db) == 0
    out = capsys.readouterr().out
    assert f"database: {db}" in out
    lines = [ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert [ln[0] for ln in lines] == ["1", "2"]
    assert lines[0][1:3] == ["bed", "3"] and lines[0][-2:] == ["180", "2"]
    assert lines[1][1:3] == ["bed", "4"] and lines[1][-2:] == ["10", "0"]
    assert "0:00:03" in out  # 89/30 s


def test_list_sessions_api(db):
    s = list_sessions(db)
    assert [x["id"] for x in s] == [1, 2]
    assert s[0]["samples"] == 180 and s[0]["alarms"] == 2 and s[0]["scorers"] == ["nfcs", "vgg"]
    assert s[0]["duration_s"] == pytest.approx(89 / 30)
    assert s[0]["ended_utc"].endswith("Z") and s[1]["source"] == "demo.mp4"


def test_default_db_from_environment(db, capsys, monkeypatch):
    monkeypatch.setenv("PAINSIGN_DB", str(db))
    assert history() == 0
    assert f"database: {db}" in capsys.readouterr().out


def test_exports_samples_csv(db, tmp_path, capsys):
    out_csv = tmp_path / "out" / "session1.csv"
    assert history("--db", db, "--session", 1, "--export", out_csv) == 0
    assert str(out_csv) in capsys.readouterr().out
    with open(out_csv, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["t", "utc", "face", "scorer", "p_raw", "p"]
    body = [r[:1] + r[2:] for r in rows[1:]]
    assert len(body) == 180
    assert sorted(r[2] for r in body) == ["nfcs"] * 90 + ["vgg"] * 90
    ts = [float(r[0]) for r in body]
    assert ts == sorted(ts) and ts[-1] == pytest.approx(89 / 30)
    no_face = [r for r in body if r[1] == "0"]
    assert len(no_face) == 18 and all(r[3] == "nan" for r in no_face)
    assert {(r[2], float(r[3]), float(r[4])) for r in body if r[1] == "1"} == {
        ("nfcs", 0.8, 0.6),
        ("vgg", 0.8, 0.2),
    }
    # UTC = session start + t, in ISO 8601 with milliseconds
    start = parse_utc(list_sessions(db)[0]["started_utc"])
    for r in rows[1:]:
        assert r[1].endswith("Z")
        assert (parse_utc(r[1]) - start).total_seconds() == pytest.approx(float(r[0]), abs=1e-3)


def test_exports_alarms_csv(db, tmp_path, capsys):
    out_csv = tmp_path / "alarms.csv"
    assert history("--db", db, "--session", 1, "--export-alarms", out_csv) == 0
    with open(out_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["t"], r["kind"], r["state"]) for r in rows] == [
        ("1.5", "pain", "raised"),
        ("2.5", "pain", "acknowledged"),
    ]
    assert rows[0]["note"] == "sign above 0.5 for 1 s" and rows[0]["utc"].endswith("Z")
    assert export_alarms_csv(db, 2, tmp_path / "none.csv") == 0


def test_session_summary(db, capsys):
    assert history("--db", db, "--session", 1) == 0
    out = capsys.readouterr().out
    assert "session 1 (bed: bed 3, source: camera 0)" in out
    assert "nfcs: 90 samples, 81 with a face, mean p 0.600, mean p_raw 0.800" in out
    assert "vgg: 90 samples, 81 with a face, mean p 0.200" in out
    assert "alarms: 2" in out
    assert "pain high raised  sign above 0.5 for 1 s" in out
    assert "pain high acknowledged" in out


def test_unknown_session_is_a_clear_error(db, tmp_path):
    for extra in ((), ("--export", tmp_path / "x.csv")):
        with pytest.raises(InputError, match=r"no session 99 in .*sessions there: 1\.\.2") as e:
            history("--db", db, "--session", 99, *extra)
        assert e.value.exit_code == 2
    assert not (tmp_path / "x.csv").exists()


def test_missing_db_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere" / "painsign.db"
    with pytest.raises(InputError, match=r"no painsign database at .*--db"):
        history("--db", missing)
    with pytest.raises(InputError, match="no painsign database"):
        history("--db", missing, "--session", 1, "--export", tmp_path / "x.csv")
    assert not missing.parent.exists(), "reading must not create the database"


def test_export_needs_session(db, tmp_path):
    with pytest.raises(PainsignError, match="--export needs --session"):
        history("--db", db, "--export", tmp_path / "x.csv")


def test_empty_database(tmp_path, capsys):
    path = tmp_path / "empty.db"
    from painsign.storage import open_db

    open_db(path).close()
    assert history("--db", path) == 0
    assert "no sessions recorded yet" in capsys.readouterr().out
    with pytest.raises(InputError, match=r"no session 1 in .*it has no sessions"):
        history("--db", path, "--session", 1)


def test_reads_a_session_still_being_recorded(tmp_path, capsys):
    path = tmp_path / "live.db"
    with SessionRecorder(path, "bed 9", "camera 1", SCORERS[:1], {}) as rec:
        rec.add_samples((i / 30, True, "nfcs", 0.3, 0.3) for i in range(30))
        assert rec.flush()
        assert history("--db", path) == 0
        out = capsys.readouterr().out
        assert "(open or cut off)" in out and " 30 " in out


def test_long_sources_and_durations_are_shown_whole(tmp_path, capsys):
    """A URL source is not cut to 20 characters; a 66-s session shows 0:01:06 even when
    it has almost no rows (a camera that never delivered a frame)."""
    import sqlite3

    path = tmp_path / "h.db"
    url = "url http://127.0.0.1:8081/some/long/path/video.mjpg"
    with SessionRecorder(path, "bed 9", url, SCORERS[:1], {}) as rec:
        rec.add_alarm(0.5, "camera_lost", "medium", "active")
    con = sqlite3.connect(path)
    con.execute(
        "UPDATE sessions SET started_utc = '2026-11-27T10:00:00.000Z', "
        "ended_utc = '2026-11-27T10:01:06.000Z'"
    )
    con.commit()
    con.close()
    assert history("--db", path) == 0
    out = capsys.readouterr().out
    assert url in out and "0:01:06" in out
    assert history_cmd._fmt_duration(66.0) == "0:01:06"
    assert history_cmd._fmt_duration(3725.4) == "1:02:05"


def test_summary_lists_replay_segments(tmp_path, capsys):
    path = tmp_path / "seg.db"
    with SessionRecorder(path, "bed 1", "file demo.mp4", SCORERS[:1], {}) as rec:
        rec.add_sample(0.1, True, "nfcs", 0.2, 0.2)
        rec.add_segment(1, 12.5, 3.0, "seek")
    assert history("--db", path, "--session", 1) == 0
    assert "segment 1: seek at t=12.50 s to media 3.0 s" in capsys.readouterr().out
