"""The bedside's link to the central station: publish state, alarms, session and status.

Topics ``painsign/v1/UNIT/BED/{state,alarm,session,status}`` (:mod:`painsign.central.schema`):

- ``status``: ``online`` (retained, QoS 1) on each connection, with the MQTT last will
  ``offline`` (retained) so a killed or unplugged bedside is known at once;
- ``session``: retained, on each connection;
- ``state``: retained, QoS 0, about once a second from the engine's snapshot;
- ``alarm``: QoS 1, not retained, every alarm change as the bedside logs it.

It subscribes to its own ``ack`` topic only: an acknowledge from the central station
(``painsign central --remote-ack``) is validated and applied through the same engine path
as the bedside button, its log notes saying "acknowledged from the central station at HOST
by USER".

The bedside stays primary: while the broker cannot be reached the monitor goes on, the
low-priority technical alarm "Central link lost" is raised, and alarm messages are kept in
a bounded queue (the oldest dropped first, counted in each later message's ``dropped``)
and sent on reconnection. A broker that refuses the bedside (user name or password, not
authorised) or a TLS failure is said in the alarm's notes and in one WARNING line, and
retried less and less often (:data:`REFUSED_RETRY_S`). Paho's network thread only sets
flags and queues acknowledges; a thread of the publisher applies them to the engine, so
no lock is ever taken in both orders.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import deque

from painsign import __version__
from painsign.alarms import AlarmId, AlarmLogEntry, get_kind
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

#: Alarm messages kept while the broker cannot be reached.
QUEUE_LIMIT = 1000

#: Seconds between state messages.
STATE_EVERY_S = 1.0

#: Keep-alive (s): the broker sends the last will of a silent bedside after 1.5 times it.
KEEPALIVE_S = 5

#: Retry delays (s) after a refusal or a TLS failure, doubling: a misconfigured bedside
#: must not hammer the broker. A lost link is retried every 1-2 s.
REFUSED_RETRY_S = (5, 60)

#: An acknowledge older than this (s, by its ``time_utc``) is refused: it was delayed.
ACK_MAX_AGE_S = 30.0


def _label(kind: str) -> str:
    try:
        return get_kind(kind).label
    except ValueError:  # audio_pause, settings
        return kind.replace("_", " ").capitalize()


def state_payload(state, unit: str, bed: str) -> dict:
    """The ``state`` payload of a :class:`~painsign.monitor.state.MonitorState`."""
    scorers = []
    for s in state.scorers:
        invalid = None
        if s.current is None:
            failure = getattr(s, "failure", None)
            invalid = (
                f"scorer failed: {failure}"
                if failure
                else (state.input_reason or state.input_state.replace("_", " "))
            )
        scorers.append(
            {
                "name": s.name,
                "threshold": float(s.threshold),
                "value": None if s.current is None else float(s.current),
                "invalid": invalid,
                "sign_type": None if s.sign_type is None else str(s.sign_type),
                "provisional": bool(s.provisional),
            }
        )
    alarms = [
        {
            "kind": str(a.kind),
            "label": a.label,
            "priority": a.priority.label,
            "state": str(a.state),
            "technical": bool(a.technical),
        }
        for a in state.alarms
    ]
    return envelope(
        "state",
        unit,
        bed,
        session_t=round(float(state.elapsed_s), 3),
        input_state=state.input_state,
        input_reason=state.input_reason,
        scorers=scorers,
        alarms=alarms,
        audio_paused=bool(state.audio_paused),
        advisory=state.advisory,
    )


class CentralPublisher:
    """Publish one bedside to the broker; an :class:`~painsign.monitor.ports.AlarmSink`.

    Parameters
    ----------
    host, port : str, int
        The broker.
    unit, bed : str
        Labels (topic levels are made safe with :func:`~painsign.central.schema.topic_label`).
    source_kind : str
        ``camera``, ``stream`` or ``file``.
    demo : bool
        Whether the bedside runs with shortened alarm delays.
    queue_limit : int
        Alarm messages kept while the link is down.
    security : MqttSecurity, optional
        User name, password and TLS; anonymous plain TCP without it.
    """

    def __init__(
        self,
        host: str,
        port: int,
        unit: str,
        bed: str,
        source_kind: str,
        demo: bool = False,
        queue_limit: int = QUEUE_LIMIT,
        security: MqttSecurity | None = None,
    ) -> None:
        self.host, self.port, self.unit, self.bed = host, port, unit, bed
        self.source_kind, self.demo = source_kind, demo
        kinds = ("state", "alarm", "session", "status", "ack")
        self._topics = {k: topic(unit, bed, k) for k in kinds}
        self._client = new_client(f"painsign-bed-{topic_label(unit)}-{topic_label(bed)}", security)
        will = envelope("status", unit, bed, status="offline", reason="last will")
        self._client.will_set(self._topics["status"], json.dumps(will), qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_message = self._on_message
        self._lock = threading.Lock()  # the queue, the counters, the connected flag
        self._queue: deque[dict] = deque()
        self._queue_limit = queue_limit
        self._connected = False
        self._link_up: bool | None = None  # what the network thread saw last; None: not yet
        self._link_reason = ""  # why it is down, from the network thread
        self._warned = ""  # the reason last said in a WARNING line
        self._backing_off = False  # retrying slowly after a refusal
        self._fight = SessionFight()
        self._fighting = False  # another client keeps taking this bed's session
        self._link_alarm_reason = ""
        self._acks: deque[dict] = deque(maxlen=100)  # from the network thread
        #: Acknowledges from the central station applied, and refused.
        self.acks_applied = 0
        self.acks_refused = 0
        self._announce = False  # send status and session at the next tick
        self._seq = 0
        #: Alarm messages dropped from the full queue, oldest first.
        self.dropped = 0
        #: Alarm messages handed to the MQTT client.
        self.sent = 0
        self._engine = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._link_alarm = False

    # -- the engine's side -----------------------------------------------------------------

    def start(self, engine) -> None:
        """Attach to ``engine`` (a :class:`~painsign.monitor.engine.MonitorEngine`), connect
        in the background and start publishing."""
        self._engine = engine
        engine.sinks.append(self)
        self._client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="painsign-publisher", daemon=True)
        self._thread.start()

    def alarm_changed(self, entry: AlarmLogEntry, t: float) -> None:
        """Send one alarm change (QoS 1), or queue it while the link is down."""
        with self._lock:
            self._seq += 1
            message = envelope(
                "alarm",
                self.unit,
                self.bed,
                seq=self._seq,
                session_t=round(float(t), 3),
                alarm_kind=str(entry.kind),
                label=_label(str(entry.kind)),
                priority=None if entry.priority is None else entry.priority.label,
                state=str(entry.state),
                note=entry.note or "",
                queued=False,
                dropped=self.dropped,
            )
            if self._connected:
                self._flush()  # the older ones first
                self._send_alarm(message)
            else:
                self._enqueue(message)

    def stop(self, flush_s: float = 2.0) -> None:
        """Send what is queued (waiting up to ``flush_s`` seconds), the last state and
        ``offline``, then disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        deadline = time.monotonic() + flush_s
        while time.monotonic() < deadline:
            with self._lock:
                self._flush()
                if not self._queue and self._connected:
                    break
            time.sleep(0.05)
        with self._lock:
            connected = self._connected
        if connected:
            self._publish_state()
            bye = envelope("status", self.unit, self.bed, status="offline", reason="stopped")
            info = self._client.publish(self._topics["status"], json.dumps(bye), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=flush_s)
            except (RuntimeError, ValueError):
                pass  # the link went down meanwhile: the last will says offline
        self._client.disconnect()
        self._client.loop_stop()
        if self._engine is not None and self in self._engine.sinks:
            self._engine.sinks.remove(self)

    def summary(self) -> str:
        """The link's outcome in one line, for the end of a run."""
        with self._lock:
            queued = len(self._queue)
        line = f"central link {self.host}:{self.port}: {self.sent} alarm messages sent"
        if queued:
            line += f", {queued} never sent (broker unreachable)"
        if self.dropped:
            line += f", {self.dropped} dropped (queue full)"
        return line

    # -- internals -------------------------------------------------------------------------

    def _send_alarm(self, message: dict) -> None:
        """Hand one alarm message to paho (caller holds the lock); paho keeps a QoS-1
        message it could not send and resends it after reconnecting."""
        self._client.publish(self._topics["alarm"], json.dumps(message), qos=1, retain=False)
        self.sent += 1

    def _enqueue(self, message: dict) -> None:
        message["queued"] = True
        if len(self._queue) >= self._queue_limit:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(message)

    def _flush(self) -> None:
        """Send the queue in order while connected (caller holds the lock)."""
        while self._connected and self._queue:
            message = self._queue.popleft()
            message["dropped"] = self.dropped
            self._send_alarm(message)

    def _run(self) -> None:
        next_state = 0.0
        while not self._stop.wait(0.05):
            with self._lock:
                self._flush()
            self._apply_link()
            while self._acks:
                self._apply_ack(self._acks.popleft())
            with self._lock:
                connected = self._connected
            now = time.monotonic()
            if self._fighting and self._fight.steady_for(now) > STEADY_S:
                self._fighting = False
                self._backing_off = False
                self._client.reconnect_delay_set(min_delay=1, max_delay=2)
            if connected and now >= next_state:
                next_state = now + STATE_EVERY_S
                try:
                    self._publish_state()
                except Exception:  # the bedside stays primary
                    logger.exception("could not publish the state")

    def _apply_link(self) -> None:
        """Announce a new connection, and raise or clear "Central link lost" (never from
        paho's thread, never holding the publisher's lock)."""
        up = self._link_up
        if self._announce and up:
            self._announce = False
            self._publish_status_and_session()
        lost = up is False or self._fighting  # a moment's link once a minute is no link
        reason = self._link_reason if lost else ""
        if reason.startswith(("broker refused", "TLS")) and reason != self._warned:
            self._warned = reason
            logger.warning(
                "central link to %s:%d: %s; monitoring goes on, retrying every %d-%d s",
                self.host,
                self.port,
                reason,
                *REFUSED_RETRY_S,
            )
        changed = (lost, reason) != (self._link_alarm, self._link_alarm_reason)
        if changed and self._engine is not None:
            self._link_alarm, self._link_alarm_reason = lost, reason
            logger.info("central link %s%s", "lost" if lost else "up", f": {reason}" * lost)
            self._engine.set_technical_condition(AlarmId.CENTRAL_LINK_LOST, lost, reason)

    def _apply_ack(self, payload: dict) -> None:
        """Acknowledge at the bedside what the central station acknowledged."""
        by = f"from the central station at {payload['where']} by {payload['who']}"
        age = time.time() - parse_time(payload["time_utc"]).timestamp()
        if age > ACK_MAX_AGE_S:
            self.acks_refused += 1
            logger.warning("refused an acknowledge %s: sent %.0f s ago", by, age)
            return
        if self._engine is None:
            return
        done = self._engine.acknowledge(payload["alarm_kinds"], by=by)
        self.acks_applied += 1
        # WARNING: whoever is at the bed should learn that its alarms were silenced remotely.
        logger.warning(
            "acknowledged %s: %s", by, ", ".join(done) or "nothing (no such alarm sounding)"
        )

    def _publish_status_and_session(self) -> None:
        engine = self._engine
        online = envelope("status", self.unit, self.bed, status="online", reason="connected")
        self._client.publish(self._topics["status"], json.dumps(online), qos=1, retain=True)
        scorers = []
        if engine is not None:
            from painsign.scoring.base import display_name

            scorers = [
                {"name": s.name, "display_name": display_name(s), "threshold": float(s.threshold)}
                for s in engine.analyzer.scorers
            ]
        session = envelope(
            "session",
            self.unit,
            self.bed,
            source_kind=self.source_kind,
            scorers=scorers,
            software_version=__version__,
            demo=self.demo,
        )
        self._client.publish(self._topics["session"], json.dumps(session), qos=1, retain=True)

    def _publish_state(self) -> None:
        if self._engine is None:
            return
        payload = state_payload(self._engine.snapshot(), self.unit, self.bed)
        self._client.publish(self._topics["state"], json.dumps(payload), qos=0, retain=True)

    # paho's network thread: flags only.
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._link_reason = f"broker refused: {refusal_text(reason_code, has_will=True)}"
            self._back_off(client, True)
            self._link_up = False
            return
        logger.info("connected to the broker %s:%d", self.host, self.port)
        self._fight.connected(time.monotonic())
        if not self._fighting:
            self._back_off(client, False)
        client.subscribe(self._topics["ack"], qos=1)
        with self._lock:
            self._connected = True
        self._announce = True
        self._link_up = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            self._connected = False
        if self._fight.lost(time.monotonic(), reason_code) and not self._stop.is_set():
            # Another monitor with the same --unit and --bed (one MQTT client id) and this
            # one throw each other out at every connection: retry slowly and say why.
            self._link_reason = (
                f"the link drops right after each connection: another monitor may publish "
                f"as {self.unit}/{self.bed} (the same --unit and --bed)"
            )
            if not self._fighting:
                self._fighting = True
                logger.warning("central link: %s", self._link_reason)
                client.reconnect_delay_set(*FIGHT_RETRY_S)
        elif not self._stop.is_set() and self._link_up:
            logger.info("link to the broker lost: %s", reason_code)
            self._link_reason = f"link lost: {refusal_text(reason_code)}"
        self._link_up = False

    def _on_connect_fail(self, client, userdata) -> None:
        # paho calls this inside its "except OSError" around the connection attempt.
        reason = failure_text(sys.exc_info()[1])
        if reason.startswith("TLS"):
            self._back_off(client, True)
        self._link_reason = reason
        self._link_up = False

    def _back_off(self, client, refused: bool) -> None:
        """Retry slowly (doubling) while refused, every 1-2 s otherwise; paho restarts the
        doubling at each reconnect_delay_set, so it is called only on a change."""
        if refused != self._backing_off:
            self._backing_off = refused
            client.reconnect_delay_set(*(REFUSED_RETRY_S if refused else (1, 2)))

    def _on_message(self, client, userdata, message) -> None:
        if message.topic != self._topics["ack"]:
            return
        try:
            payload = json.loads(message.payload)
            validate("ack", payload)
            if (topic_label(payload["unit"]), topic_label(payload["bed"])) != (
                topic_label(self.unit),
                topic_label(self.bed),
            ):
                raise ValueError(f"it names {payload['unit']}/{payload['bed']}")
        except ValueError as exc:  # JSONDecodeError is a ValueError
            self.acks_refused += 1
            logger.warning("refused an acknowledge on %s: %s", message.topic, exc)
            return
        self._acks.append(payload)
