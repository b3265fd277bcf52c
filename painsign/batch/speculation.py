"""Chunks that start before the NFCS rest baseline is known (speculative chunks).

Before a rest baseline is adopted the NFCS scores are those of population values; the
calibration window affects only *when* it is adopted, and that depends on the whole
history (the window slides on by half its length from the first face seen). So every
chunk runs at once: chunk 0 from the start, learning as one process does, and every
later chunk with the learner held on population values, keeping its own frames'
calibration samples (time, P(pain), calm check). Chunk 0 publishes a baseline it adopts
on the cluster, and later chunks still running start again with it (the typical case:
a baseline seconds in). Once all are done, :func:`first_adoption` replays the learner's
own window rule over the samples in frame order, which says exactly where a run from the
start adopts a baseline; chunks from there on are redone with it (:func:`window_baseline`
learns it from that window's frames alone), chunks before are kept.
"""

from __future__ import annotations

import math
import pickle
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from painsign.analysis.frames import FrameRecord
from painsign.analysis.replay import TRACK_REANCHOR_S
from painsign.batch.chunks import (
    Baseline,
    Chunk,
    ChunkResult,
    analyze_chunk,
    baseline_learners,
)

#: Seconds between two looks of a speculative chunk for a baseline published meanwhile.
POLL_S = 0.5
#: The baseline a speculative chunk holds: population values at every frame.
POPULATION = Baseline(index=2**62, t=math.inf, states=(None,))


@dataclass
class Speculated:
    """What a speculative chunk task sends back.

    Attributes
    ----------
    result : ChunkResult or None
        The chunk's records; None when the analyzer has several learners (not done).
    baseline : Baseline or None
        The baseline it scored against (chunk 0: the one it adopted), None: population.
    samples : list of tuple
        ``(frame_index, t, p, upset)`` of each calibration sample of its own frames.
    """

    result: ChunkResult | None
    baseline: Baseline | None
    samples: list = field(default_factory=list)


class News:
    """Where chunk 0 publishes the baseline it adopted: a Dask variable, or (in one
    process) this object itself; picklable."""

    def __init__(self, name: str | None = None):
        self.name = name
        self.value: Baseline | None = None

    @classmethod
    def on_cluster(cls) -> News:
        return cls(f"painsign-baseline-{uuid.uuid4().hex[:12]}")

    def publish(self, baseline: Baseline) -> None:
        if self.name is None:
            self.value = baseline
            return
        from distributed import Variable

        Variable(self.name).set(pickle.dumps(baseline))

    def read(self) -> Baseline | None:
        if self.name is None:
            return self.value
        from distributed import Variable

        try:
            return pickle.loads(Variable(self.name).get(timeout=0.01))
        except TimeoutError:
            return None

    def drop(self, client) -> None:
        if self.name is not None:
            from distributed import Variable

            Variable(self.name, client).delete()


class _Restart(Exception):
    def __init__(self, baseline: Baseline):
        self.baseline = baseline


class _Tap:
    """Keeps the calibration sample the learner took at each frame (``after_frame``), by
    frame index (a chunk read again from further back takes its frames again)."""

    def __init__(self, learner):
        self.learner = learner
        self.taken: dict[int, object] = {}
        self._last = None

    def __call__(self, record: FrameRecord) -> None:
        latest = self.learner.latest_sample()
        if latest is not None and latest is not self._last:
            self._last = self.taken[record.index] = latest

    def samples(self, from_t: float = -math.inf) -> list[tuple[int, float, float, float]]:
        """``(frame_index, t, p, upset)`` of the samples from ``from_t`` on, in order."""
        return [
            (i, float(s.t), float(s.p), float(s.upset))
            for i, s in sorted(self.taken.items())
            if s.t >= from_t
        ]


def speculate_chunk(
    path: str | Path,
    chunk: Chunk,
    job,
    news: News,
    progress: Callable[[int, int], None] | None = None,
) -> Speculated:
    """Analyse one chunk before the baseline is known (a worker task).

    Chunk 0 reads from the start and learns as one process does, and publishes the
    baseline it adopts; a later chunk holds population values, or starts again with a
    baseline published before it ends.

    Returns
    -------
    Speculated
        The records, the baseline they were scored against and the samples.
    """
    learners = baseline_learners(job.analyzer())
    if not learners:  # nothing learned: every chunk is exact as it is
        return Speculated(analyze_chunk(path, chunk, job, None, progress), None)
    if len(learners) > 1:
        return Speculated(None, None)  # see analyze_chunked: the baseline first, then chunks
    learner = learners[0]
    tap = _Tap(learner)
    if chunk.index == 0:
        adopted: list[Baseline] = []

        def learn(record: FrameRecord) -> None:
            tap(record)
            if not adopted and (state := learner.baseline_state()) is not None:
                adopted.append(Baseline(record.index, record.t, (state,)))
                news.publish(adopted[0])

        result = analyze_chunk(path, chunk, job, None, progress, after_frame=learn)
        baseline = adopted[0] if adopted else None
        return Speculated(result, baseline, tap.samples())
    published = news.read()
    if published is not None:
        return Speculated(analyze_chunk(path, chunk, job, published, progress), published)
    last = time.monotonic()

    def watch(record: FrameRecord) -> None:
        nonlocal last
        tap(record)
        if time.monotonic() - last >= POLL_S:
            last = time.monotonic()
            found = news.read()
            if found is not None:
                raise _Restart(found)

    try:
        result = analyze_chunk(path, chunk, job, POPULATION, progress, after_frame=watch)
    except _Restart as restart:
        b = restart.baseline
        return Speculated(analyze_chunk(path, chunk, job, b, progress), b)
    return Speculated(result, None, tap.samples(chunk.start_s))


