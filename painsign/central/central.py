"""The central station's view of a unit: subscribe to every bed, keep each bed's state.

:class:`CentralStation` subscribes to ``painsign/v1/UNIT/+/#`` (every unit without one)
with QoS 1 in a persistent MQTT session, so alarm messages published while it is away
from a running broker are kept for it. A bed is offline when its status says so (the last
will of a killed bedside) or when its last state is older than :data:`STALE_S` seconds.
Every change of a bed is reported as one line (``painsign central --headless``).

With ``remote_ack`` (``painsign central --remote-ack``) :meth:`CentralStation.acknowledge`
sends an ``ack`` to a bed (QoS 1, not retained); without it the central station never
publishes. A broker that refuses the central station (user name or password, not
authorised) or a TLS failure stops its retries and is said in :attr:`CentralStation.refused`.
"""

from __future__ import annotations

import getpass
import json
import logging
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace

from painsign.central.link import (
    FIGHT_RETRY_S,
    STEADY_S,
    MqttSecurity,
    SessionFight,
    failure_text,
    new_client,
    refusal_text,
)
from painsign.central.schema import envelope, parse_time, topic, topic_label, validate

logger = logging.getLogger("painsign.central")

#: Alarm messages kept per bed (its log at the central station), the oldest dropped first:
#: a station runs for weeks.
ALARM_LOG_LIMIT = 1000

#: Latencies kept (the most recent alarm messages of all beds).
LATENCIES_KEPT = 10000

#: A bed whose last state is older than this (s) is shown offline.
STALE_S = 5.0

#: Seconds of each bed's trend kept (the central window's longer trend).
TREND_S = 600.0
#: Most trend points kept per bed (a bedside sends about one state a second).
TREND_POINTS = 1200

#: Seconds the broker keeps the central's subscriptions and messages while it is away.
SESSION_EXPIRY_S = 3600


@dataclass
class Bed:
    """What the central station knows of one bed.

    Attributes
    ----------
    unit, bed : str
        Labels as the bedside sent them.
    online : bool
        False after status ``offline`` or a state older than :data:`STALE_S`.
    offline_reason : str
        Why it is offline ("last will", "stopped", "no state for 5.2 s").
    state : dict or None
        The last ``state`` payload.
    state_at : float or None
        Monotonic time the last state arrived.
    session : dict or None
        The last ``session`` payload.
    alarms : collections.deque of dict
        The alarm messages received, oldest first (the last :data:`ALARM_LOG_LIMIT`).
    trend : deque of (float, float or None)
        Arrival (monotonic) time and first scorer's value of each live state received in
        the last :data:`TREND_S` seconds (None: invalid), oldest first.
    version : int
        Counts the changes of this bed (a window redraws a bed when it moves).
    """

    unit: str
    bed: str
    online: bool = False
    offline_reason: str = "no status yet"
    state: dict | None = None
    state_at: float | None = None
    session: dict | None = None
    alarms: deque[dict] = field(default_factory=lambda: deque(maxlen=ALARM_LOG_LIMIT))
    trend: deque = field(default_factory=lambda: deque(maxlen=TREND_POINTS))
    version: int = 0


def _summary(state: dict | None) -> tuple:
    """What of a state makes a bed line worth printing: input state and present alarms."""
    if state is None:
        return ()
    alarms = tuple((a["kind"], a["state"]) for a in state["alarms"])
    return (state["input_state"], alarms)


def _add_trend(bed: Bed, state: dict, now: float) -> None:
    first = state["scorers"][0] if state["scorers"] else None
    bed.trend.append((now, None if first is None else first["value"]))
    while bed.trend and now - bed.trend[0][0] > TREND_S:
        bed.trend.popleft()


def _value_text(state: dict) -> str:
    first = state["scorers"][0] if state["scorers"] else None
    if first is None:
        return "-"
    if first["value"] is None:
        return f"{first['name']}=-?- ({first['invalid']})"
    return f"{first['name']}={first['value']:.2f}"


def default_client_id(unit: str | None, mode: str = "window") -> str:
    """The MQTT client id of a central station: its unit, host, user and ``mode``
    (``window`` or ``headless``), so that a window and a headless logger of the same unit
    on one machine keep separate persistent sessions, while a restarted station finds its
    own session (and the alarm messages kept for it) again.
    """
    level = topic_label(unit) if unit else "all"
    return "-".join(
        ["painsign-central", level, topic_label(socket.gethostname()), getpass.getuser(), mode]
    )


