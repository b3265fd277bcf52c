"""Decide from frame arrival times and contents whether a video input is alive.

OpenCV cannot be trusted to report a dead input: it may block on a removed camera, return
the last frame forever with ``isOpened()`` true, or report success after a disconnect. The
:class:`Watchdog` therefore looks only at what actually arrives, and when: no new frame for
``stall_s`` seconds means *lost*; frames that keep arriving but stay identical for
``frozen_s`` seconds mean *frozen*. It is pure logic; the caller passes the time in, so
tests drive it with a fake clock.
"""

from __future__ import annotations

import numpy as np

#: Watchdog states. ``waiting``: (re)started, no frame yet, not yet overdue.
WAITING, OK, LOST, FROZEN = "waiting", "ok", "lost", "frozen"


def frame_fingerprint(bgr: np.ndarray, size: int = 128) -> np.ndarray:
    """Return a small float copy of ``bgr`` for cheap "same picture?" comparisons.

    A strided subsample (about ``size`` samples along the longer side, all channels) keeps
    each sample's full sensor noise, so frames from a live camera of a still scene still
    differ, whereas a frozen pipeline repeats the same values exactly.

    Parameters
    ----------
    bgr : numpy.ndarray
        An image, (H, W) or (H, W, C).
    size : int
        Samples along the longer side.

    Returns
    -------
    numpy.ndarray
        float32 array of about ``size`` samples along the longer side.

    Examples
    --------
    >>> img = np.zeros((480, 640, 3), np.uint8)
    >>> frame_fingerprint(img).shape
    (96, 128, 3)
    """
    a = np.asarray(bgr)
    step = max(1, max(a.shape[:2]) // size)
    return a[::step, ::step].astype(np.float32)


def fingerprints_equal(a: np.ndarray | None, b: np.ndarray | None, epsilon: float = 0.0) -> bool:
    """Whether two fingerprints show the same picture (mean absolute difference <= epsilon)."""
    if a is None or b is None or a.shape != b.shape:
        return False
    return float(np.mean(np.abs(a - b))) <= epsilon


class Watchdog:
    """Classify an input as ok, lost or frozen from frame arrivals (pure logic).

    Parameters
    ----------
    stall_s : float
        No new frame for this long (since the last frame, or since :meth:`reset` when none
        has arrived) means "lost".
    frozen_s : float
        Frames arriving but showing the same picture for this long mean "frozen".
    epsilon : float
        Largest mean absolute difference (grey levels, on the fingerprint) still counted as
        "the same picture". The default 0 asks for identical samples: a live camera's sensor
        noise changes them, a frozen pipeline does not; raise it only for a source that
        re-encodes a frozen picture with jitter.

    Attributes
    ----------
    state : str
        The last decision: "waiting", "ok", "lost" or "frozen".

    Examples
    --------
    >>> wd = Watchdog(stall_s=1.0, frozen_s=2.0)
    >>> wd.reset(0.0)
    >>> img = np.zeros((4, 4), np.uint8)
    >>> wd.feed(0.1, img), wd.feed(1.0, img), wd.feed(2.2, img), wd.check(3.5)
    ('ok', 'ok', 'frozen', 'lost')
    """

    def __init__(self, stall_s: float = 3.0, frozen_s: float = 5.0, epsilon: float = 0.0):
        if not stall_s > 0 or not frozen_s > 0 or not epsilon >= 0:
            raise ValueError(
                f"stall_s ({stall_s}) and frozen_s ({frozen_s}) must be > 0 and epsilon "
                f"({epsilon}) >= 0"
            )
        self.stall_s = float(stall_s)
        self.frozen_s = float(frozen_s)
        self.epsilon = float(epsilon)
        self.state = WAITING
        self._since: float | None = None
        self._last_arrival: float | None = None
        self._last_change: float | None = None
        self._fingerprint: np.ndarray | None = None

    @property
    def last_arrival(self) -> float | None:
        """Time of the last frame since the last :meth:`reset`, or None."""
        return self._last_arrival

    @property
    def last_change(self) -> float | None:
        """Time of the last frame that differed from its predecessor, or None."""
        return self._last_change

    def reset(self, now: float) -> None:
        """Start waiting for frames afresh at ``now`` (after opening or reopening an input).

        The last picture is remembered, so an input that comes back still showing the very
        picture it froze on is reported frozen at once rather than ok.
        """
        self._since = now
        self._last_arrival = None
        self.state = WAITING

    def feed(self, now: float, frame: np.ndarray) -> str:
        """Record a frame that arrived at ``now`` and return the new state ("ok"/"frozen")."""
        if self._since is None:
            self._since = now
        fingerprint = frame_fingerprint(frame)
        if not fingerprints_equal(fingerprint, self._fingerprint, self.epsilon):
            self._fingerprint = fingerprint
            self._last_change = now
        self._last_arrival = now
        self.state = FROZEN if now - self._last_change >= self.frozen_s else OK
        return self.state

    def check(self, now: float) -> str:
        """Return the state at ``now`` without a new frame: "lost" once a frame is overdue."""
        if self._since is None:
            return self.state
        if self._last_arrival is None:
            self.state = LOST if now - self._since >= self.stall_s else WAITING
        elif now - self._last_arrival >= self.stall_s:
            self.state = LOST
        elif now - self._last_change >= self.frozen_s:
            self.state = FROZEN
        else:
            self.state = OK
        return self.state


class Backoff:
    """Exponential delays between reconnection attempts: 0.5, 1, 2, 4, 8, 10, 10, ... s.

    Parameters
    ----------
    initial : float
        First delay in seconds.
    maximum : float
        Delays never exceed this.
    factor : float
        Growth per attempt.

    Examples
    --------
    >>> b = Backoff(0.5, 10.0)
    >>> [b.next() for _ in range(7)]
    [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    """

    def __init__(self, initial: float = 0.5, maximum: float = 10.0, factor: float = 2.0):
        if not 0 < initial <= maximum or not factor >= 1:
            raise ValueError(
                f"need 0 < initial ({initial}) <= maximum ({maximum}) and factor ({factor}) >= 1"
            )
        self.initial = float(initial)
        self.maximum = float(maximum)
        self.factor = float(factor)
        self.attempts = 0

    def next(self) -> float:
        """Return the delay before the next attempt and count the attempt."""
        delay = min(self.maximum, self.initial * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self.attempts = 0
