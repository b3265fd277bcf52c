"""The central station window (issue 13): the Qt-free overview (tile order, "Bed N offline",
the sounding alarm, the central audio pause) and the real window fed by a real mosquitto on
a loopback port, with a recording sound back end."""

from __future__ import annotations

import json
import os
import threading
from types import SimpleNamespace

import pytest
import test_central
from painsign_cli import run_painsign
from test_central import Broker, needs_broker, wait_for
from test_gui_optional import no_qt_env, painsign_without_qt  # noqa: F401 (a fixture)
from test_sound import FakePlayer

from painsign.alarms import Priority
from painsign.central.central import STALE_S, Bed
from painsign.central.overview import INVALID, CentralOverview, natural_key, offline_label
from painsign.central.schema import envelope, topic, validate

UNIT = "nicu"


def scorer(value, invalid=None, sign_type="stable"):
    return {
        "name": "nfcs",
        "threshold": 0.5,
        "value": value,
        "invalid": invalid,
        "sign_type": sign_type,
        "provisional": False,
    }


def alarm(kind, label, priority, state="active", technical=False):
    return {
        "kind": kind,
        "label": label,
        "priority": priority,
        "state": state,
        "technical": technical,
    }


PAIN = alarm("sustained_pain", "Sustained pain", "high")


def state(bed, value=0.2, alarms=(), input_state="live", reason="", invalid=None):
    payload = envelope(
        "state",
        UNIT,
        bed,
        session_t=10.0,
        input_state=input_state,
        input_reason=reason,
        scorers=[scorer(value, invalid)],
        alarms=list(alarms),
        audio_paused=False,
        advisory=None,
    )
    validate("state", payload)
    return payload


def bed(label, now=None, online=True, **state_fields):
    b = Bed(UNIT, label, online=online, offline_reason="" if online else "last will")
    b.state = state(label, **state_fields)
    b.state_at = now
    return b


class FakeStation:
    """The overview's view of a station: beds, address, connection."""

    def __init__(self, beds, connected=True):
        self.beds, self.connected = beds, connected
        self.host, self.port, self.unit = "127.0.0.1", 1883, UNIT
        self.acks = []
        self.remote_ack = False

    def snapshot(self):
        return list(self.beds)

    def acknowledge(self, unit, bed):
        self.acks.append((unit, bed))


# -- the overview, without Qt -------------------------------------------------------------


def test_tiles_with_alarms_come_first_by_priority_then_bed_label():
    medium = alarm("face_not_seen", "Face not seen", "medium", technical=True)
    beds = [
        bed("bed 3"),
        bed("bed 10", value=0.8, alarms=[PAIN]),
        bed("bed 2", alarms=[medium]),
        bed("bed 1"),
        bed("bed 9", value=0.7, alarms=[PAIN, medium]),
        bed("bed 12", alarms=[alarm("central_link_lost", "Central link lost", "low")]),
    ]
    overview = CentralOverview(FakeStation(beds), clock=lambda: 1.0)
    order = [v.bed for v in overview.refresh()]
    assert order == ["bed 9", "bed 10", "bed 2", "bed 12", "bed 1", "bed 3"]
    nine = overview.views[0]
    assert [a.label for a in nine.alarms] == ["Sustained pain", "Face not seen"]
    assert nine.visual == (Priority.HIGH.colour, Priority.HIGH.flash_hz)
    assert overview.views[-1].visual is None
    assert natural_key("Bed 2") < natural_key("bed 10")


