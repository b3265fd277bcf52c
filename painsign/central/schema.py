"""The JSON payloads a bedside publishes to the central station, schema version 1.

Every payload is a JSON object (UTF-8) with these common fields:

``schema`` : str
    Always ``"painsign/v1"``; a reader refuses any other value.
``kind`` : str
    ``"state"``, ``"alarm"``, ``"session"``, ``"status"`` (bedside to central) or ``"ack"``
    (central to bedside, ``painsign central --remote-ack``): the last level of its topic.
``unit``, ``bed`` : str
    The unit and bed labels as given (``--unit``, ``--bed``). No names, no images: bed and
    unit labels only.
``time_utc`` : str
    When the payload was made, ISO 8601 UTC with milliseconds
    (``"2026-11-27T21:06:41.123Z"``).

The topics are ``painsign/v1/UNIT/BED/KIND`` (:func:`topic`), UNIT and BED made safe for a
topic level by :func:`topic_label`. The fields of each kind are listed in :data:`FIELDS`
and described in :func:`state_fields`, :func:`alarm_fields`, :func:`session_fields`,
:func:`status_fields` and :func:`ack_fields`; :func:`validate` checks a payload against them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

#: The ``schema`` value of version 1.
SCHEMA = "painsign/v1"

#: The payload kinds, each the last level of its topic.
KINDS = ("state", "alarm", "session", "status", "ack")

_NUMBER = (int, float)
_OPT_STR = (str, type(None))
_OPT_NUMBER = (int, float, type(None))

_COMMON = {"schema": str, "kind": str, "unit": str, "bed": str, "time_utc": str}


def state_fields() -> dict[str, object]:
    """The fields of a ``state`` payload (retained, about once a second).

    ``session_t`` : float
        Session time in seconds (never goes back).
    ``input_state`` : str
        ``starting``, ``live``, ``no_face``, ``camera_lost``, ``camera_frozen``,
        ``ended``, ``refused`` or ``paused`` (:data:`painsign.monitor.state.INPUT_STATES`).
    ``input_reason`` : str
        Why the value is invalid, in words ("no face for 4 s"); ``""`` when live.
    ``scorers`` : list of object
        One per scorer, the first drives the pain alarms: ``name`` (str), ``threshold``
        (float), ``value`` (float in [0, 1], or null when invalid), ``invalid`` (str: why
        the value is null, e.g. the input reason or "scorer failed: output NaN"; null when
        valid), ``sign_type`` (str or null), ``provisional`` (bool).
    ``alarms`` : list of object
        Present alarms, highest priority first: ``kind``, ``label``, ``priority``
        (``high``/``medium``/``low``), ``state`` (``active``/``latched``/``acknowledged``),
        ``technical`` (bool).
    ``audio_paused`` : bool
        Whether the bedside's alarm sound is paused.
    ``advisory`` : str or null
        Why the latest window needs review (not an alarm).

    Returns
    -------
    dict
        Field name -> allowed type(s).
    """
    return {
        "session_t": _NUMBER,
        "input_state": str,
        "input_reason": str,
        "scorers": list,
        "alarms": list,
        "audio_paused": bool,
        "advisory": _OPT_STR,
    }


def alarm_fields() -> dict[str, object]:
    """The fields of an ``alarm`` payload (QoS 1, not retained): one alarm-system change as
    the bedside logs it.

    ``seq`` : int
        Number of the change at this bedside, from 1; a gap means lost messages.
    ``session_t`` : float
        Session time of the change (s).
    ``alarm_kind`` : str
        Alarm kind id (``sustained_pain``, ``central_link_lost``, ``scorer_failed_NAME``),
        or ``audio_pause`` / ``settings``.
    ``label`` : str
        Display name ("Sustained pain").
    ``priority`` : str or null
        ``high``, ``medium``, ``low``; null for audio pauses and settings.
    ``state`` : str
        State after the change: ``pending``, ``active``, ``latched``, ``acknowledged``,
        ``inactive``; ``paused`` / ``resumed`` for audio pauses; ``changed`` for settings.
    ``note`` : str
        What happened, in words.
    ``queued`` : bool
        True when it was kept while the broker could not be reached and sent later.
    ``dropped`` : int
        Alarm messages dropped so far at this bedside (the oldest go first when the
        queue of a lost link is full).

    Returns
    -------
    dict
        Field name -> allowed type(s).
    """
    return {
        "seq": int,
        "session_t": _NUMBER,
        "alarm_kind": str,
        "label": str,
        "priority": _OPT_STR,
        "state": str,
        "note": str,
        "queued": bool,
        "dropped": int,
    }


def session_fields() -> dict[str, object]:
    """The fields of a ``session`` payload (retained, once per connection).

    ``source_kind`` : str
        ``camera``, ``stream`` or ``file``.
    ``scorers`` : list of object
        ``name``, ``display_name``, ``threshold`` of each scorer, the first driving the
        pain alarms.
    ``software_version`` : str
        The painsign version of the bedside.
    ``demo`` : bool
        Whether the alarm delays are shortened for a demonstration.

    Returns
    -------
    dict
        Field name -> allowed type(s).
    """
    return {"source_kind": str, "scorers": list, "software_version": str, "demo": bool}


def status_fields() -> dict[str, object]:
    """The fields of a ``status`` payload (retained): ``online`` on connecting; ``offline``
    as the MQTT last will (a killed or unplugged bedside) or on a clean stop.

    ``status`` : str
        ``online`` or ``offline``.
    ``reason`` : str
        ``connected``, ``last will`` or ``stopped``.

    Returns
    -------
    dict
        Field name -> allowed type(s).
    """
    return {"status": str, "reason": str}


def ack_fields() -> dict[str, object]:
    """The fields of an ``ack`` payload (QoS 1, not retained), the only kind the central
    station sends: acknowledge alarms at a bed from the central station
    (``painsign central --remote-ack``). The bedside acknowledges them as its own button
    does and logs who and where. ``unit`` and ``bed`` name the bed acknowledged.

    ``who`` : str
        Who acknowledged: the central station's MQTT user, else its operating-system user.
    ``where`` : str
        The central station's host name.
    ``alarm_kinds`` : list of str
        The alarm kind ids acknowledged: those the central station showed sounding (active
        or latched) at that bed; an alarm raised at the bed since is not acknowledged.

    Returns
    -------
    dict
        Field name -> allowed type(s).
    """
    return {"who": str, "where": str, "alarm_kinds": list}


#: The fields of each kind besides the common ones, name -> allowed type(s).
FIELDS: dict[str, dict[str, object]] = {
    "state": state_fields(),
    "alarm": alarm_fields(),
    "session": session_fields(),
    "status": status_fields(),
    "ack": ack_fields(),
}

_ITEM_FIELDS = {
    ("state", "scorers"): {
        "name": str,
        "threshold": _NUMBER,
        "value": _OPT_NUMBER,
        "invalid": _OPT_STR,
        "sign_type": _OPT_STR,
        "provisional": bool,
    },
    ("state", "alarms"): {
        "kind": str,
        "label": str,
        "priority": str,
        "state": str,
        "technical": bool,
    },
    ("session", "scorers"): {"name": str, "display_name": str, "threshold": _NUMBER},
}

_CHOICES = {
    ("status", "status"): ("online", "offline"),
    ("status", "reason"): ("connected", "last will", "stopped"),
    ("session", "source_kind"): ("camera", "stream", "file"),
    ("alarm", "priority"): ("high", "medium", "low", None),
}


def _type_ok(value, types) -> bool:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        return False  # a JSON true is not a number
    return isinstance(value, types)  # type: ignore[arg-type]


def _check_object(obj, fields: dict, where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where} is not an object"]
    problems = [f"{where} lacks {name!r}" for name in fields if name not in obj]
    problems += [f"{where} has an unknown field {name!r}" for name in obj if name not in fields]
    for name, types in fields.items():
        if name in obj and not _type_ok(obj[name], types):
            problems.append(f"{where}[{name!r}] has the wrong type: {obj[name]!r}")
    return problems


def validate(kind: str, payload: object) -> None:
    """Check ``payload`` (a decoded JSON object) against schema v1 of ``kind``.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    payload : object

    Raises
    ------
    ValueError
        Listing every problem: a missing, unknown or mistyped field, a wrong ``schema`` or
        ``kind``, a value out of its choices, a state value outside [0, 1].
    """
    if kind not in FIELDS:
        raise ValueError(f"unknown payload kind {kind!r}; known: {', '.join(KINDS)}")
    problems = _check_object(payload, {**_COMMON, **FIELDS[kind]}, kind)
    if isinstance(payload, dict):
        if payload.get("schema") != SCHEMA:
            problems.append(f"schema is {payload.get('schema')!r}, not {SCHEMA!r}")
        if payload.get("kind") != kind:
            problems.append(f"kind is {payload.get('kind')!r}, not {kind!r}")
        for (k, name), choices in _CHOICES.items():
            if k == kind and name in payload and payload[name] not in choices:
                problems.append(f"{name} is {payload[name]!r}, not one of {choices}")
        for (k, name), item_fields in _ITEM_FIELDS.items():
            if k == kind and isinstance(payload.get(name), list):
                for i, item in enumerate(payload[name]):
                    problems += _check_object(item, item_fields, f"{kind}.{name}[{i}]")
        if kind == "ack" and isinstance(payload.get("alarm_kinds"), list):
            if not all(isinstance(k, str) and k for k in payload["alarm_kinds"]):
                problems.append(f"alarm_kinds {payload['alarm_kinds']!r} are not all names")
        if kind == "state" and isinstance(payload.get("scorers"), list):
            for item in payload["scorers"]:
                value = item.get("value") if isinstance(item, dict) else None
                if isinstance(value, _NUMBER) and not 0.0 <= value <= 1.0:
                    problems.append(f"scorer value {value!r} is outside [0, 1]")
        try:
            parse_time(payload.get("time_utc"))
        except (TypeError, ValueError):
            problems.append(f"time_utc {payload.get('time_utc')!r} is not ISO 8601 UTC")
    if problems:
        raise ValueError("; ".join(problems))


def now_utc() -> str:
    """The current time as ``time_utc`` writes it (ISO 8601 UTC, milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text) -> datetime:
    """Read a ``time_utc`` value back (aware, UTC).

    Raises
    ------
    ValueError
        When it is not ISO 8601 with a ``Z`` or ``+00:00`` zone.
    """
    if not isinstance(text, str) or not text.endswith(("Z", "+00:00")):
        raise ValueError(f"not a UTC time: {text!r}")
    return datetime.fromisoformat(text)


def topic_label(label: str) -> str:
    """A label made safe for one topic level: lower case, runs of characters other than
    a-z, 0-9, ``_`` and ``-`` become ``-`` (``"Bed 12"`` -> ``"bed-12"``).

    Raises
    ------
    ValueError
        When nothing usable is left.
    """
    safe = re.sub(r"[^a-z0-9_-]+", "-", label.strip().lower()).strip("-")
    if not safe:
        raise ValueError(f"label {label!r} has no letter or digit for an MQTT topic")
    return safe


def topic(unit: str, bed: str, kind: str) -> str:
    """The topic of ``kind`` for a bed: ``painsign/v1/UNIT/BED/KIND``."""
    return f"painsign/v1/{topic_label(unit)}/{topic_label(bed)}/{kind}"


def envelope(kind: str, unit: str, bed: str, **fields) -> dict:
    """A payload of ``kind`` with the common fields filled in and ``fields`` added."""
    return {
        "schema": SCHEMA,
        "kind": kind,
        "unit": unit,
        "bed": bed,
        "time_utc": now_utc(),
        **fields,
    }