class CentralStation:
    """Subscribe to the beds of a unit and report every bed change.

    Parameters
    ----------
    host, port : str, int
        The broker.
    unit : str, optional
        Only this unit's beds; every unit when None.
    echo : callable
        Receives one line per bed change.
    client_id : str, optional
        The MQTT client id of the persistent session (:func:`default_client_id` without
        it). Two stations with the same id would take the session from each other: the
        broker closes the older connection whenever the other connects; the station notices
        the fight (:class:`~painsign.central.link.SessionFight`), says so in
        :attr:`link_problem` and retries less and less often.
    security : MqttSecurity, optional
        User name, password and TLS; anonymous plain TCP without it.
    remote_ack : bool
        Whether :meth:`acknowledge` may send acknowledges to the beds.

    Attributes
    ----------
    remote_ack : bool
    refused : str or None
        Why the broker refused the central station ("bad user name or password", "TLS:
        certificate verify failed (...)"); it then stops retrying.
    """

    def __init__(
        self,
        host: str,
        port: int,
        unit: str | None = None,
        echo=print,
        client_id=None,
        security: MqttSecurity | None = None,
        remote_ack: bool = False,
    ):
        self.host, self.port, self.unit, self.echo = host, port, unit, echo
        self.remote_ack = bool(remote_ack)
        self.refused: str | None = None
        self.who = (security.user if security is not None else None) or getpass.getuser()
        self.where = socket.gethostname()
        self.beds: dict[tuple[str, str], Bed] = {}
        #: Payloads refused by the schema.
        self.invalid = 0
        #: Seconds from ``time_utc`` to arrival of each alarm message not queued.
        self.latencies_s: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self._lock = threading.Lock()
        level = topic_label(unit) if unit else "+"
        self._subscription = f"painsign/v1/{level}/+/#"
        self.client_id = client_id or default_client_id(unit)
        who = self.client_id
        self._client = new_client(who, security)
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False
        #: Why the link is unsteady (another client taking the session), or None.
        self.link_problem: str | None = None
        self._fight = SessionFight()

    def start(self) -> None:
        """Connect in the background (retrying) and start watching for stale beds."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self._client.connect_async(
            self.host, self.port, keepalive=10, clean_start=False, properties=props
        )
        self._client.loop_start()
        self._thread = threading.Thread(target=self._watch, name="painsign-central", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Disconnect (the broker keeps the session for :data:`SESSION_EXPIRY_S`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._client.disconnect()
        self._client.loop_stop()

    def snapshot(self) -> list[Bed]:
        """A copy of every bed, taken under the lock (safe to read from another thread)."""
        with self._lock:
            return [
                replace(
                    bed, alarms=deque(bed.alarms, maxlen=ALARM_LOG_LIMIT), trend=deque(bed.trend)
                )
                for bed in self.beds.values()
            ]

    def acknowledge(self, unit: str, bed: str) -> None:
        """Acknowledge at bed ``unit``/``bed`` the alarms it shows sounding (active or
        latched), as its own button would; one line says who, where and which bed.

        Raises
        ------
        RuntimeError
            When the central station was not started with ``remote_ack``.
        """
        if not self.remote_ack:
            raise RuntimeError("remote acknowledge is off (painsign central --remote-ack)")
        with self._lock:
            known = self.beds.get((unit, bed))
            alarms = (known.state or {}).get("alarms", []) if known is not None else []
            kinds = [a["kind"] for a in alarms if a["state"] in ("active", "latched")]
        payload = envelope("ack", unit, bed, who=self.who, where=self.where, alarm_kinds=kinds)
        self._client.publish(topic(unit, bed, "ack"), json.dumps(payload), qos=1, retain=False)
        logger.info("acknowledge sent to %s/%s by %s at %s", unit, bed, self.who, self.where)
        stamp = time.strftime("%H:%M:%S", time.localtime())
        self.echo(
            f"{stamp} {unit}/{bed} acknowledge sent from the central station at {self.where} "
            f"by {self.who}: {', '.join(kinds) or 'no alarm sounding'}"
        )

    def check_stale(self, now: float | None = None) -> None:
        """Mark offline every online bed whose last state is older than :data:`STALE_S`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for bed in self.beds.values():
                if bed.online and bed.state_at is not None and now - bed.state_at > STALE_S:
                    self._set_offline(bed, f"no state for {now - bed.state_at:.1f} s")

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self.check_stale()
            if self.link_problem and self._fight.steady_for(time.monotonic()) > STEADY_S:
                self.link_problem = None
                self._client.reconnect_delay_set(min_delay=1, max_delay=2)
                logger.warning("central station: the link to the broker is steady again")

    def _line(self, bed: Bed, text: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime())
        self.echo(f"{stamp} {bed.unit}/{bed.bed} {text}")

    def _set_offline(self, bed: Bed, reason: str) -> None:
        bed.online, bed.offline_reason = False, reason
        bed.version += 1
        self._line(bed, f"OFFLINE ({reason})")

    def _set_online(self, bed: Bed) -> None:
        if not bed.online:
            bed.online, bed.offline_reason = True, ""
            self._line(bed, "online")

    # paho's network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            # A wrong password or a missing right does not mend itself: stop retrying.
            self.refused = refusal_text(reason_code)
            client.disconnect()
            return
        self.connected = True
        self._fight.connected(time.monotonic())
        client.subscribe(self._subscription, qos=1)
        logger.info("central subscribed to %s", self._subscription)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        if self._fight.lost(time.monotonic(), reason_code) and not self._stop.is_set():
            if self.link_problem is None:
                self.link_problem = (
                    "the link drops right after each connection: another central station "
                    f"may use the same MQTT client id {self.client_id!r} (give each its own "
                    "--client-id); retrying once a minute"
                )
                logger.warning("central station: %s", self.link_problem)
                client.reconnect_delay_set(*FIGHT_RETRY_S)
            return
        if not self._stop.is_set() and self.refused is None:
            logger.warning("central station lost the broker: %s", reason_code)

    def _on_connect_fail(self, client, userdata) -> None:
        # paho calls this inside its "except OSError" around the connection attempt.
        reason = failure_text(sys.exc_info()[1])
        if reason.startswith("TLS"):
            self.refused = reason
            client.disconnect()

    def _on_message(self, client, userdata, message) -> None:
        kind = message.topic.rsplit("/", 1)[-1]
        try:
            payload = json.loads(message.payload)
            validate(kind, payload)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            self.invalid += 1
            logger.warning("refused a message on %s: %s", message.topic, exc)
            return
        with self._lock:
            self._take(kind, payload, retained=bool(message.retain))

    def _take(self, kind: str, payload: dict, retained: bool) -> None:
        if kind == "ack":
            return  # ours or another central's; the bed's alarm message tells what it did
        key = (payload["unit"], payload["bed"])
        bed = self.beds.get(key)
        if bed is None:
            bed = self.beds[key] = Bed(*key)
        bed.version += 1
        if kind == "status":
            if payload["status"] == "online":
                self._set_online(bed)
            elif bed.online or bed.offline_reason != payload["reason"]:
                self._set_offline(bed, payload["reason"])
        elif kind == "session":
            bed.session = payload
        elif kind == "state":
            before = _summary(bed.state)
            bed.state = payload
            if retained:
                return  # an old retained state says nothing about now
            bed.state_at = time.monotonic()
            _add_trend(bed, payload, bed.state_at)
            self._set_online(bed)
            if _summary(payload) != before:
                alarms = ", ".join(f"{a['label']} ({a['state']})" for a in payload["alarms"])
                self._line(
                    bed,
                    f"state {payload['input_state']} {_value_text(payload)} "
                    f"alarms: {alarms or 'none'}",
                )
        elif kind == "alarm":
            bed.alarms.append(payload)
            delay = time.time() - parse_time(payload["time_utc"]).timestamp()
            if not payload["queued"]:
                self.latencies_s.append(delay)
            priority = f" ({payload['priority']})" if payload["priority"] else ""
            queued = f" queued, sent {delay:.1f} s late" if payload["queued"] else ""
            self._line(
                bed,
                f"alarm #{payload['seq']} {payload['label']} {payload['state']}{priority}"
                f"{queued} latency {delay * 1000:.0f} ms",
            )
