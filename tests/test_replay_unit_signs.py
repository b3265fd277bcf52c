"""`painsign replay-unit` beds show each scorer's sign type and provisional flag, as the
live bedside showed them: recomputed from the stored samples by the bedside's own
LiveSignTracker, afresh each loop.

The end-to-end test records the demo video with a real headless `painsign monitor` that
also publishes to a real mosquitto on loopback: its published states are what the
bedside showed. The monitor stores no sign types, so they are the reference."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest
import test_central
from painsign_cli import run_painsign, start_painsign
from test_central import DEMO, needs_broker, wait_for

from painsign.storage import SessionRecorder

broker = test_central.broker

RATE = 10  # Hz of the synthetic sessions
SYNTH_S = 30.0


def p_raw_of(t: float) -> float:
    """A sign crossing the threshold every 2 s: not a stable one."""
    return 0.5 + 0.4 * math.sin(2 * math.pi * t / 4)


def synthetic_db(path, settings=None, signal=p_raw_of):
    """A real session database: 30 s at 10 Hz of raw P(pain) ``signal(t)``, no face in
    [8, 9) s. The stored display value ``p`` is a flat 0.2, so a replay fed ``p`` instead
    of ``p_raw`` shows other sign types."""
    with SessionRecorder(
        path, "bed", "camera 0", [{"name": "nfcs", "threshold": 0.5}], settings or {}
    ) as rec:
        for i in range(int(SYNTH_S * RATE)):
            t = i / RATE
            face = not 8.0 <= t < 9.0
            rec.add_sample(t, face, "nfcs", signal(t) if face else math.nan, 0.2)
    return path


def offline_signs(times, ts, face, raw, fps, window_s=20.0):
    """Sign type and provisional flag after the samples up to each of ``times``, from a
    LiveSignTracker fed as the monitor engine feeds it."""
    from painsign.signal.live_tracker import LiveSignTracker
    from painsign.signal.signtypes import NearestCentroidSignTypes

    tracker = LiveSignTracker(0.5, fps, window_s=window_s, classifier=NearestCentroidSignTypes())
    out, i = [], 0
    for t in times:
        while i < len(ts) and ts[i] <= t:
            tracker.push(ts[i], raw[i], bool(face[i]))
            i += 1
        w = tracker.sign
        out.append((None, False) if w is None else (str(w.sign_type), tracker.window is None))
    return out


def replayed(bed, positions, start=0.0):
    """The bed's (sign_type, provisional) of its first scorer at each session position."""
    out = []
    for pos in positions:
        bed.advance(now=start + pos)
        s = bed.snapshot().scorers[0]
        out.append((s.sign_type, s.provisional))
    return out


def test_a_replayed_bed_shows_the_trackers_sign_types_provisional_first_and_afresh_each_loop(
    tmp_path,
):
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_signs import session_fps
    from painsign.central.replay_unit import ReplayBed

    (session,) = load_sessions([synthetic_db(tmp_path / "s.db")])
    assert session_fps(session) == pytest.approx(RATE)  # no stored rate: median interval
    ts, face, _ = session.samples["nfcs"]
    raw = session.p_raw["nfcs"]
    loop = session.duration_s
    marks = [loop + 3.0, loop + 10.0, loop + 25.0, 2 * loop + 10.0]
    positions = np.unique(np.concatenate([np.arange(0.0, 2 * loop + 12.0, 0.25), marks]))
    bed = ReplayBed(session)
    bed.start(now=0.0)
    got = replayed(bed, positions)
    within = positions - np.floor(positions / loop) * loop
    for k in range(3):  # loops 1, 2 and the start of 3
        idx = np.flatnonzero(np.floor(positions / loop) == k)
        assert [got[i] for i in idx] == offline_signs(within[idx], ts, face, raw, RATE), k
    by_t = dict(zip(positions.tolist(), got, strict=True))
    assert by_t[4.0] == (None, False)  # under 5 s of measured sign: nothing to show
    assert by_t[10.0][1] is True and by_t[19.75][1] is True  # before the first full window
    assert by_t[20.0][1] is False and by_t[25.0][1] is False  # a full 20-s window
    assert {g[0] for g in got if g[1] is False and g[0] is not None} - {"stable"}
    # The second loop starts over: nothing, then provisional again, then full windows.
    assert by_t[loop + 3.0] == (None, False)
    assert by_t[loop + 10.0][1] is True and by_t[loop + 25.0][1] is False
    assert by_t[2 * loop + 10.0][1] is True
    # The raw P(pain) drives them, not the stored display value (flat 0.2: "stable").
    flat = offline_signs([25.0], ts, face, np.full_like(raw, 0.2), RATE)
    assert flat == [("stable", False)] and by_t[25.0] != flat[0]


def test_a_bed_started_at_an_offset_and_a_shared_timeline_show_what_a_bed_from_0_shows(
    tmp_path,
):
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_signs import SignTimeline
    from painsign.central.replay_unit import ReplayBed

    (session,) = load_sessions([synthetic_db(tmp_path / "s.db")])
    first = ReplayBed(session)
    first.start(now=0.0)
    positions = np.arange(12.0, 40.0, 0.5)
    reference = replayed(first, positions)
    assert {p for _, p in reference} == {True, False}
    shared = SignTimeline(session)
    shared.compute_in_background()  # as ReplayUnit does: the beds only look up
    assert wait_for(lambda: shared.at("nfcs", SYNTH_S) != (None, False), 10)
    # Its thread ends once every sample is pushed (it once spun on, a core's worth).
    assert wait_for(
        lambda: "painsign-replay-signs" not in [t.name for t in threading.enumerate()], 10
    )
    late = ReplayBed(session, offset_s=12.0, signs=shared)
    late.start(now=100.0)
    assert replayed(late, positions - 12.0, start=100.0) == reference
    own = ReplayBed(session, offset_s=12.0)  # catches up on the samples before 12 s
    own.start(now=0.0)
    assert replayed(own, positions - 12.0) == reference


