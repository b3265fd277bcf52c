"""Alarm priorities, alarm kinds and settings: what each alarm is and how it is signalled.

The signals imitate monitors that follow IEC 60601-1-8:

========  ======  ================  ==========================  ==============
priority  colour  flashing          sound burst                 burst repeats
========  ======  ================  ==========================  ==============
high      red     2.0 Hz, 50 %      10 pulses, as 5 + 5         every 5 s
medium    yellow  0.5 Hz, 50 %      3 pulses                    every 15 s
low       cyan    steady            1 pulse                     once
========  ======  ================  ==========================  ==============

Which condition gets which priority is a risk decision made here, in :data:`KINDS`; only
high-priority physiological alarms latch, technical alarms never do, and latching is not a
setting.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from types import MappingProxyType


@dataclass(frozen=True)
class _Signals:
    colour: str
    flash_hz: float
    flash_duty: float
    burst_groups: tuple[int, ...]
    burst_interval_s: float


class Priority(IntEnum):
    """Alarm priority; compares as ``HIGH > MEDIUM > LOW``.

    Examples
    --------
    >>> Priority.HIGH > Priority.MEDIUM > Priority.LOW
    True
    >>> Priority.MEDIUM.colour, Priority.MEDIUM.flash_hz, Priority.MEDIUM.burst_pulses
    ('#fdd835', 0.5, 3)
    """

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        """Lower-case name: ``"high"``, ``"medium"`` or ``"low"``."""
        return self.name.lower()

    @property
    def colour(self) -> str:
        """Display colour as ``"#rrggbb"``: red, yellow or cyan."""
        return _SIGNALS[self].colour

    @property
    def flash_hz(self) -> float:
        """Flash frequency of the visual signal in Hz; 0 means steady."""
        return _SIGNALS[self].flash_hz

    @property
    def flash_duty(self) -> float:
        """Fraction of each flash period that the signal is lit (1.0 when steady)."""
        return _SIGNALS[self].flash_duty

    @property
    def burst_groups(self) -> tuple[int, ...]:
        """Pulses per group in one sound burst: ``(5, 5)``, ``(3,)`` or ``(1,)``."""
        return _SIGNALS[self].burst_groups

    @property
    def burst_pulses(self) -> int:
        """Pulses in one sound burst: 10, 3 or 1."""
        return sum(_SIGNALS[self].burst_groups)

    @property
    def burst_interval_s(self) -> float:
        """Seconds from the start of one burst to the next; 0 means the burst plays once."""
        return _SIGNALS[self].burst_interval_s


_SIGNALS = {
    Priority.HIGH: _Signals("#e53935", 2.0, 0.5, (5, 5), 5.0),
    Priority.MEDIUM: _Signals("#fdd835", 0.5, 0.5, (3,), 15.0),
    Priority.LOW: _Signals("#00bcd4", 0.0, 1.0, (1,), 0.0),
}


class State(StrEnum):
    """State of one alarm; compares equal to its lower-case string.

    ``INACTIVE``: no alarm (``PENDING`` in the log: the condition holds, its delay runs).
    ``ACTIVE``: alarming, audible and visible. ``LATCHED``: the condition has ended but a
    latching alarm keeps signalling until acknowledged. ``ACKNOWLEDGED``: still visible,
    silent until its reminder.
    """

    INACTIVE = "inactive"
    PENDING = "pending"
    ACTIVE = "active"
    LATCHED = "latched"
    ACKNOWLEDGED = "acknowledged"


def _check_seconds(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and float(value) >= 0):
        raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")


class AlarmId(StrEnum):
    """The id of each fixed alarm kind; compares equal to its string (stored in logs and
    the database as that string). The per-scorer kinds ``scorer_failed_NAME`` are made
    at run time (:func:`scorer_failed_id`).

    Examples
    --------
    >>> AlarmId.PAIN_SURGE == "pain_surge", f"{AlarmId.CAMERA_LOST}"
    (True, 'camera_lost')
    """

    PAIN_SURGE = "pain_surge"
    SUSTAINED_PAIN = "sustained_pain"
    CAMERA_LOST = "camera_lost"
    CAMERA_FROZEN = "camera_frozen"
    FACE_NOT_SEEN = "face_not_seen"
    INFERENCE_ERROR = "inference_error"
    AUDIO_FAILURE = "audio_failure"
    RECORDING_FAILURE = "recording_failure"
    CENTRAL_LINK_LOST = "central_link_lost"


@dataclass(frozen=True)
class AlarmKind:
    """One kind of alarm condition.

    Attributes
    ----------
    id : str
        Stable identifier, used in logs and stored records (an :class:`AlarmId`, or
        ``scorer_failed_NAME``).
    label : str
        Text for the screen (``"Pain surge"``).
    priority : Priority
    technical : bool
        True for equipment or software faults, False for the patient's condition.
    latching : bool
        Keeps signalling after its condition ends until acknowledged. Only high-priority
        physiological alarms may latch.
    delay_s : float
        Default condition delay: how long the condition must hold before the alarm is
        raised. :class:`AlarmSettings` may override it.
    """

    id: str
    label: str
    priority: Priority
    technical: bool
    latching: bool = False
    delay_s: float = 0.0

    def __post_init__(self):
        if not (self.id and self.id.isidentifier() and self.id == self.id.lower()):
            raise ValueError(f"alarm id must be a lower-case identifier, got {self.id!r}")
        if not isinstance(self.priority, Priority):
            raise ValueError(f"priority of {self.id!r} must be a Priority, got {self.priority!r}")
        if self.latching and (self.technical or self.priority != Priority.HIGH):
            raise ValueError(
                f"alarm {self.id!r} cannot latch: only high-priority physiological alarms latch"
            )
        _check_seconds(f"delay_s of {self.id!r}", self.delay_s)


PAIN_SURGE = AlarmKind(AlarmId.PAIN_SURGE, "Pain surge", Priority.MEDIUM, technical=False)
SUSTAINED_PAIN = AlarmKind(
    AlarmId.SUSTAINED_PAIN,
    "Sustained pain",
    Priority.HIGH,
    technical=False,
    latching=True,
    delay_s=30.0,
)
CAMERA_LOST = AlarmKind(AlarmId.CAMERA_LOST, "Camera lost", Priority.MEDIUM, technical=True)
CAMERA_FROZEN = AlarmKind(AlarmId.CAMERA_FROZEN, "Camera frozen", Priority.MEDIUM, technical=True)
FACE_NOT_SEEN = AlarmKind(
    AlarmId.FACE_NOT_SEEN, "Face not seen", Priority.LOW, technical=True, delay_s=10.0
)
INFERENCE_ERROR = AlarmKind(
    AlarmId.INFERENCE_ERROR, "Inference error", Priority.MEDIUM, technical=True
)
# The alarm system must signal its own failure: shown on screen when sound cannot play.
AUDIO_FAILURE = AlarmKind(
    AlarmId.AUDIO_FAILURE, "Alarm sound unavailable", Priority.LOW, technical=True
)
# Nothing lost silently: the session database cannot be written.
RECORDING_FAILURE = AlarmKind(
    AlarmId.RECORDING_FAILURE, "Recording failed", Priority.MEDIUM, technical=True
)
# The bedside stays primary: it monitors on when the central station cannot hear it.
CENTRAL_LINK_LOST = AlarmKind(
    AlarmId.CENTRAL_LINK_LOST, "Central link lost", Priority.LOW, technical=True
)

#: Every alarm kind by id.
KINDS: Mapping[str, AlarmKind] = MappingProxyType(
    {
        kind.id: kind
        for kind in (
            PAIN_SURGE,
            SUSTAINED_PAIN,
            CAMERA_LOST,
            CAMERA_FROZEN,
            FACE_NOT_SEEN,
            RECORDING_FAILURE,
            INFERENCE_ERROR,
            AUDIO_FAILURE,
            CENTRAL_LINK_LOST,
        )
    }
)


#: Id prefix of the per-scorer technical alarm "Scorer 'NAME' failed" (one kind per scorer:
#: ``scorer_failed_NAME``, NAME the scorer's column key). Medium priority like
#: "Inference error", which stays for failures of the face detector, landmarks or tracker.
SCORER_FAILED = "scorer_failed_"


def scorer_failed_id(scorer: str) -> str:
    """The alarm id of ``scorer``'s failure (``"mine"`` -> ``"scorer_failed_mine"``; other
    characters than a-z and 0-9 become ``_``, as in a plug-in's column key)."""
    return SCORER_FAILED + (re.sub(r"[^a-z0-9]+", "_", scorer.lower()).strip("_") or "_")


