"""The alarm system: priorities, alarm kinds, a state machine and IEC-style sounds.

Qt-free and clock-driven, so it runs the same under a bedside dashboard, a replay or a
test with :class:`FakeClock`:

* :mod:`~painsign.alarms.clock` -- monotonic clocks (real and fake).
* :mod:`~painsign.alarms.model` -- :class:`Priority` (colour, flashing, sound burst),
  :class:`AlarmKind` definitions (:data:`KINDS`) and :class:`AlarmSettings`.
* :mod:`~painsign.alarms.manager` -- :class:`AlarmManager`: condition delays, latching,
  acknowledgement, reminders, audio pause with breakthrough, and a log of every transition.
* :mod:`~painsign.alarms.sounds` -- burst patterns, WAV synthesis and pulse analysis.

Behaviour imitates monitors that follow IEC 60601-1-8.
"""

from painsign.alarms.clock import Clock, FakeClock, MonotonicClock
from painsign.alarms.manager import (
    AUDIO_PAUSE,
    SETTINGS,
    AlarmLogEntry,
    AlarmManager,
    AlarmState,
)
from painsign.alarms.model import (
    AUDIO_FAILURE,
    CAMERA_FROZEN,
    CAMERA_LOST,
    FACE_NOT_SEEN,
    INFERENCE_ERROR,
    KINDS,
    PAIN_SURGE,
    SUSTAINED_PAIN,
    AlarmId,
    AlarmKind,
    AlarmSettings,
    Priority,
    State,
    get_kind,
)
from painsign.alarms.sounds import (
    ALARM_WAV,
    FUNDAMENTAL_HZ,
    HARMONIC_DB,
    SAMPLE_RATE,
    burst_pattern,
    count_pulses,
    pulse_onsets,
    pulse_segments,
    read_wav,
    synthesize_burst,
    write_wav,
)

__all__ = [
    "ALARM_WAV",
    "AUDIO_FAILURE",
    "AUDIO_PAUSE",
    "CAMERA_FROZEN",
    "CAMERA_LOST",
    "FACE_NOT_SEEN",
    "FUNDAMENTAL_HZ",
    "HARMONIC_DB",
    "INFERENCE_ERROR",
    "KINDS",
    "PAIN_SURGE",
    "SAMPLE_RATE",
    "SETTINGS",
    "SUSTAINED_PAIN",
    "AlarmId",
    "AlarmKind",
    "AlarmLogEntry",
    "AlarmManager",
    "AlarmSettings",
    "AlarmState",
    "Clock",
    "FakeClock",
    "MonotonicClock",
    "Priority",
    "State",
    "burst_pattern",
    "count_pulses",
    "get_kind",
    "pulse_onsets",
    "pulse_segments",
    "read_wav",
    "synthesize_burst",
    "write_wav",
]
