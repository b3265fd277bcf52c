"""The monitor's view of failing scorers: a technical alarm per scorer, the reason for the
screen, and a log that says so without flooding.

A scorer that fails on a frame (:attr:`FrameRecord.failed
<painsign.analysis.frames.FrameRecord.failed>`) raises "Scorer 'NAME' failed" (medium,
technical; :func:`~painsign.alarms.model.scorer_failed_id`) and its track shows ``-?-``
with the reason "scorer failed"; the other scorers, the default sign and the pain alarms
go on. The alarm ends once the scorer has scored again without a failure for
:data:`RECOVERED_S` of session time, so a scorer failing every few frames does not make
it flap. The log gets the first failure of each scorer at WARNING with its reason, then
at most one line per scorer per :data:`LOG_EVERY_S` with the count since the last line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from painsign.alarms.model import scorer_failed_id

logger = logging.getLogger("painsign.monitor")

#: Seconds of session time a failed scorer must score without failing before its alarm
#: ends.
RECOVERED_S = 2.0
#: Least seconds (monotonic) between two log lines about the same scorer's failures.
LOG_EVERY_S = 60.0


@dataclass
class _Fault:
    reason: str
    failed_t: float  # session time of the last failure
    ok_since: float | None = None  # session time from which it scored without failing


class ScorerFaults:
    """Per-scorer failure state of the monitor (call under the engine's lock).

    Parameters
    ----------
    alarms : AlarmManager
        Gets the ``scorer_failed_NAME`` conditions.
    clock : callable, optional
        Monotonic seconds for the log's rate limit (``time.monotonic``).
    """

    def __init__(self, alarms, clock: Callable[[], float] = time.monotonic):
        self.alarms = alarms
        self.clock = clock
        self._faults: dict[str, _Fault] = {}
        self._logged_at: dict[str, float] = {}  # monotonic time of the last log line
        self._unlogged: dict[str, int] = {}  # failures since then
        #: Failures per scorer since the start of the session, and the first reason.
        self.counts: dict[str, int] = {}
        self.first_reason: dict[str, str] = {}

    def update(self, name: str, t: float, failure: str | None, scored: bool) -> None:
        """Add one frame of scorer ``name``.

        Parameters
        ----------
        name : str
            The scorer's name.
        t : float
            Session time of the frame.
        failure : str or None
            Why the scorer failed on it (``FrameRecord.failed``), None if it did not.
        scored : bool
            Whether it gave a value for this frame (a frame without a face, or one a
            background scorer is busy with, is neither a failure nor a recovery).
        """
        fault = self._faults.get(name)
        if failure is not None:
            self.counts[name] = self.counts.get(name, 0) + 1
            self.first_reason.setdefault(name, failure)
            if fault is None:
                fault = self._faults[name] = _Fault(failure, t)
                self.alarms.set_condition(scorer_failed_id(name), True)
            fault.reason, fault.failed_t, fault.ok_since = failure, t, None
            self._log(name, failure)
        elif scored and fault is not None:
            if fault.ok_since is None:
                fault.ok_since = t
            if t - fault.ok_since >= RECOVERED_S:
                del self._faults[name]
                self.alarms.set_condition(scorer_failed_id(name), False)
                logger.info("scorer %r scores again", name)

    def summary(self) -> str | None:
        """``"scorer 'mine' failed on 312 frames (output NaN)"`` for every scorer that
        failed in the session, joined by "; "; None when none did."""
        parts = [
            f"scorer '{name}' failed on {n} frame{'s' if n != 1 else ''} "
            f"({self.first_reason[name]})"
            for name, n in self.counts.items()
        ]
        return "; ".join(parts) or None

    def reason(self, name: str) -> str | None:
        """Why scorer ``name`` failed, while its failure alarm holds; else None."""
        fault = self._faults.get(name)
        return None if fault is None else fault.reason

    def _log(self, name: str, reason: str) -> None:
        now = self.clock()
        last = self._logged_at.get(name)
        if last is None:
            self._logged_at[name], self._unlogged[name] = now, 0
            logger.warning(
                "scorer %r failed: %s (its sign shows -?-; the others go on; "
                "further failures are counted once a minute)",
                name,
                reason,
            )
            return
        self._unlogged[name] += 1
        if now - last >= LOG_EVERY_S:
            logger.warning(
                "scorer %r failed on %d more frames in the last %.0f s (last: %s)",
                name,
                self._unlogged[name],
                now - last,
                reason,
            )
            self._logged_at[name], self._unlogged[name] = now, 0
