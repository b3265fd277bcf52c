"""Session time of the monitor: seconds since the session began, never going back.

Session time (``MonitorState.elapsed_s``, the ``t`` of stored samples and alarms) is

* for live sources: the monotonic clock since the source started, so it keeps running
  during an outage and outages have their length in the log and the database;
* for a replay: the media time within a segment. A seek or a restart starts a new segment
  just after the current session time (the media time of the segment's start is stored in
  the ``segments`` table). A replay with no new frame for :data:`REPLAY_STALL_S` (not
  paused, not ended) is stalled: its session time runs on the monotonic clock until frames
  come again, and those frames start a new segment, so samples stay after the alarms
  logged during the stall.
"""

from __future__ import annotations

import logging
import time

from painsign.monitor.ports import Recorder, Source

logger = logging.getLogger("painsign.monitor")

#: A replay with no new frame for this many seconds (not paused, not ended) is stalled.
#: Longer than a frame's inference on a slow machine, so a replay that is merely processed
#: slower than real time keeps its media time.
REPLAY_STALL_S = 1.0


class SessionClock:
    """The monitor's session time, segments and replay position.

    Parameters
    ----------
    source : Source
        Live (``live`` True) or a replay (``paused``).
    fps : float
        Nominal frame rate (a new segment starts one frame after the current time).
    recorder : Recorder, optional
        Gets each new segment (``add_segment``).

    Attributes
    ----------
    elapsed : float
        Session time of the latest published frame (a live source: of the latest look).
    media_t : float or None
        Position in a replayed file (s); None for a live source.
    segment : int
        Replay segments started so far (0: the first).
    segment_t0 : float
        Session time at which the current segment started.
    ended : bool
        Whether the replay reached its end (session time then stops).
    """

    def __init__(self, source: Source, fps: float, recorder: Recorder | None = None) -> None:
        self.source = source
        self.fps = fps
        self.recorder = recorder
        self.started_at: float | None = None
        self.elapsed = 0.0
        self.media_t: float | None = None if source.live else 0.0
        self.segment = 0
        self.segment_t0 = 0.0
        self.ended = False
        self._segment_media0: float | None = 0.0
        self._last_frame_mono: float | None = None  # when the last frame was published

    def now(self) -> float:
        """Session time now: monotonic for a live source; for a replay the media time,
        running on the monotonic clock while the replay is stalled (alarm rows logged
        during an outage keep their real times)."""
        if self.source.live and self.started_at is not None:
            return max(self.elapsed, time.monotonic() - self.started_at)
        return self.elapsed + self.stall_s()

    def stall_s(self) -> float:
        """Seconds since the last frame of a replay that has waited longer than
        :data:`REPLAY_STALL_S` for one (not paused, not ended); else 0."""
        if (
            self.source.live
            or self._last_frame_mono is None
            or self.ended
            or getattr(self.source, "paused", False)
        ):
            return 0.0
        waited = time.monotonic() - self._last_frame_mono
        return waited if waited > REPLAY_STALL_S else 0.0

    def frame_time(self, media_t: float) -> float:
        """Session time of a frame at ``media_t`` (its source time stamp); frames again
        after a replay stall start a new segment."""
        if self.source.live:
            return max(media_t, self.elapsed)
        stall = self.stall_s()
        if stall:
            self._new_segment(self.elapsed + stall, media_t, "stall")
            logger.info(
                "segment %d: replay stalled for %.1f s (session t %.2f s)",
                self.segment,
                stall,
                self.segment_t0,
            )
        if self._segment_media0 is None:
            self._segment_media0 = media_t
        return max(self.segment_t0 + media_t - self._segment_media0, self.elapsed)

    def seeked(self, target: float, reason: str) -> float:
        """A replay moved to ``target`` s: start a new segment one frame after now and
        return its session time."""
        self._new_segment(self.now() + 1.0 / self.fps, None, reason, media_t=target)
        self.elapsed, self.media_t = self.segment_t0, max(0.0, target)
        self._last_frame_mono = time.monotonic()
        self.ended = False
        return self.segment_t0

    def arrived(self) -> None:
        """A frame (analysed or failed) came: a replay is not stalled."""
        self._last_frame_mono = time.monotonic()

    def published(self, t: float, media_t: float) -> None:
        """A frame at session time ``t`` and source time ``media_t`` was shown."""
        self.elapsed = t
        self.media_t = None if self.source.live else media_t

    def tick(self) -> None:
        """A look at the source without a frame: a live clock runs on; a paused replay is
        no stall."""
        if self.source.live:
            self.elapsed = self.now()
        elif getattr(self.source, "paused", False):
            self._last_frame_mono = time.monotonic()

    def _new_segment(
        self, t0: float, media0: float | None, reason: str, media_t: float | None = None
    ) -> None:
        self.segment += 1
        self.segment_t0, self._segment_media0 = t0, media0
        if self.recorder is not None:
            self.recorder.add_segment(
                self.segment, t0, media0 if media_t is None else media_t, reason
            )