def get_kind(kind_id: str) -> AlarmKind:
    """Return the :class:`AlarmKind` with id ``kind_id``.

    Besides :data:`KINDS`, every ``scorer_failed_NAME`` (NAME a lower-case column key)
    is a kind: "Scorer 'NAME' failed", medium priority, technical.

    Raises
    ------
    ValueError
        For an unknown id; the message lists the known ones.
    """
    if isinstance(kind_id, str):
        if kind_id in KINDS:
            return KINDS[kind_id]
        name = kind_id[len(SCORER_FAILED) :]
        if (
            kind_id.startswith(SCORER_FAILED)
            and name
            and kind_id.isidentifier()
            and kind_id == kind_id.lower()
        ):
            return _scorer_failed_kind(name)
    raise ValueError(
        f"unknown alarm kind {kind_id!r}; known kinds: {', '.join(KINDS)}, {SCORER_FAILED}NAME"
    )


@functools.cache
def _scorer_failed_kind(name: str) -> AlarmKind:
    return AlarmKind(
        scorer_failed_id(name), f"Scorer '{name}' failed", Priority.MEDIUM, technical=True
    )


# Kinds whose delay has its own named field in AlarmSettings.
_NAMED_DELAYS = {SUSTAINED_PAIN.id: "sustained_pain_s", FACE_NOT_SEEN.id: "face_not_seen_s"}


