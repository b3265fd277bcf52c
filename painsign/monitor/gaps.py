"""Stretches of session time without a measured sign (no face, an outage), for the plots."""

from __future__ import annotations

from collections import deque

#: Most gaps kept for the trend (older ones are merged into one).
MAX_GAPS = 2000


class Gaps:
    """Stretches of session time without a measured sign (no face, outage)."""

    def __init__(self):
        self.closed: deque[tuple[float, float]] = deque()
        self.open_since: float | None = None

    def measured(self, t: float) -> None:
        """A measured sample at ``t`` closes an open gap."""
        if self.open_since is not None:
            self.closed.append((self.open_since, t))
            self.open_since = None
            if len(self.closed) > MAX_GAPS:
                a, _ = self.closed.popleft()
                _, b = self.closed.popleft()
                self.closed.appendleft((a, b))

    def missing(self, t: float) -> None:
        """Nothing measured at ``t``: open a gap if none is open."""
        if self.open_since is None:
            self.open_since = t

    def all(self, now: float) -> list[tuple[float, float]]:
        """Every gap, an open one ending at ``now``."""
        out = list(self.closed)
        if self.open_since is not None:
            out.append((self.open_since, max(now, self.open_since)))
        return out

    def within(self, t0: float, now: float) -> list[tuple[float, float]]:
        """The gaps that overlap ``[t0, now]``."""
        return [(a, b) for a, b in self.all(now) if b >= t0]
