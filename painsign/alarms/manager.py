"""The alarm state machine: conditions in; alarm states, sound, visual and a log out.

Each alarm kind is in one of these states (:class:`~painsign.alarms.model.State`)::

    INACTIVE --condition held for its delay, or raise_event--> ACTIVE
    ACTIVE --condition ends--> INACTIVE            (non-latching)
    ACTIVE --condition ends--> LATCHED             (latching: high physiological)
    ACTIVE --acknowledge--> ACKNOWLEDGED --condition ends--> INACTIVE
    ACKNOWLEDGED --still active after reminder_s--> ACTIVE   (reminder: sounds again)
    LATCHED --acknowledge--> INACTIVE;  LATCHED --condition returns--> ACTIVE

Only the highest-priority alarm that is ACTIVE or LATCHED sounds. An audio pause silences
every alarm for 1, 2 or 3 minutes (visuals continue) except a new alarm of higher priority
than all those present when the pause began; a pause started with no alarm present lets
only high-priority alarms through. Time-based transitions (delays, reminders, end of
pause) are placed at the moment they fall due, not when :meth:`AlarmManager.update`
happens to run, so the log does not depend on the polling rate.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from painsign.alarms.clock import Clock, MonotonicClock
from painsign.alarms.model import KINDS, AlarmKind, AlarmSettings, Priority, State, get_kind

logger = logging.getLogger(__name__)

#: ``AlarmLogEntry.kind`` of audio-pause entries (state ``"paused"`` or ``"resumed"``).
AUDIO_PAUSE = "audio_pause"
#: ``AlarmLogEntry.kind`` of settings changes (state ``"changed"``).
SETTINGS = "settings"

_PRESENT = (State.ACTIVE, State.LATCHED, State.ACKNOWLEDGED)
_AUDIBLE = (State.ACTIVE, State.LATCHED)


@dataclass(frozen=True)
class AlarmState:
    """Snapshot of one present alarm.

    Attributes
    ----------
    kind : str
        Alarm kind id (``"pain_surge"``).
    label : str
        Text for the screen.
    priority : Priority
    state : State
        ``"active"``, ``"latched"`` or ``"acknowledged"``.
    since : float
        Clock time at which the alarm was raised.
    condition : bool
        Whether its condition still holds (False only when latched).
    technical : bool
        Equipment or software fault rather than the patient's condition.
    latching : bool
    """

    kind: str
    label: str
    priority: Priority
    state: State
    since: float
    condition: bool
    technical: bool
    latching: bool


@dataclass(frozen=True)
class AlarmLogEntry:
    """One transition of the alarm system.

    Attributes
    ----------
    t : float
        Clock time (monotonic seconds) of the transition; wall-clock time is added by
        whoever stores the entry.
    kind : str
        Alarm kind id, or :data:`AUDIO_PAUSE` or :data:`SETTINGS`.
    priority : Priority or None
        None for audio-pause and settings entries.
    state : str
        The state after the transition: ``"pending"`` (condition started, delay running),
        ``"active"``, ``"latched"``, ``"acknowledged"``, ``"inactive"``; ``"paused"`` or
        ``"resumed"`` for audio pauses; ``"changed"`` for settings.
    note : str
        What happened, in words.
    """

    t: float
    kind: str
    priority: Priority | None
    state: str
    note: str = ""


@dataclass
class _Alarm:
    kind: AlarmKind
    state: State = State.INACTIVE
    condition: bool = False
    condition_since: float | None = None
    since: float | None = None
    acked_at: float | None = None
    breakthrough: bool = False
    seq: int = 0  # activation order: breaks ties between alarms raised at the same time
    reason: str = ""  # why the condition started, from set_condition


class AlarmManager:
    """Alarm state machine driven by conditions reported by the caller (no Qt, no sound).

    Parameters
    ----------
    clock : Clock, optional
        Source of monotonic time; :class:`~painsign.alarms.clock.MonotonicClock` by default,
        :class:`~painsign.alarms.clock.FakeClock` in tests.
    settings : AlarmSettings, optional
        Delays, pause choices and reminder time; the defaults when omitted.
    on_change : callable, optional
        Called with each new :class:`AlarmLogEntry`, after the transition is complete (so
        it may query the manager). An exception it raises is logged and does not stop the
        alarm system: annunciation must not depend on the recorder.

    Attributes
    ----------
    log : list of AlarmLogEntry
        Every transition, in time order.

    Examples
    --------
    >>> from painsign.alarms import AlarmId, FakeClock
    >>> clock = FakeClock()
    >>> alarms = AlarmManager(clock)
    >>> alarms.set_condition(AlarmId.FACE_NOT_SEEN, True)
    >>> clock.advance(10.0)
    10.0
    >>> alarms.sounding().kind == AlarmId.FACE_NOT_SEEN, alarms.visual()
    (True, ('#00bcd4', 0.0))
    >>> alarms.acknowledge() == [AlarmId.FACE_NOT_SEEN]
    True
    >>> alarms.sounding() is None, alarms.highest().state
    (True, <State.ACKNOWLEDGED: 'acknowledged'>)
    """

    def __init__(
        self,
        clock: Clock | None = None,
        settings: AlarmSettings | None = None,
        on_change: Callable[[AlarmLogEntry], object] | None = None,
    ):
        self.clock = clock if clock is not None else MonotonicClock()
        if settings is None:
            settings = AlarmSettings()
        if not isinstance(settings, AlarmSettings):
            raise TypeError(f"settings must be an AlarmSettings, got {type(settings).__name__}")
        self._settings = settings
        self.on_change = on_change
        self.log: list[AlarmLogEntry] = []
        self._alarms = {kind_id: _Alarm(kind) for kind_id, kind in KINDS.items()}
        self._t = self._read_clock(-math.inf)
        self._pause_until: float | None = None
        self._pause_ceiling: Priority | None = None
        self._unsent: deque[AlarmLogEntry] = deque()
        self._notifying = False
        self._activations = 0

    # -- inputs ---------------------------------------------------------------------------

    @property
    def settings(self) -> AlarmSettings:
        """The current settings (change them with :meth:`update_settings`)."""
        return self._settings

    def set_condition(self, kind_id: str, active: bool, reason: str = "") -> None:
        """Report whether the condition of ``kind_id`` holds now.

        The alarm is raised once the condition has held continuously for its condition
        delay. When the condition ends, a non-latching alarm ends; a latching alarm stays
        latched (and keeps sounding) until acknowledged. Repeating the same value changes
        nothing.

        Parameters
        ----------
        kind_id : str
            Alarm kind id, e.g. ``"camera_lost"``.
        active : bool
            Whether the condition holds now.
        reason : str, optional
            Why the condition started, in words; the notes of its start and its alarm end
            with ``"; because REASON"``.
        """
        alarm = self._get(kind_id)
        active = bool(active)
        now = self._advance()
        because = f"; because {reason}" if reason else ""
        if active and not alarm.condition:
            alarm.condition, alarm.condition_since = True, now
            alarm.reason = reason
            if alarm.state == State.LATCHED:
                alarm.state = State.ACTIVE
                self._log(alarm, State.ACTIVE, f"condition returned while latched{because}")
            else:
                delay = self._settings.condition_delay(kind_id)
                self._log(
                    alarm, State.PENDING, f"condition started; alarm after {delay:g} s{because}"
                )
        elif active and reason and reason != alarm.reason:
            alarm.reason = reason  # the same condition, a new cause (a lost link refused)
            self._log(alarm, alarm.state, f"condition goes on{because}")
        elif not active and alarm.condition:
            assert alarm.condition_since is not None  # set with condition
            held = now - alarm.condition_since
            alarm.condition, alarm.condition_since = False, None
            if alarm.state == State.INACTIVE:
                delay = self._settings.condition_delay(kind_id)
                self._log(
                    alarm,
                    State.INACTIVE,
                    f"condition ended after {held:g} s, before its {delay:g} s delay",
                )
            elif alarm.state == State.ACTIVE and alarm.kind.latching:
                alarm.state = State.LATCHED
                self._log(alarm, State.LATCHED, "condition ended; latched until acknowledged")
            else:
                self._clear(alarm, f"cleared: condition ended after {held:.1f} s")
        self._advance()
        self._flush()

    def raise_event(self, kind_id: str) -> None:
        """Raise an event-triggered alarm (a pain surge) at once, without condition delay.

        Its condition then holds until the caller ends it with
        ``set_condition(kind_id, False)``. A new event for an alarm already acknowledged
        makes it sound again; each event is logged.

        Parameters
        ----------
        kind_id : str
            Alarm kind id, e.g. ``"pain_surge"``.
        """
        alarm = self._get(kind_id)
        now = self._advance()
        if not alarm.condition:
            alarm.condition, alarm.condition_since = True, now
        if alarm.state == State.INACTIVE:
            self._activate(alarm, "raised by event")
        else:
            previous = alarm.state
            alarm.state, alarm.acked_at = State.ACTIVE, None
            self._log(alarm, State.ACTIVE, f"raised again by event (was {previous})")
        self._advance()
        self._flush()

    def acknowledge(self, kind_id: str | None = None, by: str = "") -> list[str]:
        """Acknowledge one alarm, or all of them.

        An active alarm becomes acknowledged: it stays on screen, stops sounding, and sounds
        again if still active ``settings.reminder_s`` later. A latched alarm (its
        condition has ended) is cleared.

        Parameters
        ----------
        kind_id : str, optional
            The alarm to acknowledge; None acknowledges every alarm.
        by : str, optional
            Who and where, when not at the bedside (``"from the central station at HOST
            by USER"``): the notes read ``"acknowledged from the central station ..."``.

        Returns
        -------
        list of str
            Ids of the alarms acknowledged (empty if there was nothing to acknowledge).
        """
        targets = list(self._alarms.values()) if kind_id is None else [self._get(kind_id)]
        now = self._advance()
        done = []
        acked = f"acknowledged {by}" if by else "acknowledged"
        for alarm in sorted((a for a in targets if a.state in _AUDIBLE), key=self._order):
            if alarm.state == State.ACTIVE:
                alarm.state, alarm.acked_at = State.ACKNOWLEDGED, now
                self._log(
                    alarm,
                    State.ACKNOWLEDGED,
                    f"{acked}; sounds again in {self._settings.reminder_s:g} s if still active",
                )
            else:
                self._log(alarm, State.ACKNOWLEDGED, f"{acked} after its condition ended")
                self._clear(alarm, "cleared: latched alarm acknowledged")
            done.append(alarm.kind.id)
        self._flush()
        return done

    def pause_audio(self, seconds: float | None = None) -> bool:
        """Silence alarm sounds for ``seconds``; visual signals continue.

        Sound returns by itself when the pause ends, or at once with
        :meth:`resume_audio`. A new alarm of higher priority than every alarm present when
        the pause began sounds through it (if none was present, only high-priority alarms
        do; :meth:`breakthrough` names it). Pausing while a pause runs changes nothing: it
        neither restarts the countdown nor unmutes (cancel with :meth:`resume_audio`).

        Parameters
        ----------
        seconds : float, optional
            Pause length, one of ``settings.pause_choices_s``; ``settings.audio_pause_s``
            when omitted.

        Returns
        -------
        bool
            True if a pause started, False if one was already running.

        Raises
        ------
        ValueError
            If ``seconds`` is not one of the allowed choices.
        """
        choices = self._settings.pause_choices_s
        if seconds is None:
            seconds = self._settings.audio_pause_s
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, numbers.Real)
            or (seconds not in choices)
        ):
            allowed = ", ".join(f"{c:g}" for c in choices)
            raise ValueError(f"audio pause must be one of {allowed} s, got {seconds!r}")
        now = self._advance()
        if self._pause_until is not None:
            self._flush()
            return False
        present = [a.kind.priority for a in self._alarms.values() if a.state in _PRESENT]
        # With no alarm present (a pause before care), low and medium stay silent.
        self._pause_ceiling = max(present, default=Priority.MEDIUM)
        self._pause_until = now + float(seconds)
        for alarm in self._alarms.values():
            alarm.breakthrough = False
        self._log_system(
            AUDIO_PAUSE,
            "paused",
            f"audio paused for {seconds:g} s; new alarms above "
            f"{self._pause_ceiling.label} priority sound through",
        )
        self._flush()
        return True

    def cancel_pause(self) -> bool:
        """End the audio pause now; return False if audio was not paused."""
        self._advance()
        paused = self._pause_until is not None
        if paused:
            self._end_pause("audio pause cancelled")
        self._flush()
        return paused

    def resume_audio(self) -> bool:
        """Cancel the audio pause (logged as resumed); False if audio was not paused."""
        return self.cancel_pause()

    def breakthrough(self) -> AlarmState | None:
        """The alarm sounding through the running audio pause, or None."""
        return self.sounding() if self.audio_paused() else None

    def update_settings(self, settings: AlarmSettings | None = None, **changes) -> None:
        """Replace the settings, or change some fields, and log the change.

        New delays apply to conditions already running (measured from their start); an
        audio pause already running keeps its length.

        Parameters
        ----------
        settings : AlarmSettings, optional
            The new settings.
        **changes
            Fields to change instead, e.g. ``reminder_s=120.0``.
        """
        if settings is not None and changes:
            raise TypeError("give either settings or keyword changes, not both")
        if settings is None:
            names = {f.name for f in dataclasses.fields(AlarmSettings)}
            unknown = sorted(set(changes) - names)
            if unknown:
                raise ValueError(
                    f"unknown alarm settings {unknown}; known: {', '.join(sorted(names))}"
                )
            settings = dataclasses.replace(self._settings, **changes)
        elif not isinstance(settings, AlarmSettings):
            raise TypeError(f"settings must be an AlarmSettings, got {type(settings).__name__}")
        self._advance()
        diffs = self._settings.changes(settings)
        self._settings = settings
        if diffs:
            self._log_system(SETTINGS, "changed", "; ".join(diffs))
        self._advance()
        self._flush()

    def update(self) -> None:
        """Apply the time-based transitions due by now: delays, reminders, end of pause.

        Call it on a timer (every 100-200 ms); every other method calls it too.
        """
        self._advance()
        self._flush()

    # -- outputs --------------------------------------------------------------------------

    def active_alarms(self) -> list[AlarmState]:
        """Every present alarm (active, latched or acknowledged), highest priority first,
        then oldest first."""
        self.update()
        present = sorted((a for a in self._alarms.values() if a.state in _PRESENT), key=self._order)
        return [self._snapshot(a) for a in present]

    def get(self, kind_id: str) -> AlarmState | None:
        """The alarm ``kind_id`` if present (active, latched or acknowledged), else None."""
        alarm = self._get(kind_id)
        self.update()
        return self._snapshot(alarm) if alarm.state in _PRESENT else None

    def highest(self) -> AlarmState | None:
        """The first of :meth:`active_alarms`, or None when there is no alarm."""
        alarms = self.active_alarms()
        return alarms[0] if alarms else None

    def sounding(self) -> AlarmState | None:
        """The one alarm that should be audible now, or None.

        The highest-priority (then oldest) alarm that is active or latched: acknowledged
        alarms are silent until their reminder, and during an audio pause only
        breakthrough alarms sound.
        """
        self.update()
        paused = self._pause_until is not None
        audible = [
            a
            for a in self._alarms.values()
            if a.state in _AUDIBLE and (not paused or a.breakthrough)
        ]
        return self._snapshot(min(audible, key=self._order)) if audible else None

    def visual(self) -> tuple[str, float] | None:
        """``(colour, flash_hz)`` for the alarm banner, from the highest-priority alarm.

        Visual signals continue during an audio pause and after acknowledgement; None
        when there is no alarm.
        """
        top = self.highest()
        return (top.priority.colour, top.priority.flash_hz) if top is not None else None

    def audio_paused(self) -> bool:
        """Whether an audio pause is running."""
        self.update()
        return self._pause_until is not None

    def audio_paused_remaining(self) -> float:
        """Seconds left in the audio pause (for the countdown on screen); 0.0 if none."""
        self.update()
        return 0.0 if self._pause_until is None else max(0.0, self._pause_until - self._t)

    # -- internals ------------------------------------------------------------------------

    def _get(self, kind_id: str) -> _Alarm:
        kind = get_kind(kind_id)
        alarm = self._alarms.get(kind.id)
        if alarm is None:  # a per-scorer kind ("scorer_failed_NAME"), first used now
            alarm = self._alarms[kind.id] = _Alarm(kind)
        return alarm

    @staticmethod
    def _order(alarm: _Alarm):
        return (-alarm.kind.priority, alarm.since, alarm.seq)

    def _read_clock(self, floor: float) -> float:
        now = float(self.clock.now())
        if not math.isfinite(now):
            raise ValueError(f"clock.now() must return finite seconds, got {now!r}")
        return max(now, floor)  # a clock running backwards must not reorder the log

    def _next_due(self) -> tuple[float, Callable, _Alarm | None] | None:
        """(time, action, alarm) of the earliest time-based transition, or None."""
        due: list[tuple[float, int, int, str, Callable, _Alarm | None]] = []
        if self._pause_until is not None:
            due.append((self._pause_until, 0, 0, "", self._end_pause_due, None))
        for alarm in self._alarms.values():
            rank = (-alarm.kind.priority, alarm.kind.id)
            if alarm.condition and alarm.state == State.INACTIVE:
                assert alarm.condition_since is not None  # set with condition
                delay = self._settings.condition_delay(alarm.kind.id)
                due.append((alarm.condition_since + delay, 1, *rank, self._activate_due, alarm))
            elif alarm.condition and alarm.state == State.ACKNOWLEDGED:
                assert alarm.acked_at is not None  # set with the acknowledgement
                t = alarm.acked_at + self._settings.reminder_s
                due.append((t, 2, *rank, self._remind, alarm))
        if not due:
            return None
        first = min(due, key=lambda d: d[:4])
        return first[0], first[4], first[5]

    def _advance(self) -> float:
        now = self._read_clock(self._t)
        while (due := self._next_due()) is not None and due[0] <= now:
            t, action, alarm = due
            # A shortened delay may have fallen due in the past; never log back in time.
            self._t = max(self._t, t)
            action(alarm)
        self._t = now
        return now

    def _activate(self, alarm: _Alarm, note: str) -> None:
        alarm.state, alarm.since, alarm.acked_at = State.ACTIVE, self._t, None
        self._activations += 1
        alarm.seq = self._activations
        alarm.breakthrough = (
            self._pause_ceiling is not None and alarm.kind.priority > self._pause_ceiling
        )
        if alarm.breakthrough:
            note += "; sounds through the audio pause"
        self._log(alarm, State.ACTIVE, note)

    def _activate_due(self, alarm: _Alarm) -> None:
        delay = self._settings.condition_delay(alarm.kind.id)
        note = f"condition held {delay:g} s" if delay else "condition present"
        self._activate(alarm, note + (f"; because {alarm.reason}" if alarm.reason else ""))

    def _remind(self, alarm: _Alarm) -> None:
        alarm.state, alarm.acked_at = State.ACTIVE, None
        self._log(
            alarm,
            State.ACTIVE,
            f"reminder: still active {self._settings.reminder_s:g} s after acknowledgement",
        )

    def _end_pause_due(self, _alarm: None) -> None:
        self._end_pause("audio pause ended")

    def _end_pause(self, note: str) -> None:
        self._pause_until = self._pause_ceiling = None
        for alarm in self._alarms.values():
            alarm.breakthrough = False
        self._log_system(AUDIO_PAUSE, "resumed", note)

    def _clear(self, alarm: _Alarm, note: str) -> None:
        alarm.state, alarm.since, alarm.acked_at = State.INACTIVE, None, None
        alarm.breakthrough = False
        self._log(alarm, State.INACTIVE, note)

    def _snapshot(self, alarm: _Alarm) -> AlarmState:
        assert alarm.since is not None, "only present alarms are shown"
        kind = alarm.kind
        return AlarmState(
            kind=kind.id,
            label=kind.label,
            priority=kind.priority,
            state=alarm.state,
            since=alarm.since,
            condition=alarm.condition,
            technical=kind.technical,
            latching=kind.latching,
        )

    def _log(self, alarm: _Alarm, state: State, note: str) -> None:
        self._append(AlarmLogEntry(self._t, alarm.kind.id, alarm.kind.priority, str(state), note))

    def _log_system(self, kind: str, state: str, note: str) -> None:
        self._append(AlarmLogEntry(self._t, kind, None, state, note))

    def _append(self, entry: AlarmLogEntry) -> None:
        self.log.append(entry)
        if self.on_change is not None:
            self._unsent.append(entry)

    def _flush(self) -> None:
        """Deliver new log entries to ``on_change`` once the state is consistent."""
        if self.on_change is None:
            self._unsent.clear()
            return
        if self._notifying:
            return  # called from inside on_change: the outer loop delivers the rest
        self._notifying = True
        try:
            while self._unsent:
                entry = self._unsent.popleft()
                try:
                    self.on_change(entry)
                except Exception:
                    logger.exception("alarm log callback failed on %r", entry)
        finally:
            self._notifying = False