def test_a_stale_state_or_a_last_will_is_a_medium_bed_offline_alarm_with_its_own_start():
    four = bed("bed 4", now=0.0, value=0.9, alarms=[PAIN])
    five = bed("5", now=0.0)
    clock = SimpleNamespace(t=STALE_S - 0.1)
    overview = CentralOverview(FakeStation([four, five]), clock=lambda: clock.t)
    assert all(v.online for v in overview.refresh())
    assert overview.find((UNIT, "bed 4")).value_text == "0.90"

    clock.t = STALE_S + 0.1  # no state for more than 5 s
    views = {v.bed: v for v in overview.refresh()}
    offline = views["bed 4"]
    assert not offline.online and offline.value_text == INVALID
    assert offline.reason == f"offline: no state for {STALE_S:g} s"
    assert [(a.label, a.priority, a.technical) for a in offline.alarms] == [
        ("Bed 4 offline", Priority.MEDIUM, True)
    ]  # the stale pain alarm is not shown as current
    assert offline.alarms[0].since == STALE_S + 0.1
    assert offline.sign_type == "last: STABLE"
    assert views["5"].alarms[0].label == "Bed 5 offline" == offline_label("5")

    clock.t = 20.0  # still offline: its start time stays
    assert overview.refresh()[0].alarms[0].since == STALE_S + 0.1

    four.state_at = 20.0  # a fresh state: online again, the alarm ends and is logged
    five.online, five.offline_reason = False, "last will"
    views = {v.bed: v for v in overview.refresh()}
    assert views["bed 4"].online and views["bed 4"].alarms[0].label == "Sustained pain"
    assert views["5"].reason == "offline: last will"
    log = overview.log((UNIT, "bed 4"))
    assert [(e["label"], e["state"]) for e in log] == [
        ("Bed 4 offline", "active"),
        ("Bed 4 offline", "inactive"),
    ]


def test_the_highest_audible_alarm_across_beds_sounds_acknowledged_ones_do_not():
    medium = alarm("face_not_seen", "Face not seen", "medium", technical=True)
    acked = alarm("sustained_pain", "Sustained pain", "high", state="acknowledged")
    low = alarm("central_link_lost", "Central link lost", "low")
    beds = [bed("bed 1", alarms=[acked]), bed("bed 2", alarms=[medium]), bed("bed 3", alarms=[low])]
    station = FakeStation(beds)
    overview = CentralOverview(station, clock=lambda: 1.0)
    overview.refresh()
    sounding = overview.sounding()
    assert (sounding.bed, sounding.priority) == ("bed 2", Priority.MEDIUM)
    beds[2].state = state("bed 3", alarms=[low, PAIN])
    overview.refresh()
    assert (overview.sounding().bed, overview.sounding().label) == ("bed 3", "Sustained pain")
    station.beds = [bed("bed 1", alarms=[acked])]
    overview.refresh()
    assert overview.sounding() is None


def test_the_central_pause_lasts_2_minutes_and_only_a_higher_new_alarm_sounds_through():
    medium = alarm("face_not_seen", "Face not seen", "medium", technical=True)
    beds = [bed("bed 1", alarms=[medium])]
    station = FakeStation(beds)
    clock = SimpleNamespace(t=0.0)
    overview = CentralOverview(station, clock=lambda: clock.t)
    overview.refresh()
    assert overview.pause_audio() and not overview.pause_audio()
    assert overview.pause_remaining() == 120.0
    assert overview.sounding() is None
    station.beds.append(bed("bed 2", alarms=[medium]))  # another medium: still silent
    clock.t = 60.0
    overview.refresh()
    assert overview.sounding() is None and overview.pause_remaining() == 60.0
    station.beds.append(bed("bed 3", value=0.9, alarms=[PAIN]))  # higher: sounds through
    overview.refresh()
    assert overview.sounding().bed == "bed 3"
    station.beds.pop()
    clock.t = 120.0  # the pause ends by itself
    overview.refresh()
    assert overview.pause_remaining() == 0.0 and overview.sounding().bed == "bed 1"
    # A pause with no alarm present lets only high alarms through; cancel ends it.
    station.beds = [bed("bed 1")]
    overview.refresh()
    overview.pause_audio()
    station.beds = [bed("bed 1", alarms=[medium]), bed("bed 2", alarms=[PAIN])]
    overview.refresh()
    assert overview.sounding().bed == "bed 2"
    station.beds.pop()
    overview.refresh()
    assert overview.sounding() is None
    assert overview.cancel_pause() and overview.sounding().bed == "bed 1"


