"""A unit on one machine: recorded sessions replayed as live beds to the central station.

``painsign replay-unit`` reads sessions from the SQLite files ``painsign monitor --db``
writes and publishes them as N live beds, one MQTT client per bed. Each bed is a
:class:`ReplayBed`, a small stand-in for the monitor engine that the real
:class:`~painsign.central.publisher.CentralPublisher` attaches to (``snapshot()``,
``sinks``, ``set_technical_condition``, ``analyzer.scorers``), so a replayed bed sends
exactly the messages of a bedside:

- ``state`` about once a second from the stored samples at the replay time: each
  scorer's value (the latest stored one: the bedside's 1-s live mean, as it showed
  it) or invalid with the reason (no face, no frame), and the present alarms and
  audio pause rebuilt from the stored alarm log. Sign types are not stored: each scorer's
  sign type and provisional flag are recomputed from its stored samples as the bedside
  computed them (:mod:`painsign.central.replay_signs`), starting afresh each loop; the
  review advisory is the stored one.
- ``alarm``: each stored alarm change at its stored session time (QoS 1). The stored
  "Central link lost" rows are skipped: a replayed bed has its own link and raises its
  own. When a session loops, every alarm still present or pending ends ("replay looped").

Sessions are given to beds round-robin and looped; each bed starts at its own offset
into its session, so the beds are not in lock-step.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from painsign.alarms import AlarmId, AlarmLogEntry, Priority, get_kind
from painsign.central.recorded_sessions import RecordedSession
from painsign.central.replay_signs import SignTimeline
from painsign.errors import InputError

logger = logging.getLogger("painsign.central")

#: A bed shows "no frame" when its last stored sample is older than this (s).
NO_FRAME_S = 2.0

#: Seconds between two steps of the replay (alarm changes are sent at most this late).
TICK_S = 0.02

#: The fraction of a session between the start offsets of two beds (golden section).
_SPREAD = 0.381966

_PRESENT = ("active", "latched", "acknowledged")


def _priority(label) -> Priority | None:
    try:
        return Priority[str(label).upper()]
    except KeyError:
        return None  # audio pauses and settings


@dataclass
class ReplayScorer:
    """A scorer's part of a replayed state (the fields the publisher reads)."""

    name: str
    threshold: float
    current: float | None
    sign_type: str | None = None
    provisional: bool = False
    failure: str | None = None


@dataclass
class ReplayAlarm:
    """A present alarm of a replayed state."""

    kind: str
    label: str
    priority: Priority
    state: str
    technical: bool
    since: float


@dataclass
class ReplayState:
    """What :func:`~painsign.central.publisher.state_payload` reads of a snapshot."""

    elapsed_s: float
    input_state: str
    input_reason: str
    scorers: list[ReplayScorer]
    alarms: list[ReplayAlarm] = field(default_factory=list)
    audio_paused: bool = False
    advisory: str | None = None