@dataclass(frozen=True)
class AlarmSettings:
    """Operator settings of the alarm system (immutable; change with ``dataclasses.replace``
    or :meth:`AlarmManager.update_settings <painsign.alarms.AlarmManager.update_settings>`).

    Attributes
    ----------
    audio_pause_s : float, default 120.0
        Default length of an audio pause; must be one of ``pause_choices_s``.
    pause_choices_s : tuple of float, default (60.0, 120.0, 180.0)
        The pause lengths an operator may choose.
    reminder_s : float, default 150.0
        An acknowledged alarm whose condition still holds sounds again after this long.
    sustained_pain_s : float, default 30.0
        How long the sign must stay above threshold before "Sustained pain" is raised.
    face_not_seen_s : float, default 10.0
        How long the face must be missing before "Face not seen" is raised.
    delays_s : mapping of str to float, default {}
        Condition delays for other kinds by id (their default is ``AlarmKind.delay_s``).

    Examples
    --------
    >>> AlarmSettings(delays_s={"camera_lost": 5.0}).condition_delay("camera_lost")
    5.0
    """

    audio_pause_s: float = 120.0
    pause_choices_s: tuple[float, ...] = (60.0, 120.0, 180.0)
    reminder_s: float = 150.0
    sustained_pain_s: float = 30.0
    face_not_seen_s: float = 10.0
    delays_s: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "pause_choices_s", tuple(self.pause_choices_s))
        object.__setattr__(self, "delays_s", MappingProxyType(dict(self.delays_s)))
        if not self.pause_choices_s:
            raise ValueError("pause_choices_s must offer at least one pause length")
        for choice in self.pause_choices_s:
            _check_seconds("each of pause_choices_s", choice)
            if choice == 0:
                raise ValueError("pause_choices_s must be > 0 s; 0 would be no pause")
        if self.audio_pause_s not in self.pause_choices_s:
            raise ValueError(
                f"audio_pause_s={self.audio_pause_s!r} is not one of the pause choices "
                f"{self.pause_choices_s}; pick one of them or add it to pause_choices_s"
            )
        _check_seconds("reminder_s", self.reminder_s)
        if self.reminder_s == 0:
            raise ValueError("reminder_s must be > 0 s (wait before an acknowledged alarm sounds)")
        _check_seconds("sustained_pain_s", self.sustained_pain_s)
        _check_seconds("face_not_seen_s", self.face_not_seen_s)
        for kind_id, delay in self.delays_s.items():
            get_kind(kind_id)
            if kind_id in _NAMED_DELAYS:
                raise ValueError(
                    f"set the delay of {kind_id!r} with {_NAMED_DELAYS[kind_id]}=..., "
                    "not in delays_s"
                )
            _check_seconds(f"delays_s[{kind_id!r}]", delay)

    def condition_delay(self, kind_id: str) -> float:
        """Seconds the condition of ``kind_id`` must hold before its alarm is raised."""
        kind = get_kind(kind_id)
        if kind_id in _NAMED_DELAYS:
            return float(getattr(self, _NAMED_DELAYS[kind_id]))
        return float(self.delays_s.get(kind_id, kind.delay_s))

    def changes(self, other: AlarmSettings) -> list[str]:
        """Describe the fields that differ in ``other`` as ``"name: old -> new"``."""
        out = []
        for f in dataclasses.fields(self):
            old, new = getattr(self, f.name), getattr(other, f.name)
            if f.name == "delays_s":
                old, new = dict(old), dict(new)
            if old != new:
                out.append(f"{f.name}: {old!r} -> {new!r}")
        return out
