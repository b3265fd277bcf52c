"""Central-station security (issue 13): user names and passwords, TLS and the ACL of the
documented Mosquitto configuration (deploy/mosquitto/), and acknowledging a bed's alarms
from the central station (--remote-ack). Every broker here is a real mosquitto started
with deploy/mosquitto/painsign-unit.conf and painsign.acl, only its ports and folders
replaced, listening on loopback; users are made by mosquitto_passwd, certificates by
openssl."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from painsign_cli import run_painsign, start_painsign
from test_central import DEMO, MOSQUITTO, free_port, stored_alarms, wait_for

from painsign.central.schema import envelope, topic, validate

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
OPENSSL = shutil.which("openssl")

needs_secure_broker = pytest.mark.skipif(
    MOSQUITTO is None or MOSQUITTO_PASSWD is None or OPENSSL is None,
    reason="needs mosquitto and mosquitto_passwd (Debian package mosquitto, which .ci/run "
    "installs) and openssl",
)

PASSWORDS = {"central": "central-secret", "bed-1": "bed-1-secret", "bed-2": "bed-2-secret"}


def make_certificates(folder: Path) -> None:
    """A CA, a server certificate it signs for localhost / 127.0.0.1, and another CA."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args):
        subprocess.run([OPENSSL, *args], cwd=folder, check=True, capture_output=True)

    for name in ("ca", "other-ca"):
        openssl("req", "-x509", *ec, "-days", "2", "-keyout", f"{name}.key", "-out",
                f"{name}.crt", "-subj", f"/CN=painsign test {name}")  # fmt: skip
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", "server.crt",
            "-extfile", "san.ext")  # fmt: skip