def test_the_connection_line_says_which_broker_is_missing():
    station = FakeStation([], connected=False)
    overview = CentralOverview(station)
    assert overview.connection_text() == ("No connection to the broker 127.0.0.1:1883 (retrying)")
    station.connected = True
    assert overview.connection_text() is None


# -- the window ---------------------------------------------------------------------------


def test_a_long_alarm_text_in_a_narrow_banner_shrinks_to_fit_before_it_is_elided(qtbot):
    """A tile of a 3-bed unit is about 460 px wide: "SUSTAINED PAIN  high (latched)" was
    cut to "SUSTAINED PAIN  high (latch..." at the banner's full size."""
    from PySide6.QtGui import QFontMetrics

    from painsign.gui.widgets import AlarmBanner

    banner = AlarmBanner()
    qtbot.addWidget(banner)
    banner.rescale(1.0)
    banner.resize(460, banner.height())
    banner.show_alarm("SUSTAINED PAIN  high (latched)", ("#e53935", 2.0))
    full = banner.banner_font().pixelSize()
    fitted = banner.fitted_font()
    assert QFontMetrics(banner.banner_font()).horizontalAdvance(banner.text()) > 460 - 16
    assert 0.7 * full <= fitted.pixelSize() < full
    assert QFontMetrics(fitted).horizontalAdvance(banner.text()) <= 460 - 16
    banner.show_alarm("NO ALARM", None)
    assert banner.fitted_font().pixelSize() == full  # a short text keeps its size


def test_the_detail_view_lists_the_log_and_acknowledges_only_with_remote_ack(qtbot):
    from painsign.gui.central_tiles import BedDetail

    station = FakeStation([bed("bed 1", value=0.8, alarms=[PAIN])])
    message = envelope(
        "alarm",
        UNIT,
        "bed 1",
        seq=1,
        session_t=9.0,
        alarm_kind="sustained_pain",
        label="Sustained pain",
        priority="high",
        state="active",
        note="p above 0.5 for 10 s",
        queued=False,
        dropped=0,
    )
    station.beds[0].alarms.append(message)
    overview = CentralOverview(station)
    overview.refresh()
    detail = BedDetail(overview, (UNIT, "bed 1"), station)
    qtbot.addWidget(detail)
    rows = [detail.log.item(i).text() for i in range(detail.log.count())]
    assert len(rows) == 1 and "Sustained pain  HIGH  active  - p above 0.5 for 10 s" in rows[0]
    assert detail.ack_button.isHidden()
    station.remote_ack = True
    detail = BedDetail(overview, (UNIT, "bed 1"), station)
    qtbot.addWidget(detail)
    assert not detail.ack_button.isHidden()
    detail.ack_button.click()
    assert station.acks == [(UNIT, "bed 1")]


