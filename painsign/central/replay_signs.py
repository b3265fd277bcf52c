"""The sign types of a replayed session, as its live bedside showed them.

Sign types are not stored, so a replayed bed recomputes them: each scorer's stored samples
(time, face, the frame's raw P(pain)) go, in order, through its own
:class:`~painsign.signal.live_tracker.LiveSignTracker` built as ``painsign monitor``
builds it (the stored monitor settings, else the monitor's defaults; the default
classifier; the stored frame rate, else the median sample interval).

Every loop of a replay starts fresh trackers on the same samples, so every loop shows the
same sign types at the same session times. A :class:`SignTimeline` therefore computes
them once per session, keeping only the times where a scorer's shown type changed, and
every bed replaying that session (in any loop, from any offset) looks its position up.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading

import numpy as np

from painsign.central.recorded_sessions import RecordedSession
from painsign.monitor.settings import MonitorSettings
from painsign.signal.live_tracker import LiveSignTracker
from painsign.signal.signtypes import NearestCentroidSignTypes

logger = logging.getLogger("painsign.central")

#: Samples pushed between two publications of the results (bounds the lock hold and how
#: long a background computation keeps the GIL-sharing replay thread waiting).
CHUNK = 256

#: A scorer's shown sign: ``(sign_type or None, provisional)``.
Sign = tuple[str | None, bool]

_UNKNOWN: Sign = (None, False)


def session_fps(session: RecordedSession) -> float:
    """The frame rate the bedside's trackers used: the stored one, else the median interval
    between the first scorer's samples (30 when it cannot be told)."""
    stored = session.settings.get("fps") if isinstance(session.settings, dict) else None
    if isinstance(stored, int | float) and math.isfinite(stored) and stored > 0:
        return float(stored)
    ts = session.samples[session.scorers[0]["name"]][0]
    steps = np.diff(ts)
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if steps.size else 30.0


def monitor_settings(session: RecordedSession) -> MonitorSettings:
    """The stored monitor settings of ``session`` that shape its trackers, else the defaults
    (those of ``painsign monitor`` without options)."""
    defaults = MonitorSettings()
    stored = session.settings.get("monitor") if isinstance(session.settings, dict) else None
    if not isinstance(stored, dict):
        return defaults
    values: dict[str, float] = {}
    for name in ("span_s", "window_s", "step_s", "surge_rise", "surge_within_s"):
        v = stored.get(name)
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        values[name] = float(v) if ok and v is not None else getattr(defaults, name)
    return MonitorSettings(defaults.bed, **values)


class SignTimeline:
    """The sign type and provisional flag each scorer of ``session`` showed, by session time.

    Computed in order of session time by :meth:`compute` (by one thread at a time: the
    replay's thread, or the background thread of :meth:`compute_in_background`); read by
    :meth:`at` from any thread. A time not computed yet reads as unknown (None, False).

    Parameters
    ----------
    session : RecordedSession
    """

    def __init__(self, session: RecordedSession) -> None:
        self.session = session
        st = monitor_settings(session)
        fps = session_fps(session)
        classifier = NearestCentroidSignTypes()
        if isinstance(session.settings, dict) and session.settings.get("sign_types"):
            logger.warning(
                "%s was recorded with --sign-types %s; its replayed sign types use the "
                "built-in classifier",
                session.name,
                session.settings["sign_types"],
            )
        self._feeds: list[_Feed] = []
        for s in session.scorers:
            if s["name"] not in session.samples:
                continue
            ts, face, p = session.samples[s["name"]]
            tracker = LiveSignTracker(
                s["threshold"],
                fps,
                span_s=st.span_s,
                window_s=st.window_s,
                step_s=st.step_s,
                surge_rise=st.surge_rise,
                surge_within_s=st.surge_within_s,
                classifier=classifier,
            )
            raw = session.p_raw.get(s["name"], p)
            self._feeds.append(_Feed(s["name"], tracker, ts.tolist(), face.tolist(), raw.tolist()))
        self._lock = threading.Lock()
        # Per scorer: the times where the shown sign changed, and the sign from then on.
        self._times: dict[str, list[float]] = {f.name: [] for f in self._feeds}
        self._signs: dict[str, list[Sign]] = {f.name: [] for f in self._feeds}
        self._known_below = min((f.bound() for f in self._feeds), default=math.inf)
        self._background = False
        self._failed = False

    @property
    def background(self) -> bool:
        """Whether a background thread computes the whole timeline."""
        return self._background

    def compute_in_background(self) -> None:
        """Compute the whole timeline in a daemon thread (the replay never waits for it; a
        bed shows no sign type until its position is computed)."""
        if self._background:
            return
        self._background = True
        threading.Thread(
            target=self.compute, args=(math.inf,), name="painsign-replay-signs", daemon=True
        ).start()

    def compute(self, until: float) -> None:
        """Push every sample with ``t <= until`` not pushed yet, :data:`CHUNK` at a time."""
        while not self._failed:
            changes: list[tuple[str, float, Sign]] = []
            more = False
            try:
                for f in self._feeds:
                    f.push_until(until, changes)
                    more = more or (f.i < len(f.ts) and f.ts[f.i] <= until)
            except (ValueError, TypeError) as exc:  # a damaged row: no sign types after it
                logger.warning("%s: sign types stop at a bad sample: %s", self.session.name, exc)
                self._failed = True
            with self._lock:
                for name, t, sign in changes:
                    self._times[name].append(t)
                    self._signs[name].append(sign)
                self._known_below = min((f.bound() for f in self._feeds), default=math.inf)
            if not more:
                return

    def at(self, name: str, t: float) -> Sign:
        """Scorer ``name``'s shown sign after the samples with time up to ``t``."""
        with self._lock:
            if t >= self._known_below or name not in self._times:
                return _UNKNOWN
            i = bisect.bisect_right(self._times[name], t) - 1
            return self._signs[name][i] if i >= 0 else _UNKNOWN


class _Feed:
    """One scorer's samples and tracker; touched only by the computing thread."""

    def __init__(self, name: str, tracker: LiveSignTracker, ts: list, face: list, raw: list):
        self.name, self.tracker = name, tracker
        self.ts, self.face, self.raw = ts, face, raw
        self.i = 0  # the next sample
        self.last: Sign = _UNKNOWN

    def bound(self) -> float:
        """Every session time below this is computed."""
        return self.ts[self.i] if self.i < len(self.ts) else math.inf

    def push_until(self, until: float, changes: list) -> None:
        """Push up to :data:`CHUNK` samples with ``t <= until``; note each change of the
        shown sign in ``changes``."""
        tracker, stop = self.tracker, min(self.i + CHUNK, len(self.ts))
        while self.i < stop and self.ts[self.i] <= until:
            t = self.ts[self.i]
            tracker.push(t, self.raw[self.i], bool(self.face[self.i]))
            self.i += 1
            w = tracker.sign
            sign = _UNKNOWN if w is None else (str(w.sign_type), tracker.window is None)
            if sign != self.last:
                changes.append((self.name, t, sign))
                self.last = sign