class ReplayBed:
    """One replayed bed: the engine side of a :class:`CentralPublisher`.

    Parameters
    ----------
    session : RecordedSession
    offset_s : float
        Where in the session the replay starts (s).
    speed : float
        Session seconds per wall-clock second.
    signs : SignTimeline, optional
        The session's sign types, shared by the beds replaying it; by default the bed's
        own, computed by :meth:`advance`.
    """

    def __init__(
        self,
        session: RecordedSession,
        offset_s: float = 0.0,
        speed: float = 1.0,
        signs: SignTimeline | None = None,
    ):
        self.session, self.offset_s, self.speed = session, float(offset_s), float(speed)
        self.signs = SignTimeline(session) if signs is None else signs
        self.sinks: list = []
        self.analyzer = SimpleNamespace(scorers=[SimpleNamespace(**s) for s in session.scorers])
        self._lock = threading.Lock()
        self._alarms: dict[str, tuple[Priority | None, str, float]] = {}
        self._causes: dict[str, str] = {}  # the note of each own technical condition
        self._audio_paused = False
        self._start: float | None = None
        self._pos = 0.0  # replay position: session seconds since the start of loop 0
        self._next = 0  # index of the next stored alarm row of this loop
        self._loop = 0

    def start(self, now: float | None = None) -> None:
        """Begin at the offset: the stored alarm log up to it gives the present alarms,
        without sending those older changes."""
        self._start = time.monotonic() if now is None else now
        self._pos = self.offset_s
        if not self.signs.background:
            self.signs.compute(self.offset_s)
        with self._lock:
            rows = self.session.alarms
            while self._next < len(rows) and rows[self._next][0] <= self.offset_s:
                self._apply(rows[self._next])
                self._next += 1

    def elapsed(self) -> float:
        """Session seconds since this bed went live."""
        return self._pos - self.offset_s

    def advance(self, now: float | None = None) -> None:
        """Move the replay to ``now`` and tell the sinks each stored alarm change passed."""
        if self._start is None:
            return
        now = time.monotonic() if now is None else now
        target = self.offset_s + (now - self._start) * self.speed
        length = self.session.duration_s
        rows = self.session.alarms
        while True:
            end = min(target, (self._loop + 1) * length)
            if not self.signs.background:  # before the position moves: never unknown
                self.signs.compute(end - self._loop * length)
            due = []
            with self._lock:
                while self._next < len(rows) and self._loop * length + rows[self._next][0] <= end:
                    row = rows[self._next]
                    self._next += 1
                    at = self._loop * length + row[0] - self.offset_s
                    due.append((self._apply(row), at))
                self._pos = end
                wrapped = end >= (self._loop + 1) * length
                if wrapped:
                    due += [(e, end - self.offset_s) for e in self._end_loop()]
            self._tell(due)
            if not wrapped:
                return

    def set_technical_condition(self, kind_id: str, active: bool, note: str = "") -> None:
        """Raise or clear a technical alarm of the replayed bed itself ("Central link
        lost"), telling the sinks as the alarm manager would."""
        kind = get_kind(str(kind_id))
        with self._lock:
            was = self._alarms.get(str(kind_id), (None, "inactive", 0.0))[1]
            new_cause = active and note and note != self._causes.get(str(kind_id))
            self._causes[str(kind_id)] = note
            if (was in _PRESENT) == active and not new_cause:
                return
            state = was if was in _PRESENT and active else "active" if active else "inactive"
            entry = AlarmLogEntry(self._pos, str(kind_id), kind.priority, state, note)
            self._apply_entry(entry)
            t = self.elapsed()
        self._tell([(entry, t)])

    def acknowledge(self, kinds, by: str = "") -> list[str]:
        """Acknowledge the sounding alarms of ``kinds`` (the central station's remote
        acknowledge): an active one becomes acknowledged, a latched one ends.

        Returns
        -------
        list of str
            The kinds acknowledged.
        """
        done, due = [], []
        with self._lock:
            for kind in kinds:
                priority, state, _since = self._alarms.get(kind, (None, "inactive", 0.0))
                if state not in ("active", "latched"):
                    continue
                after = "acknowledged" if state == "active" else "inactive"
                entry = AlarmLogEntry(self._pos, kind, priority, after, f"acknowledged {by}")
                self._apply_entry(entry)
                done.append(kind)
                due.append((entry, self.elapsed()))
        self._tell(due)
        return done

    def snapshot(self) -> ReplayState:
        """The state at the replay position, from the stored samples and alarm log."""
        with self._lock:
            pos = self._pos
            alarms = [
                _present(kind, priority, state, since)
                for kind, (priority, state, since) in self._alarms.items()
                if state in _PRESENT and priority is not None
            ]
            paused = self._audio_paused
        alarms.sort(key=lambda a: (-int(a.priority), a.since))
        t = pos - self._loop_start(pos)
        first = self.session.scorers[0]["name"]
        ts, face, _ = self.session.samples[first]
        i = int(np.searchsorted(ts, t, side="right")) - 1
        if i < 0:
            input_state, reason = "starting", "waiting for the first frame"
        elif t - ts[i] > NO_FRAME_S:
            input_state, reason = "camera_lost", f"no frame for {t - ts[i]:.0f} s"
        elif not face[i]:
            seen = ts[: i + 1][face[: i + 1]]
            since = t - (seen[-1] if seen.size else 0.0)
            input_state, reason = "no_face", f"no face for {since:.0f} s"
        else:
            input_state, reason = "live", ""
        scorers = [
            ReplayScorer(
                s["name"],
                s["threshold"],
                self._value(s["name"], t) if input_state == "live" else None,
                *self.signs.at(s["name"], t),
            )
            for s in self.session.scorers
        ]
        advisory = None
        for at, text in self.session.advisories:
            if at > t:
                break
            advisory = text
        return ReplayState(
            elapsed_s=pos - self.offset_s,
            input_state=input_state,
            input_reason=reason,
            scorers=scorers,
            alarms=alarms,
            audio_paused=paused,
            advisory=advisory,
        )

    # -- internals -------------------------------------------------------------------------

    def _loop_start(self, pos: float) -> float:
        return math.floor(pos / self.session.duration_s) * self.session.duration_s

    def _value(self, name: str, t: float) -> float | None:
        """The latest stored value at ``t``: the stored ``p`` is already the bedside's
        1-s live mean, what it showed (averaging it again lagged by up to 0.39 at a rise
        on the demo session)."""
        if name not in self.session.samples:
            return None
        ts, face, p = self.session.samples[name]
        i = int(np.searchsorted(ts, t, side="right")) - 1
        if i < 0 or not face[i] or not np.isfinite(p[i]):
            return None
        return float(np.clip(p[i], 0.0, 1.0))

    def _apply(self, row: tuple) -> AlarmLogEntry:
        t, kind, priority, state, note = row
        entry = AlarmLogEntry(t, kind, _priority(priority), state, note)
        self._apply_entry(entry)
        return entry

    def _apply_entry(self, entry: AlarmLogEntry) -> None:
        if entry.kind == "audio_pause":
            self._audio_paused = entry.state == "paused"
        elif entry.kind != "settings":
            before = self._alarms.get(entry.kind)
            kept = before is not None and before[1] in _PRESENT and entry.state in _PRESENT
            since = before[2] if kept and before is not None else self._pos
            self._alarms[entry.kind] = (entry.priority, entry.state, since)

    def _end_loop(self) -> list[AlarmLogEntry]:
        """End every stored alarm still present or pending; start the next loop."""
        ended = []
        for kind, (priority, state, _since) in list(self._alarms.items()):
            if state != "inactive" and kind != AlarmId.CENTRAL_LINK_LOST:
                entry = AlarmLogEntry(self._pos, kind, priority, "inactive", "replay looped")
                self._apply_entry(entry)
                ended.append(entry)
        if self._audio_paused:
            entry = AlarmLogEntry(self._pos, "audio_pause", None, "resumed", "replay looped")
            self._apply_entry(entry)
            ended.append(entry)
        self._loop += 1
        self._next = 0
        return ended

    def _tell(self, due: list) -> None:
        for entry, t in due:
            for sink in list(self.sinks):
                try:
                    sink.alarm_changed(entry, t)
                except Exception:  # one sink's fault never stops the replay
                    logger.exception("alarm sink %r failed", sink)