class Beds(threading.Thread):
    """Bedsides as raw MQTT publishers: each bed's state every 0.5 s, as long as it runs."""

    def __init__(self, port):
        super().__init__(daemon=True)
        from painsign.central.link import new_client

        self.client = new_client(f"test-beds-{port}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.states: dict[str, dict] = {}
        self.stop_event = threading.Event()
        self.acks: list[dict] = []
        self.client.on_message = lambda c, u, m: self.acks.append(json.loads(m.payload))
        self.client.subscribe(f"painsign/v1/{UNIT}/+/ack", qos=1)

    def publish(self, bed_label, kind, payload, retain=False):
        validate(kind, payload)
        info = self.client.publish(topic(UNIT, bed_label, kind), json.dumps(payload), 1, retain)
        info.wait_for_publish(5)

    def online(self, bed_label, **fields):
        self.publish(
            bed_label,
            "status",
            envelope("status", UNIT, bed_label, status="online", reason="connected"),
            retain=True,
        )
        self.states[bed_label] = fields

    def offline(self, bed_label):
        self.states.pop(bed_label, None)
        payload = envelope("status", UNIT, bed_label, status="offline", reason="last will")
        self.publish(bed_label, "status", payload, retain=True)

    def run(self):
        while not self.stop_event.is_set():
            for label, fields in list(self.states.items()):
                self.publish(label, "state", state(label, **fields))
            self.stop_event.wait(0.5)

    def close(self):
        self.stop_event.set()
        self.join(5)
        self.client.loop_stop()
        self.client.disconnect()


#: A real mosquitto on a free loopback port (test_central's fixture).
broker = test_central.broker


@pytest.fixture
def central_station():
    from painsign.central.central import CentralStation

    made = []

    def make(port, **options):
        station = CentralStation(
            "127.0.0.1",
            port,
            UNIT,
            echo=lambda line: None,
            client_id=f"test-window-{port}",
            **options,
        )
        station.start()
        made.append(station)
        return station

    yield make
    for station in made:
        station.stop()


@needs_broker
def test_the_window_shows_four_beds_in_order_with_their_alarms_sound_log_and_pause(
    qtbot, broker, central_station
):
    from PySide6.QtCore import Qt

    from painsign.gui.central_window import CentralWindow
    from painsign.gui.sound import AlarmSound

    station = central_station(broker.port, remote_ack=True)
    assert wait_for(lambda: station.connected, 10)
    beds = Beds(broker.port)
    try:
        beds.online("bed 4", value=0.12)
        beds.online("bed 1", value=0.81, alarms=[PAIN])
        beds.online(
            "bed 2",
            value=None,
            input_state="no_face",
            reason="no face for 4 s",
            invalid="no face for 4 s",
        )
        beds.online("bed 3", value=0.3)
        beds.start()
        # The retained statuses have arrived: the subscription is in place for the alarm.
        assert wait_for(lambda: len(station.beds) == 4, 10)
        beds.publish(
            "bed 1",
            "alarm",
            envelope(
                "alarm",
                UNIT,
                "bed 1",
                seq=1,
                session_t=9.0,
                alarm_kind="sustained_pain",
                label="Sustained pain",
                priority="high",
                state="active",
                note="p above 0.5 for 10 s",
                queued=False,
                dropped=0,
            ),
        )
        player = FakePlayer()
        window = CentralWindow(
            station, CentralOverview(station), AlarmSound(backend=lambda: player)
        )
        qtbot.addWidget(window)
        window.resize(1600, 900)
        window.show()
        qtbot.waitUntil(
            lambda: len(window.tiles) == 4 and len(station.beds[(UNIT, "bed 1")].alarms) == 1,
            timeout=10000,
        )
        beds.offline("bed 3")
        qtbot.waitUntil(
            lambda: [v.bed for v in window.overview.views] == ["bed 1", "bed 3", "bed 2", "bed 4"],
            timeout=10000,
        )
        tiles = {k[1]: t for k, t in window.tiles.items()}
        assert tiles["bed 1"].value.text == "0.81" and tiles["bed 4"].value.text == "0.12"
        assert tiles["bed 1"].banner.colour == Priority.HIGH.colour
        assert tiles["bed 1"].banner.flash_interval_ms == 250  # 2 Hz, as at the bedside
        assert tiles["bed 1"].banner.text() == "SUSTAINED PAIN  high"
        assert tiles["bed 1"].value.border == Priority.HIGH.colour
        assert tiles["bed 2"].value.text == INVALID
        assert tiles["bed 2"].reason.full_text == "no face for 4 s"
        assert tiles["bed 3"].banner.text() == "BED 3 OFFLINE  medium"
        assert tiles["bed 3"].banner.colour == Priority.MEDIUM.colour
        assert tiles["bed 3"].banner.flash_interval_ms == 1000  # 0.5 Hz
        assert tiles["bed 3"].value.text == INVALID and tiles["bed 3"].value.border is None
        assert tiles["bed 4"].banner.colour is None
        grid = window.grid
        assert [grid.itemAtPosition(0, c).widget().key[1] for c in range(2)] == ["bed 1", "bed 3"]
        assert window.banner.text().startswith("bed 1: SUSTAINED PAIN  high  +1")
        assert window.connection.isHidden()
        # The unit's highest alarm sounds (the high one), through the recording back end.
        qtbot.waitUntil(lambda: ("play", Priority.HIGH) in player.calls, timeout=3000)
        assert {p for _, p, _ in window.sound.scheduled} == {Priority.HIGH}
        # Clicking a tile opens its alarm log and longer trend.
        qtbot.mouseClick(tiles["bed 1"], Qt.MouseButton.LeftButton)
        detail = window.details[(UNIT, "bed 1")]
        assert detail.isVisible()
        assert "Sustained pain  HIGH  active" in detail.log.item(0).text()
        assert len(detail.curve.getData()[0]) >= 1
        # --remote-ack: the detail's button sends the acknowledge to that bed over MQTT.
        assert not detail.ack_button.isHidden()
        detail.ack_button.click()
        qtbot.waitUntil(lambda: len(beds.acks) == 1, timeout=5000)
        assert (beds.acks[0]["bed"], beds.acks[0]["alarm_kinds"]) == ("bed 1", ["sustained_pain"])
        # The central's own pause: 2 min, on the button; nothing sounds through it here.
        window.pause_button.click()
        assert window.pause_button.text() == "Resume central audio 2:00"
        assert window.overview.sounding() is None
        assert "Central audio paused 2:00" in window.banner.text()
        window.pause_button.click()
        assert window.pause_button.text().startswith("Pause central audio")
        assert window.overview.sounding().priority == Priority.HIGH
    finally:
        beds.close()


@needs_broker
def test_the_window_says_no_connection_and_connects_when_the_broker_comes(
    qtbot, tmp_path, central_station
):
    from painsign.gui.central_window import CentralWindow

    late = Broker(tmp_path)
    station = central_station(late.port)
    window = CentralWindow(station, CentralOverview(station))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.connection.isVisible(), timeout=3000)
    assert window.connection.text() == (
        f"No connection to the broker 127.0.0.1:{late.port} (retrying)"
    )
    late.start()
    try:
        qtbot.waitUntil(lambda: window.connection.isHidden(), timeout=10000)
        assert f"broker 127.0.0.1:{late.port} connected" in window.status.full_text
    finally:
        late.stop()


