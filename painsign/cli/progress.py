"""A small progress bar on stderr for long jobs (redrawn on a terminal, sparse otherwise)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Report ``done`` of ``total`` items with rate and time left.

    On a terminal the line is redrawn at most 10 times a second; elsewhere (a log file,
    CI) one line is printed per 10 % so logs stay short.
    """

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        rate = done / max(now - self.start, 1e-9)
        if total > 0:
            frac = min(1.0, done / total)
            left = (total - done) / rate if rate > 0 else float("inf")
            text = (
                f"{self.label}: {done}/{total} frames ({frac:4.0%}) "
                f"{rate:5.1f} frames/s, {left:4.0f} s left"
            )
        else:
            frac = 0.0
            text = f"{self.label}: {done} frames, {rate:5.1f} frames/s"
        if self.tty:
            if now - self._last_draw >= 0.1 or done == total:
                bar = "#" * int(frac * 20)
                self.stream.write(f"\r[{bar:<20s}] {text}\x1b[K")
                self.stream.flush()
                self._last_draw = now
        else:
            decile = int(frac * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(text + "\n")
                self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
