"""Run a slow scorer beside the live pipeline without holding it back.

A heavy classifier (billions of operations per call) cannot score every frame of a 30-fps
camera on a small machine. :class:`BackgroundScorer` gives it the newest face whenever it
is free and reports each result on the frame during which it arrived; every other frame
has no sample (NaN, with the reason "busy": not a failure), so its sign is interpolated
across them exactly as across frames without a face. The video, the default scorer and
the other signs keep the camera's rate. A call that fails in the worker is raised on the
frame during which it ended, once: the next job runs as usual.
"""

from __future__ import annotations

import threading

from painsign.scoring.base import FaceFrame, Score, display_name

#: The reason of a frame during which the worker had no new result.
BUSY = "busy (scores in the background)"


class BackgroundScorer:
    """Wrap ``scorer`` so it runs in its own thread on the newest face when free.

    Parameters
    ----------
    scorer : Scorer
        The slow scorer; its name, display name and threshold are kept.

    Attributes
    ----------
    completed : int
        Faces scored so far (its effective rate is ``completed`` over the run time).
    error : Exception or None
        The last failure of the wrapped scorer (kept for inspection).
    """

    def __init__(self, scorer):
        self.inner = scorer
        self.name = scorer.name
        self.display_name = display_name(scorer)
        self.threshold = scorer.threshold
        self.completed = 0
        self.error: Exception | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._job: FaceFrame | None = None
        self._busy = False
        self._result: Score | Exception | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"painsign-{self.name}", daemon=True)
        self._thread.start()

    def score(self, frame: FaceFrame) -> Score:
        """Hand ``frame`` over if the worker is free; return a finished result, else NaN
        with the reason "busy".

        Raises
        ------
        Exception
            What the wrapped scorer raised on the job that finished since the last call.
        """
        with self._lock:
            if not self._busy and self._job is None:
                self._job = frame
                self._wake.notify()
            result, self._result = self._result, None
        if isinstance(result, Exception):
            raise result
        return result if result is not None else Score.unscorable(BUSY)

    def reset(self) -> None:
        """Forget pending work and the wrapped scorer's state."""
        with self._lock:
            self._job = None
            self._result = None
        self.inner.reset()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker thread (waits for a call in progress to finish)."""
        with self._lock:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._job is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                job, self._job, self._busy = self._job, None, True
            try:
                result = self.inner.score(job)
            except Exception as exc:  # raised by the next score() call, once
                self.error = exc
                result = exc
            with self._lock:
                self._result = result
                self._busy = False
                self.completed += 1