@needs_broker
@pytest.mark.slow
def test_painsign_central_opens_the_window_and_saves_a_screenshot(broker, tmp_path):
    png = tmp_path / "central.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = run_painsign(
        "central",
        "--broker",
        broker.url,
        "--unit",
        UNIT,
        "--exit-after",
        "2",
        "--screenshot",
        png,
        "--mute",
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert "Traceback" not in done.stderr


def test_the_central_window_without_qt_says_how_to_get_it_in_one_line(request, tmp_path):
    env = request.getfixturevalue("no_qt_env")
    r = painsign_without_qt(
        env,
        "central",
        "--broker",
        "mqtt://127.0.0.1:1",
        "--screenshot",
        str(tmp_path / "shot.png"),
        cwd=tmp_path,
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("painsign: error: the central window needs")
    assert "pip install 'painsign[gui]'" in lines[0] and "--headless" in lines[0]


def test_a_central_that_cannot_sound_says_so_as_a_low_technical_alarm(qtbot):
    from painsign.gui.central_window import CentralWindow
    from painsign.gui.sound import AlarmSound

    def no_device():
        raise RuntimeError("no audio output device")

    station = FakeStation([bed("bed 1")])
    window = CentralWindow(station, CentralOverview(station), AlarmSound(backend=no_device))
    qtbot.addWidget(window)
    assert window.banner.text() == "Alarm sound unavailable"
    assert window.banner.colour == Priority.LOW.colour
    assert "sound off: no audio device (no audio output device)" in window.status.full_text
