"""Run the monitor with no window: alarms and status go to the log."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("painsign.monitor")


def run_headless(
    engine, exit_after: float | None = None, status_every_s: float = 5.0, echo=print
) -> int:
    """Run ``engine`` until its source ends, ``exit_after`` seconds pass, or Ctrl-C.

    Parameters
    ----------
    engine : MonitorEngine
        A started engine.
    exit_after : float, optional
        Stop after this many seconds of wall time.
    status_every_s : float
        Interval of the one-line status reports.
    echo : callable
        Where status lines go.

    Returns
    -------
    int
        0, or 1 when the worker failed.
    """
    start = time.monotonic()
    next_status = start
    try:
        while engine.running:
            now = time.monotonic()
            if exit_after is not None and now - start >= exit_after:
                break
            if now >= next_status:
                state = engine.snapshot()
                first = state.scorers[0]
                value = "-?-" if first.current is None else f"{first.current:.2f}"
                alarms = ", ".join(f"{a.label} ({a.state})" for a in state.alarms) or "none"
                why = f" ({state.input_reason})" if state.input_reason else ""
                echo(
                    f"t={state.elapsed_s:6.1f}s  {first.name}={value}{why}  "
                    f"type={first.sign_type or '-'}  processed "
                    f"{state.stats.processed_fps:.1f} fps  alarms: {alarms}"
                )
                next_status = now + status_every_s
            time.sleep(0.05)
    except KeyboardInterrupt:
        logger.info("interrupted")
    finally:
        engine.stop()
    return 1 if engine.error is not None else 0
