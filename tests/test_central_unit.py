"""A unit on one machine (issue 13): `painsign replay-unit` publishes recorded sessions as N
live beds to a real mosquitto on loopback; a headless central station receives them.

The 20-bed test replays recorded sessions rather than running 20 real `painsign monitor`
processes: 20 real-time monitors need about 600 frames/s of face inference, several times
what this 2-core machine does. A replayed bed uses the real CentralPublisher, so its
messages and MQTT behaviour are a bedside's."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
import test_central
from painsign_cli import run_painsign, start_painsign
from test_central import DEMO, needs_broker, wait_for

from painsign.errors import InputError
from painsign.storage import SessionRecorder

# The real mosquitto on a free loopback port, and in-process central stations.
broker = test_central.broker
central = test_central.central


def synthetic_db(path):
    """A real session database with known rows: 10 s at 10 Hz, no face in [4, 6) s."""
    with SessionRecorder(
        path, "recorded bed", "camera 0", [{"name": "nfcs", "threshold": 0.5}], {"demo": True}
    ) as rec:
        for i in range(100):
            t = i / 10
            face = not 4.0 <= t < 6.0
            rec.add_sample(t, face, "nfcs", t / 10 if face else float("nan"), t / 10)
        rec.add_alarm(2.0, "pain_surge", "medium", "active", "raised by event")
        rec.add_alarm(3.0, "sustained_pain", "high", "pending", "condition started")
        rec.add_alarm(5.0, "pain_surge", "medium", "inactive", "cleared")
        rec.add_alarm(6.0, "central_link_lost", "low", "active", "")
        rec.add_alarm(7.0, "needs_review", "advisory", "active", "low confidence")
    return path


class Tap:
    """An alarm sink that keeps what it is told."""

    def __init__(self):
        self.got = []

    def alarm_changed(self, entry, t):
        self.got.append((entry.kind, entry.state, round(t, 3), entry.note))


def test_a_replayed_bed_rebuilds_the_state_and_tells_the_stored_alarm_log_at_its_times(
    tmp_path,
):
    from painsign.central.publisher import state_payload
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_unit import ReplayBed
    from painsign.central.schema import validate

    (session,) = load_sessions([synthetic_db(tmp_path / "s.db")])
    assert session.source_kind == "camera" and session.demo
    assert session.duration_s == pytest.approx(10.9)
    bed = ReplayBed(session, offset_s=0.0, speed=2.0)
    tap = Tap()
    bed.sinks.append(tap)
    bed.start(now=100.0)
    bed.advance(now=101.25)  # session t 2.5
    assert tap.got == [("pain_surge", "active", 2.0, "raised by event")]
    state = bed.snapshot()
    assert state.input_state == "live"
    # The stored value at 2.5 s (the bedside's own 1-s mean), not a mean of means.
    assert state.scorers[0].current == pytest.approx(0.25)
    assert [(a.kind, a.state, a.priority.label) for a in state.alarms] == [
        ("pain_surge", "active", "medium")
    ]
    validate("state", state_payload(state, "NICU", "bed 1"))
    bed.advance(now=102.25)  # 4.5 s: no face since 3.9 s
    state = bed.snapshot()
    assert (state.input_state, state.input_reason) == ("no_face", "no face for 1 s")
    assert state.scorers[0].current is None
    bed.advance(now=103.75)  # 7.5 s: the stored link alarm is not the replayed bed's
    assert [k for k, *_ in tap.got] == ["pain_surge", "sustained_pain", "pain_surge"]
    assert bed.snapshot().advisory == "low confidence"
    assert bed.snapshot().alarms == []
    bed.advance(now=100.0 + 13.0 / 2)  # 13 s: looped at 10.9 s, then 2 s into loop 2
    assert tap.got[3:] == [
        ("sustained_pain", "inactive", 10.9, "replay looped"),
        ("pain_surge", "active", 12.9, "raised by event"),
    ]
    # A remote acknowledge and the bed's own "Central link lost" go to the sinks too.
    assert bed.acknowledge(["pain_surge", "camera_lost"], by="from the central") == ["pain_surge"]
    bed.set_technical_condition("central_link_lost", True, "connection refused")
    assert tap.got[5:] == [
        ("pain_surge", "acknowledged", 13.0, "acknowledged from the central"),
        ("central_link_lost", "active", 13.0, "connection refused"),
    ]
    assert {a.kind for a in bed.snapshot().alarms} == {"pain_surge", "central_link_lost"}


def test_a_bed_started_at_an_offset_shows_the_alarms_present_there_without_resending_them(
    tmp_path,
):
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_unit import ReplayBed, start_offsets

    sessions = load_sessions([synthetic_db(tmp_path / "s.db")] * 2)
    assert len(sessions) == 2
    plan = start_offsets(5, sessions)
    assert [i for i, _ in plan] == [0, 1, 0, 1, 0]
    assert len({round(o, 3) for _, o in plan}) == 5  # no two beds in lock-step
    bed = ReplayBed(sessions[0], offset_s=2.5)
    tap = Tap()
    bed.sinks.append(tap)
    bed.start(now=0.0)
    bed.advance(now=0.4)
    assert tap.got == []
    assert [a.kind for a in bed.snapshot().alarms] == ["pain_surge"]
    assert bed.snapshot().elapsed_s == pytest.approx(0.4)
    bed.advance(now=0.6)  # 3.1 s into the session
    assert tap.got == [("sustained_pain", "pending", 0.5, "condition started")]


def test_replay_unit_refuses_a_foreign_or_empty_database_in_one_line(tmp_path):
    import sqlite3

    from painsign.central.recorded_sessions import load_sessions

    url = "mqtt://127.0.0.1:1"  # never reached: the database is refused first
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as con:
        con.execute("create table patients (name text)")
    text = tmp_path / "notes.db"
    text.write_text("not a database\n")
    for bad, says in (
        (foreign, "not a painsign database"),
        (text, "not an SQLite database"),
        (tmp_path / "missing.db", "no painsign database at"),
    ):
        r = run_painsign(
            "replay-unit", bad, "--beds", "2", "--unit", "NICU", "--broker", url, timeout=60
        )
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
        assert r.stdout == ""
    empty = tmp_path / "empty.db"
    with SessionRecorder(empty, "bed", "camera 0", ["nfcs"], {}):
        pass  # a session without a sample
    with pytest.raises(InputError, match="no recorded session with samples"):
        load_sessions([empty])


# -- with a real broker ------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded_db(tmp_path_factory):
    """A session the real monitor recorded from the demo video (pain surges, no face)."""
    db = tmp_path_factory.mktemp("recorded") / "sessions.db"
    r = run_painsign(
        "monitor", "--video", DEMO, "--headless", "--demo", "--speed", "4", "--db", db,
        "--bed", "recorded bed", timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    return db


def replay_unit(url, db, beds, speed, *extra):
    return start_painsign(
        "replay-unit",
        db,
        "--beds",
        beds,
        "--broker",
        url,
        "--unit",
        "NICU",
        "--speed",
        speed,
        *extra,
    )


def stop_and_count(proc) -> int:
    """Ctrl+C the replay; the alarm messages it sent, from its last line."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert "Traceback" not in err, err
    last = out.strip().splitlines()[-1]
    assert last.startswith("stopped "), out
    return int(last.split(": ")[1].split()[0])