class SecureBroker:
    """mosquitto with the documented configuration: ports and folders replaced only."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port, self.tls_port = free_port(), free_port()
        conf = (DEPLOY / "painsign-unit.conf").read_text()
        for old, new in [
            ("listener 1883 127.0.0.1\n", f"listener {self.port} 127.0.0.1\n"),
            ("listener 8883\n", f"listener {self.tls_port} 127.0.0.1\n"),  # loopback in tests
            ("/etc/mosquitto/painsign/", f"{folder}/"),
            ("/var/lib/mosquitto/", f"{folder}/data/"),
        ]:
            assert old in conf, f"painsign-unit.conf no longer has {old!r}"
            conf = conf.replace(old, new)
        # mosquitto started as root drops to this user and must read the files here.
        conf += f"user {getpass.getuser()}\nlog_dest stderr\nlog_type all\n"
        (folder / "data").mkdir()
        (folder / "mosquitto.conf").write_text(conf)
        shutil.copy(DEPLOY / "painsign.acl", folder / "painsign.acl")
        make_certificates(folder)
        passwd = folder / "passwd"
        for user, password in PASSWORDS.items():
            create = [] if passwd.exists() else ["-c"]
            subprocess.run(
                [MOSQUITTO_PASSWD, *create, "-b", str(passwd), user, password],
                check=True,
                capture_output=True,
            )
        for user, password in [*PASSWORDS.items(), ("wrong", "not the password")]:
            (folder / f"{user}.pw").write_text(password + "\n")
            (folder / f"{user}.pw").chmod(0o600)
        self.proc: subprocess.Popen | None = None

    @property
    def log(self) -> str:
        return (self.folder / "mosquitto.log").read_text(errors="replace")

    def start(self) -> None:
        with open(self.folder / "mosquitto.log", "ab") as log:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")], stderr=log, stdout=log
            )

        def listening(port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False

        assert wait_for(lambda: listening(self.port) and listening(self.tls_port), 10), self.log

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def password_file(self, user: str) -> Path:
        return self.folder / f"{user}.pw"


@pytest.fixture
def broker(tmp_path):
    b = SecureBroker(tmp_path)
    b.start()
    yield b
    b.stop()


def painsign(*args, timeout=60, env=None):
    return run_painsign(*args, timeout=timeout, env=env)


def mqtt_client(broker, user, tls=False, ca=None):
    """A connected paho MQTT 5 client of ``user`` (the test's own, as a bed would be)."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"test-{user}-{time.monotonic_ns()}",
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(user, PASSWORDS[user])
    if tls:
        client.tls_set(ca_certs=str(ca or broker.folder / "ca.crt"))
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
    client.connect("localhost" if tls else "127.0.0.1", broker.tls_port if tls else broker.port)
    client.loop_start()
    assert connected.wait(10), broker.log
    return client


def publish_acked(client, topic_name: str, payload: dict) -> str:
    """Publish with QoS 1 and return the PUBACK's reason in words ("Success", "Not
    authorized")."""
    got: dict[int, str] = {}
    done = threading.Event()

    def on_publish(c, userdata, mid, reason_code, properties):
        got[mid] = str(reason_code)
        done.set()

    client.on_publish = on_publish
    info = client.publish(topic_name, json.dumps(payload), qos=1)
    assert done.wait(10)
    return got[info.mid]


def alarm_payload(bed: str, seq: int = 1) -> dict:
    return envelope(
        "alarm",
        "NICU",
        bed,
        seq=seq,
        session_t=1.0,
        alarm_kind="sustained_pain",
        label="Sustained pain",
        priority="high",
        state="active",
        note="condition held 30 s",
        queued=False,
        dropped=0,
    )


# -- without a broker --------------------------------------------------------------------


def test_ack_schema_names_who_where_and_the_alarm_kinds():
    good = envelope("ack", "NICU", "bed 1", who="central", where="desk-1", alarm_kinds=["x"])
    validate("ack", good)
    with pytest.raises(ValueError, match="lacks 'where'"):
        validate("ack", {k: v for k, v in good.items() if k != "where"})
    with pytest.raises(ValueError, match="are not all names"):
        validate("ack", {**good, "alarm_kinds": ["sustained_pain", 3]})
    with pytest.raises(ValueError, match="kind is 'alarm', not 'ack'"):
        validate("ack", {**good, "kind": "alarm"})
    assert topic("NICU", "Bed 1", "ack") == "painsign/v1/nicu/bed-1/ack"


def test_credentials_never_in_the_url_and_missing_secrets_are_one_line_errors(tmp_path):
    from painsign.central.link import parse_broker_address
    from painsign.errors import InputError

    with pytest.raises(InputError, match=r"must not hold a user name or password.*--mqtt-user"):
        parse_broker_address("mqtt://bed-1:secret@127.0.0.1:1883")
    assert parse_broker_address("mqtts://localhost").port == 8883
    assert parse_broker_address("mqtt://localhost", tls=True).port == 8883
    assert parse_broker_address("mqtt://localhost").port == 1883
    broker = ["central", "--headless", "--broker", "mqtt://127.0.0.1:1"]
    env = {k: v for k, v in os.environ.items() if k != "PAINSIGN_MQTT_PASSWORD"}
    cases = [
        (["--mqtt-user", "central"], "--mqtt-user needs a password"),
        (["--mqtt-user", "central", "--mqtt-password-file", str(tmp_path / "none")], "no such"),
        (["--mqtt-ca", str(tmp_path / "none.crt")], "--mqtt-ca"),
    ]
    for extra, words in cases:
        r = painsign(*broker, *extra, env=env)
        assert r.returncode == 2, r.stderr
        assert r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
    loose = tmp_path / "loose.pw"
    loose.write_text("secret\n")
    loose.chmod(0o644)
    r = painsign(*broker, "--mqtt-user", "central", "--mqtt-password-file", str(loose),
                 "--exit-after", "0.5", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"the MQTT password file {loose} may be read by others (mode 644)" in r.stderr


# -- with the documented broker ----------------------------------------------------------


@needs_secure_broker
def test_a_wrong_password_stops_the_central_with_one_line_the_right_one_sees_the_beds(broker):
    start = time.monotonic()
    r = painsign(
        "central", "--headless", "--broker", broker.url, "--unit", "NICU",
        "--mqtt-user", "central", "--mqtt-password-file", str(broker.password_file("wrong")),
        "--exit-after", "30",
    )  # fmt: skip
    took = time.monotonic() - start
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == (
        f"painsign: error: the broker 127.0.0.1:{broker.port} refused the central station: "
        "bad user name or password\n"
    )
    assert took < 10, took  # not a retry loop until --exit-after

    central = start_painsign(
        "central", "--headless", "--broker", broker.url, "--unit", "NICU",
        "--mqtt-user", "central", "--exit-after", "30",
        env={**os.environ, "PAINSIGN_MQTT_PASSWORD": PASSWORDS["central"]},
    )  # fmt: skip
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(central.stdout), daemon=True).start()
    bed = mqtt_client(broker, "bed-1")
    try:
        # The central subscribes after connecting: send until it has seen one.
        assert wait_for(
            lambda: (
                publish_acked(bed, topic("NICU", "bed 1", "alarm"), alarm_payload("bed-1"))
                == "Success"
                and any("alarm #1 Sustained pain active" in ln for ln in lines)
            ),
            20,
            interval=0.5,
        ), (lines, broker.log)
    finally:
        bed.loop_stop()
        central.terminate()
        central.wait(10)


@needs_secure_broker
def test_under_the_acl_a_bed_writes_only_its_own_topics_and_only_the_central_acknowledges(
    broker,
):
    from painsign.central.central import CentralStation
    from painsign.central.link import MqttSecurity

    lines: list[str] = []
    station = CentralStation(
        "127.0.0.1",
        broker.port,
        "NICU",
        echo=lines.append,
        client_id="test-central-acl",
        security=MqttSecurity("central", PASSWORDS["central"]),
    )
    station.start()
    watcher = mqtt_client(broker, "central")  # sees every ack that gets through
    acks: list[str] = []
    watcher.on_message = lambda c, u, m: acks.append(m.topic)
    watcher.subscribe("painsign/v1/+/+/ack", qos=1)
    bed1 = mqtt_client(broker, "bed-1")
    try:
        assert wait_for(lambda: station.connected, 10)
        time.sleep(0.3)  # the subscriptions are acknowledged
        # Its own topic: accepted and seen.
        assert publish_acked(bed1, topic("NICU", "bed-1", "alarm"), alarm_payload("bed-1")) == (
            "Success"
        )
        # Another bed's topics: refused by the broker, never seen by the central station.
        for kind in ("alarm", "state", "status", "session"):
            reason = publish_acked(bed1, topic("NICU", "bed-2", kind), alarm_payload("bed-2"))
            assert reason == "Not authorized", (kind, reason)
        # Acknowledges: a bed may send none, not even to itself.
        ack = envelope("ack", "NICU", "bed-2", who="bed-1", where="x", alarm_kinds=[])
        for bed in ("bed-1", "bed-2"):
            assert publish_acked(bed1, topic("NICU", bed, "ack"), ack) == "Not authorized"
        # The central station without --remote-ack publishes nothing.
        with pytest.raises(RuntimeError, match="--remote-ack"):
            station.acknowledge("NICU", "bed-2")
        # The central user may acknowledge.
        assert publish_acked(watcher, topic("NICU", "bed-2", "ack"), ack) == "Success"
        assert wait_for(lambda: acks == ["painsign/v1/nicu/bed-2/ack"], 5), acks
        assert wait_for(lambda: ("NICU", "bed-1") in station.beds, 5), lines
        time.sleep(0.5)
        assert list(station.beds) == [("NICU", "bed-1")], lines  # bed-2 never appeared
        assert len(station.beds[("NICU", "bed-1")].alarms) == 1
        assert station.invalid == 0
    finally:
        station.stop()
        for client in (watcher, bed1):
            client.loop_stop()


@needs_secure_broker
def test_tls_with_the_units_ca_works_and_another_ca_is_refused_in_words(broker):
    from painsign.central.central import CentralStation
    from painsign.central.link import MqttSecurity

    lines: list[str] = []
    station = CentralStation(
        "localhost",
        broker.tls_port,
        "NICU",
        echo=lines.append,
        client_id="test-central-tls",
        security=MqttSecurity("central", PASSWORDS["central"], ca=str(broker.folder / "ca.crt")),
    )
    station.start()
    bed = mqtt_client(broker, "bed-1", tls=True)
    try:
        assert wait_for(lambda: station.connected, 10), broker.log
        time.sleep(0.3)
        publish_acked(bed, topic("NICU", "bed-1", "alarm"), alarm_payload("bed-1"))
        assert wait_for(lambda: ("NICU", "bed-1") in station.beds, 5), lines
        assert station.refused is None
    finally:
        station.stop()
        bed.loop_stop()

    wrong_ca = str(broker.folder / "other-ca.crt")
    start = time.monotonic()
    r = painsign(
        "central", "--headless", "--broker", f"mqtts://localhost:{broker.tls_port}",
        "--mqtt-ca", wrong_ca, "--mqtt-user", "central",
        "--mqtt-password-file", str(broker.password_file("central")), "--exit-after", "30",
    )  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith(
        f"painsign: error: no secure link to the broker localhost:{broker.tls_port}: "
        "TLS: certificate verify failed ("
    ), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert time.monotonic() - start < 10

    # A bedside with the wrong CA goes on; its "Central link lost" says why.
    from monitor_fakes import ScriptedAnalyzer, ScriptSource

    from painsign.alarms import AlarmSettings
    from painsign.central.publisher import CentralPublisher
    from painsign.monitor.engine import MonitorEngine, MonitorSettings

    engine = MonitorEngine(
        ScriptSource(), ScriptedAnalyzer(lambda t: 0.5), MonitorSettings(), AlarmSettings()
    )
    security = MqttSecurity("bed-1", PASSWORDS["bed-1"], ca=wrong_ca)
    publisher = CentralPublisher(
        "localhost", broker.tls_port, "NICU", "bed 1", "file", security=security
    )
    publisher.start(engine)
    try:
        assert wait_for(lambda: engine.alarms.get("central_link_lost") is not None, 10)
    finally:
        publisher.stop(flush_s=0)
    notes = [e.note for e in engine.alarms.log if e.kind == "central_link_lost"]
    assert any("because TLS: certificate verify failed (" in n for n in notes), notes


def bedside(broker, db, user, password_file, *extra):
    """`painsign monitor` replaying the demo video headless in real time, publishing as
    ``user`` (bed "bed 1": its topic label is bed-1)."""
    return start_painsign(
        "monitor", "--video", DEMO, "--headless", "--demo", "--db", db,
        "--publish", broker.url, "--unit", "NICU", "--bed", "bed 1",
        "--mqtt-user", user, "--mqtt-password-file", password_file, *extra,
    )  # fmt: skip


def stored_notes(db, kind: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as con:
        return con.execute(
            "select state, note from alarms where kind = ? order by rowid", (kind,)
        ).fetchall()


@needs_secure_broker
@pytest.mark.slow
def test_a_refused_bedside_goes_on_monitoring_says_why_and_does_not_hammer_the_broker(
    broker, tmp_path
):
    db = tmp_path / "bed.db"
    proc = bedside(broker, db, "bed-1", broker.password_file("wrong"), "--exit-after", "12")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err  # the bedside stays primary
    why = "broker refused: not authorized (user name, password, or the right to its own topics)"
    warnings = [ln for ln in err.splitlines() if "WARNING" in ln and "central link to" in ln]
    assert warnings == [
        f"painsign: WARNING: central link to 127.0.0.1:{broker.port}: {why}; monitoring goes "
        "on, retrying every 5-60 s"
    ], err
    notes = stored_notes(db, "central_link_lost")
    assert ("active", f"condition present; because {why}") in notes, notes
    assert ("pain_surge", "active") in stored_alarms(db)  # monitoring went on
    # Retries 5 s, then 10 s apart: 2 attempts in 12 s (every 1-2 s would be about 7; a
    # constant 5 s, measured, gave 3).
    attempts = broker.log.count("Sending CONNACK to 127.0.0.1 (0, 135)")
    assert 1 <= attempts <= 2, broker.log


@needs_secure_broker
@pytest.mark.slow
def test_an_alarm_acknowledged_from_the_central_station_is_acknowledged_at_the_bed(
    broker, tmp_path
):
    from painsign.central.central import CentralStation
    from painsign.central.link import MqttSecurity

    lines: list[str] = []
    station = CentralStation(
        "127.0.0.1",
        broker.port,
        "NICU",
        echo=lines.append,
        client_id="test-central-ack",
        security=MqttSecurity("central", PASSWORDS["central"]),
        remote_ack=True,
    )
    station.start()
    db = tmp_path / "bed.db"
    proc = bedside(broker, db, "bed-1", broker.password_file("bed-1"), "--exit-after", "30")
    key = ("NICU", "bed 1")
    host = socket.gethostname()
    by = f"from the central station at {host} by central"

    def sounding():
        state = station.beds[key].state if key in station.beds else None
        return [a["kind"] for a in (state or {}).get("alarms", []) if a["state"] == "active"]

    try:
        assert wait_for(lambda: sounding(), 60), (lines, broker.log)
        kinds = sounding()
        station.acknowledge(*key)
        assert wait_for(
            lambda: any(
                a["state"] == "acknowledged" and by in a["note"] for a in station.beds[key].alarms
            ),
            5,
        ), station.beds[key].alarms
        acked = {a["alarm_kind"] for a in station.beds[key].alarms if by in a["note"]}
        assert acked and acked <= set(kinds), (acked, kinds)
        proc.send_signal(signal.SIGINT)  # Ctrl+C: a clean stop
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        station.stop()
    assert "Traceback" not in err, out + err
    assert f"acknowledged {by}: " in err  # the bedside's log line
    notes = [n for k in acked for _, n in stored_notes(db, k)]
    assert any(n.startswith(f"acknowledged {by}") for n in notes), notes
    assert any(f"NICU/bed 1 acknowledge sent {by}: " in ln for ln in lines), lines
    assert station.invalid == 0