def _present(kind: str, priority: Priority, state: str, since: float) -> ReplayAlarm:
    try:
        known = get_kind(kind)
        label, technical = known.label, bool(known.technical)
    except ValueError:
        label, technical = kind.replace("_", " ").capitalize(), False
    return ReplayAlarm(kind, label, priority, state, technical, since)


def start_offsets(beds: int, sessions: list[RecordedSession]) -> list[tuple[int, float]]:
    """For each bed, the index of its session (round-robin) and its start offset (s)."""
    out = []
    for i in range(beds):
        session = sessions[i % len(sessions)]
        out.append((i % len(sessions), (i * _SPREAD % 1.0) * session.duration_s))
    return out


class ReplayUnit:
    """N replayed beds, each published by its own :class:`CentralPublisher` (one MQTT
    client per bed), stepped by one thread.

    Parameters
    ----------
    sessions : list of RecordedSession
        Given to the beds round-robin (:func:`start_offsets`).
    beds : int
        Number of beds, labelled ``"bed 1"`` .. ``"bed N"``.
    host, port : str, int
        The broker.
    unit : str
        The unit label.
    speed : float
        Replay speed (1 = real time).
    link_options : dict, optional
        More keyword arguments of :class:`CentralPublisher` (authentication, TLS).
    """

    def __init__(
        self,
        sessions: list[RecordedSession],
        beds: int,
        host: str,
        port: int,
        unit: str,
        speed: float = 1.0,
        link_options: dict | None = None,
    ) -> None:
        from painsign.central.publisher import CentralPublisher

        if beds < 1:
            raise InputError(f"--beds must be at least 1, got {beds}")
        if not (math.isfinite(speed) and speed > 0):
            raise InputError(f"--speed must be a positive number, got {speed}")
        self.unit = unit
        self.beds: list[ReplayBed] = []
        # One sign timeline per replayed session, computed in the background, shared by
        # its beds.
        self.signs: dict[int, SignTimeline] = {}
        self.publishers: list = []
        self.labels: list[str] = []
        for i, (index, offset) in enumerate(start_offsets(beds, sessions)):
            session = sessions[index]
            label = f"bed {i + 1}"
            self.labels.append(label)
            if index not in self.signs:
                self.signs[index] = SignTimeline(session)
            self.beds.append(ReplayBed(session, offset, speed, self.signs[index]))
            self.publishers.append(
                CentralPublisher(
                    host,
                    port,
                    unit,
                    label,
                    session.source_kind,
                    demo=session.demo,
                    **(link_options or {}),
                )
            )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def describe(self) -> list[str]:
        """One line per bed: which session it replays, from where."""
        from painsign.central.schema import topic

        return [
            f"{label}: {bed.session.name} ({bed.session.duration_s:.0f} s, looped) from "
            f"{bed.offset_s:.1f} s -> {topic(self.unit, label, '#')}"
            for label, bed in zip(self.labels, self.beds, strict=True)
        ]

    def start(self) -> None:
        """Connect every bed (in the background) and start the replay."""
        for signs in self.signs.values():
            signs.compute_in_background()
        now = time.monotonic()
        for bed, publisher in zip(self.beds, self.publishers, strict=True):
            bed.start(now)
            publisher.start(bed)
        self._thread = threading.Thread(target=self._run, name="painsign-replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the replay; every bed sends what it queued, its last state and ``offline``
        (reason "stopped"), then disconnects."""
        from concurrent.futures import ThreadPoolExecutor

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda p: p.stop(), self.publishers))

    def sent(self) -> int:
        """Alarm messages handed to the MQTT clients so far, all beds."""
        return sum(p.sent for p in self.publishers)

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            for bed in self.beds:
                try:
                    bed.advance(now)
                except Exception:  # one bed's fault never stops the others
                    logger.exception("replay of a bed failed")