def beds_of(station, n):
    return [station.beds.get(("NICU", f"bed {i}")) for i in range(1, n + 1)]


def received(station, n) -> int:
    return sum(len(b.alarms) for b in beds_of(station, n) if b is not None)


@needs_broker
@pytest.mark.slow
def test_twenty_beds_every_alarm_change_reaches_the_central_within_1_s_none_missing(
    broker, central, recorded_db
):
    station = central(broker.port)
    assert wait_for(lambda: station.connected, 10)
    time.sleep(0.3)  # the subscription is acknowledged
    proc = replay_unit(broker.url, recorded_db, 20, 2)
    try:
        assert wait_for(lambda: all(b is not None for b in beds_of(station, 20)), 30)
        time.sleep(20)
    finally:
        sent = stop_and_count(proc)
    assert sent > 200  # the recorded session has a change every 2 s or so
    assert wait_for(lambda: received(station, 20) >= sent, 10)
    for bed in beds_of(station, 20):
        assert [a["seq"] for a in bed.alarms] == list(range(1, len(bed.alarms) + 1)), bed.bed
        assert bed.online is False and bed.offline_reason == "stopped"
    assert received(station, 20) == sent  # none missing, none twice
    latencies = [
        float(line.rsplit("latency ", 1)[1].split()[0]) / 1000
        for line in station.lines
        if " alarm #" in line
    ]
    assert len(latencies) == sent
    p50, p99 = np.percentile(latencies, [50, 99])
    print(
        f"20 beds: {sent} alarm messages, latency p50 {p50 * 1000:.0f} ms p99 {p99 * 1000:.0f} ms"
    )
    assert p99 < 1.0, sorted(latencies)[-10:]
    assert station.invalid == 0  # every payload passed the schema


