"""What the central station window shows, decided without Qt: tiles, alarms, sound, pause.

:class:`CentralOverview` reads a :class:`~painsign.central.central.CentralStation`'s beds
(:meth:`~painsign.central.central.CentralStation.snapshot`, safe from any thread) and
gives one :class:`BedView` per bed, in tile order:

- beds with a present alarm first, highest priority first, then by bed label (natural
  order: "bed 2" before "bed 10"), then the quiet beds by label;
- a bed whose status is ``offline`` or whose last state is older than
  :data:`~painsign.central.central.STALE_S` gets the central's own medium-priority
  technical alarm "Bed N offline", with its own start time; its value is ``-?-`` and its
  bedside alarms, no longer known, are not shown as current;
- the alarm the central sounds is the highest-priority (then oldest) active or latched
  alarm across beds (acknowledged alarms are silent, as at the bedside);
- the central's own audio pause (2 min) silences every alarm except one of higher
  priority than all those present when the pause began (only high ones when none was
  present), the bedside's rule (:meth:`painsign.alarms.AlarmManager.pause_audio`).
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from painsign.alarms import AlarmSettings, Priority
from painsign.central.central import STALE_S, Bed
from painsign.central.schema import now_utc

INVALID = "-?-"
#: Alarm kind id of the central's "Bed N offline" alarm.
BED_OFFLINE = "bed_offline"
#: Central-side log entries kept per bed.
CENTRAL_LOG_LIMIT = 500

_PRIORITIES = {p.label: p for p in Priority}
_AUDIBLE = ("active", "latched")


@dataclass(frozen=True)
class CentralAlarm:
    """One alarm present at a bed, as the central shows it.

    Attributes
    ----------
    unit, bed : str
        The bed it belongs to.
    kind, label : str
        Alarm kind id and display name ("Sustained pain", "Bed 3 offline").
    priority : Priority
    state : str
        ``active``, ``latched`` or ``acknowledged``.
    technical : bool
    since : float
        Monotonic time the central first saw it.
    """

    unit: str
    bed: str
    kind: str
    label: str
    priority: Priority
    state: str
    technical: bool
    since: float

    @property
    def audible(self) -> bool:
        """Whether it sounds (active or latched; acknowledged alarms are silent)."""
        return self.state in _AUDIBLE


@dataclass(frozen=True)
class BedView:
    """One tile: what the central shows of a bed now.

    Attributes
    ----------
    unit, bed : str
        Labels as the bedside sent them.
    online : bool
        False when offline (status or a stale state).
    scorer : str
        The first scorer's name ("" before any state).
    value_text : str
        ``"0.42"``, or ``-?-`` when there is no valid value now.
    reason : str
        Why the value is ``-?-`` ("" when valid).
    sign_type : str
        The sign type text ("" when not known).
    threshold : float or None
        The first scorer's threshold.
    alarms : tuple of CentralAlarm
        Present alarms, highest priority first, then oldest.
    trend_t, trend_p : numpy.ndarray
        The kept trend: seconds relative to now (<= 0) and values (NaN when invalid).
    version : int
        The station's change counter of the bed.
    """

    unit: str
    bed: str
    online: bool
    scorer: str
    value_text: str
    reason: str
    sign_type: str
    threshold: float | None
    alarms: tuple[CentralAlarm, ...]
    trend_t: np.ndarray = field(repr=False)
    trend_p: np.ndarray = field(repr=False)
    version: int = 0

    @property
    def key(self) -> tuple[str, str]:
        """``(unit, bed)``."""
        return (self.unit, self.bed)

    @property
    def top(self) -> CentralAlarm | None:
        """The highest-priority present alarm, or None."""
        return self.alarms[0] if self.alarms else None

    @property
    def visual(self) -> tuple[str, float] | None:
        """``(colour, flash_hz)`` of the top alarm, as at the bedside; None without one."""
        top = self.top
        return (top.priority.colour, top.priority.flash_hz) if top is not None else None


def natural_key(label: str) -> tuple:
    """Sort key that orders the numbers in a label by value ("bed 2" before "bed 10").

    Examples
    --------
    >>> sorted(["bed 10", "Bed 2", "bed 1"], key=natural_key)
    ['bed 1', 'Bed 2', 'bed 10']
    """
    parts = re.split(r"(\d+)", label.strip().lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def offline_label(bed: str) -> str:
    """The offline alarm's text: "Bed N offline" (N the bed label).

    Examples
    --------
    >>> offline_label("12"), offline_label("bed 3")
    ('Bed 12 offline', 'Bed 3 offline')
    """
    label = bed.strip()
    if label.lower().startswith("bed"):
        label = label[3:].strip()
    return f"Bed {label} offline"


def _order(view: BedView) -> tuple:
    top = view.top
    return (
        0 if top is not None else 1,
        -int(top.priority) if top is not None else 0,
        natural_key(view.bed),
        natural_key(view.unit),
    )


def _alarm_order(alarm: CentralAlarm) -> tuple:
    return (-int(alarm.priority), alarm.since, alarm.label)


class CentralOverview:
    """The central window's model: tiles, the sounding alarm and the central audio pause.

    Parameters
    ----------
    station : CentralStation
        Anything with ``snapshot()`` (a list of beds), ``host``, ``port`` and
        ``connected``.
    clock : callable
        Monotonic time in seconds (a fake one in tests).
    pause_s : float
        Length of the central's audio pause (the bedside default, 2 minutes).
    """

    def __init__(self, station, clock=time.monotonic, pause_s: float | None = None):
        self.station = station
        self.clock = clock
        self.pause_s = AlarmSettings().audio_pause_s if pause_s is None else float(pause_s)
        self.views: list[BedView] = []
        self._offline_since: dict[tuple[str, str], float] = {}
        self._seen: dict[tuple[str, str, str], float] = {}
        self._central_log: dict[tuple[str, str], deque] = {}
        self._pause_until: float | None = None
        self._ceiling: Priority | None = None
        self._beds: dict[tuple[str, str], Bed] = {}

    # -- tiles ----------------------------------------------------------------------------

    def refresh(self, now: float | None = None) -> list[BedView]:
        """Read the station and return the tiles in order (also kept in :attr:`views`).

        Parameters
        ----------
        now : float, optional
            Monotonic time (the clock's by default).

        Returns
        -------
        list of BedView
        """
        now = self.clock() if now is None else now
        beds = self.station.snapshot()
        self._beds = {(b.unit, b.bed): b for b in beds}
        views = [self._view(bed, now) for bed in beds]
        present = {(a.unit, a.bed, a.kind) for v in views for a in v.alarms}
        self._seen = {k: t for k, t in self._seen.items() if k in present}
        views.sort(key=_order)
        self.views = views
        if self._pause_until is not None and now >= self._pause_until:
            self._pause_until = self._ceiling = None
        return views

    def _since(self, key: tuple[str, str, str], now: float) -> float:
        return self._seen.setdefault(key, now)

    def _view(self, bed, now: float) -> BedView:
        stale = bed.state_at is not None and now - bed.state_at > STALE_S
        online = bed.online and not stale
        state = bed.state
        first = state["scorers"][0] if state and state["scorers"] else None
        if not online:
            reason = bed.offline_reason if not bed.online else f"no state for {STALE_S:g} s"
            alarms: tuple[CentralAlarm, ...] = (self._offline_alarm(bed, reason, now),)
            value_text, why = INVALID, f"offline: {reason}"
        else:
            self._back_online(bed, now)
            alarms = tuple(
                sorted(
                    (
                        CentralAlarm(
                            bed.unit,
                            bed.bed,
                            a["kind"],
                            a["label"],
                            _PRIORITIES.get(a["priority"], Priority.LOW),
                            a["state"],
                            a["technical"],
                            self._since((bed.unit, bed.bed, a["kind"]), now),
                        )
                        for a in (state["alarms"] if state else ())
                    ),
                    key=_alarm_order,
                )
            )
            if first is None:
                value_text, why = INVALID, "no state yet" if state is None else "no scorer"
            elif first["value"] is None:
                value_text, why = INVALID, first["invalid"] or state["input_reason"]
            else:
                value_text, why = f"{first['value']:.2f}", ""
        t = np.array([p[0] - now for p in bed.trend], float)
        p = np.array([np.nan if p[1] is None else p[1] for p in bed.trend], float)
        return BedView(
            unit=bed.unit,
            bed=bed.bed,
            online=online,
            scorer=first["name"] if first else "",
            value_text=value_text,
            reason=why,
            sign_type=_sign_type(first, online),
            threshold=float(first["threshold"]) if first else None,
            alarms=alarms,
            trend_t=t,
            trend_p=p,
            version=bed.version,
        )

    def _offline_alarm(self, bed, reason: str, now: float) -> CentralAlarm:
        key = (bed.unit, bed.bed)
        if key not in self._offline_since:
            self._offline_since[key] = now
            self._log(key, offline_label(bed.bed), "active", f"offline: {reason}")
        return CentralAlarm(
            bed.unit,
            bed.bed,
            BED_OFFLINE,
            offline_label(bed.bed),
            Priority.MEDIUM,
            "active",
            True,
            self._since((bed.unit, bed.bed, BED_OFFLINE), self._offline_since[key]),
        )

    def _back_online(self, bed, now: float) -> None:
        key = (bed.unit, bed.bed)
        if self._offline_since.pop(key, None) is not None:
            self._log(key, offline_label(bed.bed), "inactive", "back online")

    def _log(self, key: tuple[str, str], label: str, state: str, note: str) -> None:
        log = self._central_log.setdefault(key, deque(maxlen=CENTRAL_LOG_LIMIT))
        entry = {"time_utc": now_utc(), "label": label, "priority": "medium"}
        log.append({**entry, "state": state, "note": note, "central": True})

    def log(self, key: tuple[str, str]) -> list[dict]:
        """A bed's alarm log: the bedside's alarm messages and the central's own entries
        ("Bed N offline"), oldest first; each has ``time_utc``, ``label``, ``priority``,
        ``state`` and ``note``."""
        bed = self._beds.get(key)
        received = list(bed.alarms) if bed is not None else []
        merged = received + list(self._central_log.get(key, ()))
        return sorted(merged, key=lambda e: e["time_utc"])

    def find(self, key: tuple[str, str]) -> BedView | None:
        """The tile of ``key`` at the last :meth:`refresh`, or None."""
        return next((v for v in self.views if v.key == key), None)

    def title(self, view: BedView) -> str:
        """The label of a tile: the bed, with its unit when several units are shown."""
        units = {v.unit for v in self.views}
        return view.bed if len(units) <= 1 else f"{view.unit} {view.bed}"

    def connection_text(self) -> str | None:
        """ "No connection to the broker HOST:PORT (retrying)" while not connected; the
        broker's refusal (user name, password, TLS) when it refused the central station;
        the link's problem while another client keeps taking its session."""
        where = f"{self.station.host}:{self.station.port}"
        refused = getattr(self.station, "refused", None)
        if refused:
            return f"The broker {where} refused the central station: {refused}"
        problem = getattr(self.station, "link_problem", None)
        if problem:
            return f"Unsteady link to the broker {where}: {problem}"
        if getattr(self.station, "connected", False):
            return None
        return f"No connection to the broker {where} (retrying)"

    # -- sound and pause --------------------------------------------------------------

    def present(self) -> list[CentralAlarm]:
        """Every alarm present at any bed, highest priority first, then oldest."""
        return sorted((a for v in self.views for a in v.alarms), key=_alarm_order)

    def sounding(self, now: float | None = None) -> CentralAlarm | None:
        """The one alarm the central sounds now (of the last :meth:`refresh`), or None."""
        now = self.clock() if now is None else now
        paused = self.pause_remaining(now) > 0
        for alarm in self.present():
            if alarm.audible and (
                not paused or (self._ceiling is not None and alarm.priority > self._ceiling)
            ):
                return alarm
        return None

    def pause_audio(self, now: float | None = None) -> bool:
        """Silence the central for :attr:`pause_s` (not the beds); False if already paused."""
        now = self.clock() if now is None else now
        if self.pause_remaining(now) > 0:
            return False
        self._ceiling = max((a.priority for a in self.present()), default=Priority.MEDIUM)
        self._pause_until = now + self.pause_s
        return True

    def cancel_pause(self) -> bool:
        """End the central's audio pause; False if it was not paused."""
        paused = self._pause_until is not None
        self._pause_until = self._ceiling = None
        return paused

    def pause_remaining(self, now: float | None = None) -> float:
        """Seconds left in the central's audio pause (0.0 when none)."""
        now = self.clock() if now is None else now
        if self._pause_until is None:
            return 0.0
        return max(0.0, self._pause_until - now)


def _sign_type(first: dict | None, online: bool) -> str:
    if first is None or not first["sign_type"]:
        return ""
    text = first["sign_type"].upper() + (" (so far)" if first["provisional"] else "")
    return text if online and first["value"] is not None else f"last: {text}"