def first_adoption(job, samples: list[tuple]) -> tuple[int, float, float] | None:
    """Where a run from the start adopts its baseline, from its calibration samples (a
    worker task: the learner's own window rule, :meth:`adoption_in`).

    Parameters
    ----------
    job : AnalysisJob
        The options (its analyzer holds the learner).
    samples : list of tuple
        ``(frame_index, t, p, upset)`` of every sample from the start, in frame order.

    Returns
    -------
    tuple or None
        ``(frame_index, window_start_t, window_end_t)`` of the adopting frame; None if never.
    """
    learners = baseline_learners(job.analyzer()) if samples else []
    return learners[0].adoption_in(samples) if learners else None


def window_baseline(
    path: str | Path, job, index: int, start_t: float, end_t: float, warmup_s: float
) -> Baseline:
    """The baseline a run from the start adopts at frame ``index`` from the calm window
    ``[start_t, end_t]``, learned from that window's frames alone (a worker task)."""
    learner = baseline_learners(job.analyzer())[0]
    tap = _Tap(learner)
    # Read as the chunk holding the window's start does: its track starts afresh at the
    # same instant as one process's (TRACK_REANCHOR_S), after the same warm-up.
    anchor = TRACK_REANCHOR_S * math.floor(start_t / TRACK_REANCHOR_S)
    window = Chunk(1, start_t, math.nextafter(end_t, math.inf), max(0.0, anchor - warmup_s))
    analyze_chunk(path, window, job, POPULATION, after_frame=tap)
    taken = [s for _, s in sorted(tap.taken.items()) if start_t <= s.t <= end_t]
    learner.adopt_window(taken)
    return Baseline(index, end_t, (learner.baseline_state(),))


def speculative_results(
    path: str, chunks: list[Chunk], job, client, report, warmup_s: float
) -> list[ChunkResult] | None:
    """All chunks at once, then the walk that makes them the one-process analysis.

    Parameters
    ----------
    path : str
        The video.
    chunks : list of Chunk
        The plan, two or more.
    job : AnalysisJob
        The options.
    client : distributed.Client or None
        Where the tasks run (None: here, one after another).
    report : callable
        ``report(chunk)``: the progress callback of that chunk's task, or None.
    warmup_s : float
        The chunks' warm-up (also before a calm window learned alone).

    Returns
    -------
    list of ChunkResult or None
        The chunks' results in order; None when the analyzer learns several baselines
        (then nothing was analysed).
    """
    news = News.on_cluster() if client is not None else News()
    try:
        done = _map(client, speculate_chunk, [(path, c, job, news, report(c)) for c in chunks])
    finally:
        news.drop(client)
    if any(d.result is None for d in done):
        return None
    baseline, first = done[0].baseline, 1
    if baseline is None:
        samples = []
        for d in done:
            samples.extend(d.samples)
            if d.result.part.ended:  # a read from the start stops there too
                break
        found = _map(client, first_adoption, [(job, samples)])[0] if samples else None
        if found is None:
            return [d.result for d in done]
        index, start_t, end_t = found
        baseline = _map(client, window_baseline, [(path, job, index, start_t, end_t, warmup_s)])[0]
        first = next(c.index for c in chunks if c.start_s <= end_t < c.end_s)
    redo = [
        c
        for c in chunks[first:]
        if done[c.index].baseline is None or done[c.index].baseline.index != baseline.index
    ]
    again = _map(client, analyze_chunk, [(path, c, job, baseline, report(c)) for c in redo])
    results = [d.result for d in done]
    for c, r in zip(redo, again, strict=True):
        results[c.index] = r
    return results


def _map(client, fn, calls: list[tuple]) -> list:
    if client is None:
        return [fn(*args) for args in calls]
    return client.gather([client.submit(fn, *args, pure=False) for args in calls])