@needs_broker
@pytest.mark.slow
def test_a_broker_restart_loses_no_alarm_message_of_any_bed(broker, central, recorded_db):
    # QoS 1 is at least once: a message in flight when the broker stops may come twice,
    # so the check is per (bed, seq): every seq from 1 to the last, none missing.
    station = central(broker.port)
    assert wait_for(lambda: station.connected, 10)
    time.sleep(0.3)
    beds = 5
    proc = replay_unit(broker.url, recorded_db, beds, 4)
    try:
        assert wait_for(lambda: all(b is not None and b.alarms for b in beds_of(station, beds)), 30)
        broker.stop()  # SIGTERM: mosquitto saves the central's session and its messages
        time.sleep(4)  # the beds go on raising alarm changes (at 4x: 16 s of session)
        broker.start()
        assert wait_for(lambda: station.connected, 10)
        assert wait_for(
            lambda: all(
                ("central_link_lost", "inactive")
                in [(a["alarm_kind"], a["state"]) for a in b.alarms]
                for b in beds_of(station, beds)
            ),
            15,
        )
        time.sleep(3)
    finally:
        sent = stop_and_count(proc)
    assert wait_for(
        lambda: len({(b.bed, a["seq"]) for b in beds_of(station, beds) for a in b.alarms}) >= sent,
        10,
    )
    duplicates = 0
    for bed in beds_of(station, beds):
        seqs = [a["seq"] for a in bed.alarms]
        assert sorted(set(seqs)) == list(range(1, max(seqs) + 1)), (bed.bed, seqs)
        duplicates += len(seqs) - len(set(seqs))
        queued = [(a["alarm_kind"], a["state"]) for a in bed.alarms if a["queued"]]
        assert ("central_link_lost", "active") in queued, bed.alarms  # raised while down
    assert sum(max(a["seq"] for a in b.alarms) for b in beds_of(station, beds)) == sent
    print(f"broker restart: {sent} alarm messages, none lost, {duplicates} duplicates")
    assert station.invalid == 0


