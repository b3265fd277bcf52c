"""Fakes for monitor-engine tests: a scripted analyzer (no models) and a scripted source.

``ScriptedAnalyzer`` answers each frame from a function of its time, so a test decides
exactly when the face is there and what P(pain) is measured; ``ScriptSource`` is a replay
whose frames the test hands to the engine one by one (no threads, no clock).
"""

from __future__ import annotations

import math
import threading
import time
from types import SimpleNamespace

import numpy as np

from painsign.analysis.frames import FrameRecord
from painsign.capture import CaptureStats
from painsign.capture.live import LiveSource
from painsign.scoring.nfcs import ACTIONS
from painsign.video.reader import VideoFrame

NAN = float("nan")


class ScriptedScorer:
    """Name and threshold only: ``ScriptedAnalyzer`` computes the values."""

    def __init__(self, name="nfcs", threshold=0.5):
        self.name, self.display_name, self.threshold = name, name.upper(), threshold

    def reset(self):
        pass


class ScriptedAnalyzer:
    """``process`` returns ``script(t) -> p_raw or None`` (None: no face).

    Parameters
    ----------
    script : callable
        P(pain) of the frame at time ``t``, None for a frame without a face.
    delay_s : float
        Seconds each ``process`` call sleeps (a slow scorer).
    """

    def __init__(self, script, delay_s=0.0, scorers=None):
        self.script = script
        self.delay_s = delay_s
        self.scorers = scorers or [ScriptedScorer()]
        self.tracker = SimpleNamespace(
            reset=lambda: None, detector=SimpleNamespace(provider="fake")
        )
        self.busy = threading.Event()
        self.calls = 0

    def process(self, index, t, bgr):
        self.busy.set()
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            p = self.script(t)
        finally:
            self.busy.clear()
        self.calls += 1
        face = p is not None
        box = (10.0, 10.0, 40.0, 40.0) if face else (NAN,) * 4
        record = FrameRecord(
            index,
            t,
            face,
            box,
            dict.fromkeys(ACTIONS, 0.1 if face else NAN),
            {s.name: (p if face else NAN) for s in self.scorers},
        )
        return record, SimpleNamespace(found=face, box=box)


class ScriptSource:
    """A replay the test drives: ``status``, ``paused`` and ``seek`` are plain attributes."""

    live = False

    def __init__(self, fps=30.0, duration_s=60.0):
        self.info = SimpleNamespace(fps=fps, duration_s=duration_s)
        self.status = "starting"
        self.status_message = "not started"
        self.started_at = time.monotonic()
        self.paused = False
        self.speed = 1.0
        self.seeks = []
        self.stats = CaptureStats(0, 0, 0, 0.0, math.inf, 0)

    def describe(self):
        return "file scripted.mp4"

    def start(self):
        return self

    def stop(self):
        pass

    def read(self, timeout=None):
        time.sleep(timeout or 0)
        return None

    def seek(self, t):
        self.seeks.append(t)

    def frame(self, index, t):
        self.status = "ok"
        return VideoFrame(index, t, np.full((48, 64, 3), index % 251, np.uint8))


def feed(engine, source, t0, t1, fps=30.0, start_index=0):
    """Hand the frames of ``[t0, t1)`` to ``engine`` as its worker would; return next index."""
    index = start_index
    for k in range(round((t1 - t0) * fps)):
        frame = source.frame(index, t0 + k / fps)
        with engine._lock:
            engine._publish(engine._analyse(frame))
            engine._update_input()
            engine.alarms.update()
        index += 1
    return index


class ScriptedCamera(LiveSource):
    """A live camera delivering distinct frames at ``fps``; ``broken`` makes it fail."""

    def __init__(self, fps=30.0, **kwargs):
        super().__init__(**kwargs)
        self.fps = fps
        self.broken = False
        self._i = 0
        self._next = 0.0

    def describe(self):
        return "camera scripted"

    def _open(self):
        if self.broken:
            raise ConnectionError("connection refused")
        self._next = time.monotonic()

    def _grab(self):
        if self.broken:
            raise OSError("device unplugged")
        self._next += 1.0 / self.fps
        time.sleep(max(0.0, self._next - time.monotonic()))
        self._i += 1
        return np.full((48, 64, 3), self._i % 251, np.uint8)

    def _close(self):
        pass
