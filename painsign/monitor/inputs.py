"""What state the monitor's input is in, and why, in words (no Qt).

:func:`classify_input` maps the frame source's status, whether frames ever came, the
latest face and a replay pause to one of :data:`~painsign.monitor.state.INPUT_STATES`;
:func:`input_reason` says why for the screen.
"""

from __future__ import annotations

import math

#: Input states in which the last frame is not the current picture.
STALE_INPUT = frozenset({"starting", "camera_lost", "camera_frozen", "ended", "refused"})
#: Input states that start a gap in the sign (an outage).
OUTAGE_INPUT = frozenset({"camera_lost", "camera_frozen", "refused"})


def classify_input(status: str, frames_seen: bool, face: bool, paused: bool = False) -> str:
    """The input state from the source status and what the pipeline has seen.

    Parameters
    ----------
    status : str
        The source status ("starting", "ok", "lost", "frozen", "reconnecting", "ended",
        "failed").
    frames_seen : bool
        Whether the source ever delivered a frame that was processed.
    face : bool
        Whether a face was measured in the latest processed frame.
    paused : bool
        A replay paused by the operator.

    Returns
    -------
    str

    Examples
    --------
    >>> classify_input("reconnecting", False, False), classify_input("lost", True, True)
    ('refused', 'camera_lost')
    >>> classify_input("ok", True, False), classify_input("ok", True, True)
    ('no_face', 'live')
    """
    if status == "ended":
        return "ended"
    if status == "frozen":
        return "camera_frozen"
    if status in ("lost", "reconnecting", "failed"):
        return "camera_lost" if frames_seen else "refused"
    if paused:
        return "paused"
    if not frames_seen:
        return "starting"
    return "live" if face else "no_face"


def clock_text(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) of a media position.

    Examples
    --------
    >>> clock_text(75.4), clock_text(3725)
    ('1:15', '1:02:05')
    """
    if seconds is None or not math.isfinite(seconds):
        return "-:--"
    s = int(max(0.0, seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _short(message: str) -> str:
    """The source message without the reconnection schedule."""
    return (message or "").split("; reopening in")[0].strip()


def input_reason(
    state: str,
    *,
    for_s: float,
    message: str,
    source: str,
    media_t: float | None,
    live: bool,
    damage: str | None = None,
    ended_early: bool = False,
    duration: float | None = None,
) -> str:
    """Why the input is in ``state``, for the screen ("" when live).

    ``damage`` (how a replayed file is damaged), ``ended_early`` (it ended before the
    frames it announces) and ``duration`` (its announced length, s) complete the reason
    of an ended replay.

    Examples
    --------
    >>> input_reason("camera_lost", for_s=12.2, message="cannot open: connection refused; "
    ...              "reopening in 2 s (attempt 3)", source="url x", media_t=None, live=True)
    'camera lost 12 s: cannot open: connection refused'
    >>> input_reason("ended", for_s=0, message="", source="file a.mp4", media_t=30.0,
    ...              live=False)
    'recording ended at 0:30'
    >>> input_reason("ended", for_s=0, message="", source="file a.mp4", media_t=15.8,
    ...              live=False, damage="427 of 900 expected frames missing",
    ...              ended_early=True, duration=30.0)
    'replay ended early at 15.8 s of 30.0 s: file damaged (427 of 900 expected frames missing)'
    """
    d = f"{max(0.0, for_s):.0f} s"
    msg = _short(message).replace(f"cannot open {source}: ", "")
    if state == "live":
        return ""
    if state == "starting":
        return f"waiting for {source}"
    if state == "no_face":
        return f"no face for {d}"
    if state == "camera_lost":
        return f"camera lost {d}: {msg}" if msg else f"camera lost {d}"
    if state == "camera_frozen":
        return f"camera frozen {d}: {msg}" if msg else f"camera frozen {d}"
    if state == "refused":
        return f"{source} refused: {msg}" if msg else f"{source} refused"
    if state == "paused":
        return f"replay paused at {clock_text(media_t)}"
    if state == "ended" and damage and not live:
        if ended_early and media_t is not None and duration is not None:
            return (
                f"replay ended early at {media_t:.1f} s of {duration:.1f} s: file "
                f"damaged ({damage})"
            )
        return f"recording ended at {clock_text(media_t)}: file damaged ({damage})"
    if state == "ended":
        return (
            f"recording ended at {clock_text(media_t)}"
            if not live
            else f"input ended: {msg}"
            if msg
            else "input ended"
        )
    return state
