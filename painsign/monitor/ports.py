"""What the monitor engine needs of a frame source and a recorder.

The engine depends on these protocols, not on the classes that implement them
(:class:`painsign.capture.FrameSource` and its subclasses, :class:`painsign.storage.
recorder.SessionRecorder`), so a test or a new kind of camera plugs in with the same
members. Each is ``runtime_checkable``:
``isinstance(x, Replay)`` says whether ``x`` has every member, not whether it behaves.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from painsign.alarms import AlarmLogEntry
from painsign.capture import CaptureStats
from painsign.video.reader import VideoFrame


@runtime_checkable
class Source(Protocol):
    """A live or replayed source of frames.

    Attributes
    ----------
    live : bool
        True for a camera or stream, False for a replayed file.
    status : str
        ``"starting"``, ``"running"``, ``"lost"``, ``"reconnecting"``, ``"frozen"``,
        ``"failed"``, ``"ended"`` ... (see :mod:`painsign.capture.base`).
    status_message : str
        The status in words.
    started_at : float or None
        Monotonic time the source started.
    stats : CaptureStats
        Throughput and drops.
    """

    live: bool

    @property
    def status(self) -> str:
        """The source's state."""
        ...

    @property
    def status_message(self) -> str:
        """The state in words."""
        ...

    @property
    def started_at(self) -> float | None:
        """Monotonic time the source started; None before."""
        ...

    @property
    def stats(self) -> CaptureStats:
        """Throughput and drops."""
        ...

    def start(self) -> object:
        """Start delivering frames."""
        ...

    def stop(self) -> None:
        """Stop and release the device or file."""
        ...

    def read(self, timeout: float | None = None) -> VideoFrame | None:
        """The next frame, or None when none came within ``timeout`` seconds."""
        ...

    def describe(self) -> str:
        """The source in words, for logs and the screen."""
        ...


@runtime_checkable
class Replay(Source, Protocol):
    """A replayed file: a :class:`Source` that can be paused, sped up and moved.

    Attributes
    ----------
    info : VideoInfo
        The file's frame rate (``fps``) and length (``duration_s``).
    paused : bool
    speed : float
        Replay speed (1.0: real time).
    frames_skipped : int
        Frames that did not decode so far.
    ended_early : bool
        Whether the file ended before the frames its container announces.
    """

    info: object

    @property
    def paused(self) -> bool:
        """Whether the replay is paused."""
        ...

    @property
    def speed(self) -> float:
        """Replay speed."""
        ...

    @property
    def frames_skipped(self) -> int:
        """Frames that did not decode so far."""
        ...

    @property
    def ended_early(self) -> bool:
        """Whether the file ended before its announced frame count."""
        ...

    def seek(self, t: float) -> None:
        """Move to ``t`` seconds of media time."""
        ...

    def pause(self) -> None:
        """Stop delivering frames until :meth:`resume`."""
        ...

    def resume(self) -> None:
        """Deliver frames again after :meth:`pause`."""
        ...

    def set_speed(self, speed: float) -> None:
        """Replay ``speed`` times faster than real time."""
        ...

    def damage(self) -> str | None:
        """How the file was damaged, in one line; None when it was not."""
        ...


@runtime_checkable
class Recorder(Protocol):
    """Where the session is stored: samples, alarm changes and replay segments.

    Attributes
    ----------
    session_id : int or None
        The stored session's id.
    path : path-like
        The database file.
    healthy : bool
        False while writes fail ("Recording failed" alarm); :meth:`reason` says why.
    snapshots_enabled : bool
        Whether face snapshots are stored (opt-in); the engine cuts no face otherwise.
    """

    session_id: int | None
    path: object
    snapshots_enabled: bool

    @property
    def healthy(self) -> bool:
        """Whether writes succeed."""
        ...

    def reason(self) -> str:
        """Why writes fail, in words."""
        ...

    def add_sample(self, t: float | None, face: bool, scorer: str, p_raw: float, p: float) -> None:
        """Store one scorer's sample."""
        ...

    def add_alarm(
        self, t: float | None, kind: str, priority: str, state: str, note: str | None = None
    ) -> None:
        """Store one alarm change."""
        ...

    def add_segment(self, segment: int, t: float, media_t: float | None, reason: str) -> None:
        """Store the start of a replay segment (a seek, a restart, a stall)."""
        ...

    def add_snapshot(self, t: float | None, state: str, scorer: str, png_bytes: bytes) -> None:
        """Store a PNG face snapshot taken in ``state`` ("pain" or "no pain")."""
        ...


@runtime_checkable
class AlarmSink(Protocol):
    """Something told of every alarm change of the engine besides its journal, e.g. the
    central-station publisher (:mod:`painsign.central.publisher`). It is called in the
    engine's worker under its state lock, so it must return at once and never call back
    into the engine from that call."""

    def alarm_changed(self, entry: AlarmLogEntry, t: float) -> None:
        """Take one alarm change ``entry`` at session time ``t`` (s)."""
        ...
