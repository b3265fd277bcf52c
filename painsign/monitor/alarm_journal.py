"""The monitor's alarm journal: every alarm-system change as a row on screen, in the log
and in the recorder, and the needs-review advisory (not an alarm)."""

from __future__ import annotations

import logging
from collections import deque

from painsign.alarms import AUDIO_PAUSE, SETTINGS, AlarmLogEntry, get_kind
from painsign.monitor.ports import Recorder
from painsign.monitor.state import AlarmLogRow
from painsign.signal.review import needs_review

logger = logging.getLogger("painsign.monitor")


class AlarmJournal:
    """What happened to the alarms, for the view, the log and the database.

    Attributes
    ----------
    rows : deque of AlarmLogRow
        The latest 200 rows shown in the alarm log (pending changes left out).
    log : deque of (t, name, change, priority)
        The latest 100 rows in short.
    advisory : str or None
        Why the latest window of the first scorer needs review; None when it does not.
    """

    def __init__(self) -> None:
        self.rows: deque[AlarmLogRow] = deque(maxlen=200)
        self.log: deque[tuple[float, str, str, str]] = deque(maxlen=100)
        self.advisory: str | None = None
        self._raised_at: dict[str, float] = {}

    def alarm_changed(
        self, entry: AlarmLogEntry, t: float, recorder: Recorder | None = None
    ) -> None:
        """Journal one change of the alarm manager at session time ``t``; ``recorder``
        stores it."""
        row = log_row(entry, t, self._raised_at)
        if row is not None:
            self.rows.append(row)
            self.log.append((t, row.name, row.change, (row.priority or "").upper()))
        level = logging.WARNING if entry.state in ("active", "latched") else logging.INFO
        logger.log(
            level,
            "alarm %s %s (%s)%s",
            entry.kind,
            entry.state,
            getattr(entry.priority, "name", entry.priority),
            f": {entry.note}" if entry.note else "",
        )
        if recorder is not None:
            recorder.add_alarm(
                t,
                entry.kind,
                getattr(entry.priority, "name", str(entry.priority)).lower(),
                entry.state,
                entry.note,
            )

    def review(self, window, threshold: float, t: float, recorder: Recorder | None = None) -> None:
        """Set or clear the advisory from the latest sign-type ``window`` of the first
        scorer (:func:`~painsign.signal.review.needs_review`), at session time ``t``;
        ``recorder`` stores each change."""
        flag, reason = needs_review(window.mean, threshold, str(window.sign_type))
        advisory = reason if flag else None
        if advisory != self.advisory:
            logger.info("advisory: %s", advisory or "cleared")
            if recorder is not None:
                recorder.add_alarm(
                    t, "needs_review", "advisory", "active" if flag else "cleared", reason
                )
            self.advisory = advisory


def log_row(entry: AlarmLogEntry, t: float, raised_at: dict[str, float]) -> AlarmLogRow | None:
    """The on-screen row for an alarm-system change, or None for one that does not matter.

    "pending" rows (a condition whose delay runs) and conditions that ended before their
    delay are dropped (the database keeps them). ``raised_at`` (kind -> session time)
    is updated here and gives the length of an alarm when it ends.

    Parameters
    ----------
    entry : AlarmLogEntry
    t : float
        Session time of the change.
    raised_at : dict
        Kept between calls by the caller.
    """
    state, kind, note = str(entry.state), entry.kind, entry.note or ""
    if kind == AUDIO_PAUSE:
        change = "paused" if state == "paused" else "resumed"
        if change == "paused":
            length = note.split(" s;")[0].replace("audio paused for ", "")
            text = f"Audio paused for {length} s"
        else:
            text = "Audio resumed (pause cancelled)" if "cancel" in note else "Audio resumed"
        return AlarmLogRow(t, kind, "Audio pause", None, change, text)
    if kind == SETTINGS:
        return AlarmLogRow(t, kind, "Settings", None, "changed", f"Settings changed: {note}")
    try:
        name = get_kind(kind).label  # also "Scorer 'NAME' failed"
    except ValueError:
        name = kind.replace("_", " ").capitalize()
    priority = entry.priority.label if entry.priority is not None else None
    if state == "pending" or (state == "inactive" and "before its" in note):
        return None
    if state == "active":
        if "reminder" in note:
            return AlarmLogRow(t, kind, name, priority, "reminder", f"{name} reminder")
        raised_at[kind] = t
        extra = " (sounds through the pause)" if "sounds through" in note else ""
        again = " again" if "again" in note or "returned" in note else ""
        why = f": {note.split('; because ', 1)[1]}" if "; because " in note else ""
        return AlarmLogRow(t, kind, name, priority, "raised", f"{name} raised{again}{extra}{why}")
    if state == "latched":
        return AlarmLogRow(
            t,
            kind,
            name,
            priority,
            "latched",
            f"{name} latched: condition ended, acknowledge to clear",
        )
    if state == "acknowledged":
        # "acknowledged from the central station at HOST by USER; sounds again ..."
        remote = note.split(";")[0].removeprefix("acknowledged").split(" after its")[0]
        return AlarmLogRow(t, kind, name, priority, "acknowledged", f"{name} acknowledged{remote}")
    since = raised_at.pop(kind, None)
    length = f" after {t - since:.0f} s" if since is not None else ""
    return AlarmLogRow(t, kind, name, priority, "ended", f"{name} ended{length}")