@needs_broker
@pytest.mark.slow
def test_replay_unit_beds_appear_at_a_headless_central_and_go_offline_stopped_on_sigterm(
    broker, recorded_db
):
    central_proc, lines = test_central.headless_central(broker.url)
    proc = replay_unit(broker.url, recorded_db, 4, 1)
    try:
        names = [f"NICU/bed {i} " for i in range(1, 5)]
        assert wait_for(lambda: all(any(n + "state " in ln for ln in lines) for n in names), 30), (
            lines
        )
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert wait_for(
            lambda: all(any(n + "OFFLINE (stopped)" in ln for ln in lines) for n in names), 5
        ), lines
    finally:
        proc.kill()
        central_proc.send_signal(signal.SIGINT)
        central_proc.wait(10)
    starts = [ln for ln in out.splitlines() if ln.startswith("bed ")]
    assert [ln.split(":")[0] for ln in starts] == [f"bed {i}" for i in range(1, 5)]
    assert all("sessions.db session 1" in ln for ln in starts), starts
    assert len({ln.split(" from ")[1] for ln in starts}) == 4  # four different offsets


# -- the central bench -------------------------------------------------------------------


@needs_broker
@pytest.mark.slow
def test_the_central_bench_measures_a_few_beds_and_reports_sane_figures(recorded_db):
    import json

    r = run_painsign(
        "bench", "--central", "--beds", "3", "--central-seconds", "4", "--json",
        "--central-db", recorded_db, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)["central"]
    assert c["beds"] == 3 and c["beds_seen"] == 3 and c["invalid"] == 0
    assert 3.5 <= c["seconds"] < 6
    # About one state a second per bed, and the alarm changes of the recorded session.
    assert 3 * 3 <= c["by_kind"]["state"] <= 3 * 6
    assert c["messages"] == sum(c["by_kind"].values())
    assert c["messages_per_s"] == pytest.approx(c["messages"] / c["seconds"], rel=0.05)
    if c["alarm_messages"]:
        assert 0 < c["alarm_latency"]["p50_ms"] <= c["alarm_latency"]["p99_ms"] < 1000
    assert 0 < c["state_latency"]["p50_ms"] <= c["state_latency"]["p99_ms"] < 1000
    for part in ("central", "beds_process", "broker"):
        assert 0 <= c[part]["cpu_cores"] < 2, c
        assert 1 < c[part]["rss_mb"] < 2000, c


def test_the_central_bench_says_why_it_is_skipped_without_a_broker_and_refuses_a_bad_db(
    tmp_path, monkeypatch
):
    from painsign.bench import central as bench_central

    monkeypatch.setattr(bench_central, "find_mosquitto", lambda: None)
    assert bench_central.central_bench(beds=2, seconds=1) == {"skipped": bench_central.NO_BROKER}
    bad = tmp_path / "bad.db"
    bad.write_text("no\n")
    r = run_painsign("bench", "--central", "--central-db", bad, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "not an SQLite database" in r.stderr


@needs_broker
@pytest.mark.slow
def test_two_bedsides_publishing_as_one_bed_do_not_throw_each_other_out(broker, tmp_path):
    """Two monitors with the same --unit and --bed (one MQTT client id) throw each other
    out at each connection. They used to reconnect every 1-2 s, two beds' values under one
    name; now the one that notices says why in "Central link lost" and retries once a
    minute."""
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_unit import ReplayUnit

    sessions = load_sessions([synthetic_db(tmp_path / "s.db")])
    first = ReplayUnit(sessions, 1, "127.0.0.1", broker.port, "NICU")
    second = ReplayUnit(sessions, 1, "127.0.0.1", broker.port, "NICU")
    tap = Tap()
    first.beds[0].sinks.append(tap)
    first.start()
    try:
        assert wait_for(lambda: first.publishers[0]._connected, 10)
        second.start()
        assert wait_for(
            lambda: any(
                k == "central_link_lost" and s == "active" and "another monitor" in n
                for k, s, _, n in tap.got
            ),
            15,
        ), tap.got
        note = [n for k, s, _, n in tap.got if k == "central_link_lost"][-1]
        assert "another monitor may publish as NICU/bed 1" in note
        log = broker.folder / "mosquitto.log"
        settled = log.read_text().count("already connected")
        time.sleep(8)  # the old code reconnected every 1-2 s
        assert log.read_text().count("already connected") - settled <= 1, log.read_text()
    finally:
        first.stop()
        second.stop()