def test_the_stored_frame_rate_and_window_shape_the_replayed_sign_types(tmp_path):
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_signs import session_fps
    from painsign.central.replay_unit import ReplayBed

    def fast(t):  # one swing a second: flat after a 1-s average, not after a 0.2-s one
        return 0.6 + 0.35 * math.sin(2 * math.pi * t)

    positions = [6.0, 9.5, 10.0, 15.0, 25.0]
    settings = {"fps": 2.0, "monitor": {"window_s": 10.0, "step_s": 1.0}}
    (stored,) = load_sessions([synthetic_db(tmp_path / "a.db", settings, fast)])
    (median,) = load_sessions([synthetic_db(tmp_path / "b.db", {}, fast)])
    assert (session_fps(stored), session_fps(median)) == (2.0, pytest.approx(RATE))
    got = {}
    for name, session in (("stored", stored), ("median", median)):
        bed = ReplayBed(session)
        bed.start(now=0.0)
        got[name] = replayed(bed, positions)
    ts, face, _ = stored.samples["nfcs"]
    raw = stored.p_raw["nfcs"]
    # The stored 10-s window: a full window from 10 s; the stored rate: 2-sample averages.
    assert got["stored"] == offline_signs(positions, ts, face, raw, 2.0, window_s=10)
    assert [p for _, p in got["stored"]] == [True, True, False, False, False]
    assert got["stored"][0] == ("unstable", True)
    # Without them: the monitor's 20-s default window, the median interval's 10 Hz.
    assert got["median"] == offline_signs(positions, ts, face, raw, RATE)
    assert got["median"][0] == ("stable", True) and got["median"][3][1] is True


class StateTap:
    """A real MQTT client on loopback keeping every ``state`` payload of a unit."""

    def __init__(self, port: int, unit: str = "nicu"):
        import paho.mqtt.client as mqtt

        self.states: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-state-tap-{port}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"painsign/v1/{unit}/+/state", qos=1)
        self.client.loop_start()

    def _message(self, _client, _userdata, msg):
        with self._lock:
            self.states.append((msg.topic.split("/")[3], json.loads(msg.payload)))

    def of(self, bed: str) -> list[dict]:
        with self._lock:
            return [s for b, s in self.states if b == bed]

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def signs_of(state: dict) -> list[tuple[str, str | None, bool]]:
    return [(s["name"], s["sign_type"], s["provisional"]) for s in state["scorers"]]


@needs_broker
@pytest.mark.slow
def test_replayed_beds_publish_the_sign_types_the_live_bedside_published(broker, tmp_path):
    from painsign.central.recorded_sessions import load_sessions
    from painsign.central.replay_unit import ReplayBed

    tap = StateTap(broker.port)
    db = tmp_path / "sessions.db"
    try:
        r = run_painsign(
            "monitor", "--video", DEMO, "--headless", "--demo", "--speed", "2", "--db", db,
            "--publish", broker.url, "--unit", "NICU", "--bed", "live bed", timeout=240,
        )  # fmt: skip
        assert r.returncode == 0, r.stdout + r.stderr
        live = tap.of("live-bed")
        (session,) = load_sessions([db])
        assert session.settings["fps"] == 30.0  # the demo's frame rate, stored
        # 1. At each published session time, a replayed bed shows what the bedside showed.
        # session_t is rounded to 1 ms; samples are 33 ms apart, so +0.6 ms takes exactly
        # the samples the bedside had pushed.
        bed = ReplayBed(session)
        bed.start(now=0.0)
        checked = []
        for state in sorted(live, key=lambda s: s["session_t"]):
            bed.advance(now=state["session_t"] + 0.0006)
            replay = [(s.name, s.sign_type, s.provisional) for s in bed.snapshot().scorers]
            assert replay == signs_of(state), state["session_t"]
            checked.append(signs_of(state)[0][1:])
        print(f"{len(checked)} live states compared: {checked}")
        assert (None, False) in checked  # the first 5 s
        assert any(p for _, p in checked) and any(t and not p for t, p in checked)
        # 2. `painsign replay-unit` publishes them, provisional again in its second loop.
        proc = start_painsign(
            "replay-unit", db, "--beds", "1", "--broker", broker.url, "--unit", "NICU",
            "--speed", "4",
        )  # fmt: skip
        loop = session.duration_s
        try:
            assert wait_for(
                lambda: any(
                    s["session_t"] > loop + 5 and signs_of(s)[0][2] for s in tap.of("bed-1")
                ),
                60,
            ), tap.of("bed-1")
        finally:
            proc.terminate()
            proc.communicate(timeout=30)
    finally:
        tap.stop()
    published = tap.of("bed-1")
    for state in published:
        within = state["session_t"] % loop
        # The unit's positions are not frame times: 1 ms of rounding either way.
        expected = []
        for dt in (-0.001, 0.001):
            fresh = ReplayBed(session)
            fresh.start(now=0.0)
            fresh.advance(now=max(within + dt, 0.0))
            expected.append(
                [(s.name, s.sign_type, s.provisional) for s in fresh.snapshot().scorers]
            )
        assert signs_of(state) in expected, (state["session_t"], signs_of(state), expected)
    firsts = [(s["session_t"], signs_of(s)[0][2]) for s in published]
    assert any(20 < t < loop and not p for t, p in firsts)  # a full window in loop 1
    print(f"replay-unit states: {firsts}")
