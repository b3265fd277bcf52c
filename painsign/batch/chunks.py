"""One long recording in time chunks analysed in parallel, stitched into one Analysis.

Each chunk is read from ``warmup_s`` before the instant its face track starts afresh
(the reader seeks there), and its own frames begin :data:`SETTLE_S` after that instant,
so that the state the analysis keeps from frame to frame is that of one process by the
chunk's first own frame: the face track and its crop, the face confirmation
(``MIN_FACE_RUN_S``), the NFCS chin-quiver history (0.6 s). The warm-up records are
dropped; the chunks' records
are stitched in frame order and the signs (gap interpolation, the 1-s average, windows,
events, sign types) computed on the whole stitched series, as one process does.

One state is not local: the NFCS rest baseline (``--calibration``) is learned from the
first calm seconds of the recording and kept. Every chunk scores against population
values up to the frame a run from the start adopts it at and against it from there on,
as the one-process run does. The chunks run at once before that frame is known, and the
few chunks that assumed wrong are redone (:mod:`painsign.batch.speculation`); an
analyzer with several baseline learners first runs :func:`find_baseline` from the start
until all are adopted (where they never are, that task is the whole analysis).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from painsign.analysis.frames import FrameAnalyzer, FrameRecord
from painsign.analysis.replay import (
    TRACK_REANCHOR_S,
    Analysis,
    RangeRecords,
    add_signs,
    analyze_range,
)
from painsign.errors import InputError
from painsign.scoring.base import Calibratable
from painsign.scoring.nfcs import QUIVER_WINDOW_S
from painsign.video.reader import damage_text, probe

#: Default chunk length: on 2 workers a 10-minute recording makes 2 chunks.
DEFAULT_CHUNK_S = 300.0
#: Default warm-up before each chunk (see the README's "Performance" for the measured
#: agreement): the track, face confirmation and chin history settle within a second of
#: a face in view.
DEFAULT_WARMUP_S = 2.0


#: A chunk's own frames start this long after the instant its track starts afresh, and
#: the chunk before analyses them: the NFCS chin history (``QUIVER_WINDOW_S``) then holds
#: only frames tracked as one process tracks them. Before, the first 0.6 s of a chunk
#: differed in P(NFCS) by up to 0.05 (the smoothed sign by up to 0.0022).
SETTLE_S = QUIVER_WINDOW_S + 0.1

#: How much further back a chunk starts reading when its warm-up decoded nothing.
RETRY_BACK_S = 10.0


@dataclass(frozen=True)
class Chunk:
    """A time range of a recording: frames with ``start_s <= t < end_s`` are its own.

    Reading starts at ``warm_start_s`` (``start_s - warmup_s``, at least 0).
    """

    index: int
    start_s: float
    end_s: float
    warm_start_s: float


@dataclass(frozen=True)
class ScorerInfo:
    """What the sign of a scorer needs from it: name, display name and threshold."""

    name: str
    display_name: str
    threshold: float


@dataclass(frozen=True)
class Baseline:
    """The NFCS rest baselines a run from the start adopted, and the frame it did so.

    ``states`` holds one dict per baseline learner of the analyzer, in order.
    """

    index: int
    t: float
    states: tuple[dict, ...]


@dataclass
class ChunkResult:
    """What one chunk sends back: per-frame numbers and thumbnails, never frames."""

    chunk: Chunk
    part: RangeRecords
    scorers: tuple[ScorerInfo, ...]
    detail_columns: tuple[str, ...]


class ChunkMismatch(InputError):
    """Chunks that do not join up (frame indices or time stamps differ in the overlap)."""


def plan_chunks(
    duration_s: float, chunk_s: float, warmup_s: float, settle_s: float = 0.0
) -> list[Chunk]:
    """Split a recording into chunks of ``chunk_s`` seconds, the last one shorter.

    Parameters
    ----------
    duration_s : float
        The recording's nominal duration (NaN or 0 when unknown: one chunk).
    chunk_s : float
        Chunk length, positive.
    warmup_s : float
        Seconds read before each chunk's start, zero or positive.
    settle_s : float
        Each chunk but the first starts this much after its multiple of ``chunk_s``
        (and the one before ends there); it reads from ``warmup_s`` before that multiple.

    Returns
    -------
    list of Chunk
        Adjacent ranges; the first starts at ``-inf`` and the last ends at ``inf``, so
        every frame, whatever its time stamp, is in exactly one chunk.

    Examples
    --------
    >>> [(c.start_s, c.end_s, c.warm_start_s) for c in plan_chunks(25.0, 10.0, 2.0)]
    [(-inf, 10.0, 0.0), (10.0, 20.0, 8.0), (20.0, inf, 18.0)]
    """
    if not chunk_s > 0 or not warmup_s >= 0 or not 0 <= settle_s < chunk_s:
        raise ValueError(
            "chunk_s must be positive, warmup_s >= 0 and 0 <= settle_s < chunk_s, "
            f"got {chunk_s}, {warmup_s}, {settle_s}"
        )
    n = 1 if not duration_s > 0 else max(1, math.ceil(duration_s / chunk_s - 1e-9))
    chunks = []
    for i in range(n):
        start = -math.inf if i == 0 else i * chunk_s + settle_s
        end = math.inf if i == n - 1 else (i + 1) * chunk_s + settle_s
        chunks.append(Chunk(i, start, end, max(0.0, i * chunk_s - warmup_s)))
    return chunks


@runtime_checkable
class SharedBaseline(Protocol):
    """A scorer whose learned baseline can be handed to another instance of it."""

    def baseline_state(self) -> object | None:
        """The learned baseline, picklable; None while not learned."""
        ...

    def hold_baseline(self, state: object | None) -> None:
        """Score against ``state`` and learn nothing by itself until ``reset()``."""
        ...

    def latest_sample(self) -> object | None:
        """The calibration sample of the last scored frame (``t``, ``p``, ``upset``)."""
        ...

    def adoption_in(self, samples) -> tuple[int, float, float] | None:
        """Where its rest-window rule adopts over ``(index, t, p, upset)`` samples."""
        ...

    def adopt_window(self, samples: list) -> None:
        """Adopt the baseline of these calm samples (from :meth:`latest_sample`)."""
        ...


def baseline_learners(analyzer: FrameAnalyzer) -> list:
    """The scorers of ``analyzer`` (and their parts) that learn a rest baseline by
    themselves, each once.

    Raises
    ------
    ValueError
        For a scorer that learns one but cannot hand it over (:class:`SharedBaseline`):
        its chunks would each learn their own.
    """
    found: dict[int, object] = {}
    for s in analyzer.scorers:
        for candidate in (s, *getattr(s, "parts", ())):
            if isinstance(candidate, Calibratable) and candidate.calibrating:
                if not isinstance(candidate, SharedBaseline):
                    raise ValueError(f"scorer {candidate!r} cannot share its baseline")
                found.setdefault(id(candidate), candidate)
    return list(found.values())


class _Adopted(Exception):
    def __init__(self, baseline: Baseline):
        self.baseline = baseline


def find_baseline(path: str | Path, job) -> Baseline | ChunkResult | None:
    """Analyse from the start until every NFCS rest baseline is adopted (a worker task).

    Returns
    -------
    Baseline, ChunkResult or None
        The baselines and the frame they were adopted at; None when the analyzer learns
        none (``--calibration 0``, ``--no-nfcs``); the whole recording's
        :class:`ChunkResult` when they were never adopted (then it is the analysis).
    """
    analyzer = _worker_analyzer(job)
    learners = baseline_learners(analyzer)
    if not learners:
        return None

    def check(record: FrameRecord) -> None:
        states = tuple(s.baseline_state() for s in learners)
        if all(state is not None for state in states):
            raise _Adopted(Baseline(record.index, record.t, states))

    whole = Chunk(0, -math.inf, math.inf, 0.0)
    try:
        part = analyze_range(
            path,
            analyzer,
            whole.start_s,
            whole.end_s,
            0.0,
            pipelined=_pipelined(job),
            after_frame=check,
        )
    except _Adopted as adopted:
        return adopted.baseline
    return _result(whole, part, analyzer)


def analyze_chunk(
    path: str | Path,
    chunk: Chunk,
    job,
    baseline: Baseline | None = None,
    progress: Callable[[int, int], None] | None = None,
    after_frame: Callable[[FrameRecord], None] | None = None,
) -> ChunkResult:
    """Analyse one chunk after its warm-up (a worker task; reads only from near the
    chunk's warm-up start).

    Parameters
    ----------
    path : str or pathlib.Path
        The video (read by path: the workers share the storage).
    chunk : Chunk
        Which frames.
    job : AnalysisJob
        The options; ``job.analyzer()`` gives the worker's analyzer.
    baseline : Baseline, optional
        From :func:`find_baseline`: each NFCS scorer learns nothing itself and takes
        this baseline from the frame it was adopted at (from the first frame when the
        chunk starts later). Without it the scorers learn as from the start.
    progress : callable, optional
        ``progress(own_frames_done, frames_expected)`` as the chunk's own frames are
        analysed (picklable: it travels with the task).
    after_frame : callable, optional
        Called with each record (warm-up too) after the baseline held was set for it.

    Returns
    -------
    ChunkResult
        The records of the chunk's own frames, thumbnails and decode counts.
    """
    analyzer = _worker_analyzer(job)
    learners = baseline_learners(analyzer) if baseline is not None else []
    held: int | None = None  # the state held: None yet, 0 population values, 1 baseline

    def hold(record: FrameRecord) -> None:
        # After the frame is scored, as learning from the start adopts it after scoring
        # the frame that completes the window.
        nonlocal held
        want = 1 if record.index >= baseline.index else 0
        if held != want:
            for scorer, state in zip(learners, baseline.states, strict=True):
                scorer.hold_baseline(state if want else None)
            held = want
        if after_frame is not None:
            after_frame(record)

    warm = chunk.warm_start_s
    while True:
        held = None
        part = analyze_range(
            path,
            analyzer,
            chunk.start_s,
            chunk.end_s,
            warm,
            progress=progress,
            pipelined=_pipelined(job),
            after_frame=hold if learners else after_frame,
        )
        if part.warmup or not part.records or warm <= 0:
            return _result(chunk, part, analyzer)
        # Nothing decoded before the chunk (its warm-up lies in undecodable frames): the
        # frames skipped before its first one are unknown from here; start earlier.
        warm = max(0.0, warm - max(RETRY_BACK_S, chunk.start_s - warm))


def _worker_analyzer(job) -> FrameAnalyzer:
    analyzer = job.analyzer()
    analyzer.reset()  # a baseline held by the worker's previous task is let go
    return analyzer


def _pipelined(job) -> bool:
    return bool(getattr(job, "pipelined", True))


def _result(chunk: Chunk, part: RangeRecords, analyzer: FrameAnalyzer) -> ChunkResult:
    scorers = tuple(
        ScorerInfo(s.name, getattr(s, "display_name", None) or s.name, s.threshold)
        for s in analyzer.scorers
    )
    return ChunkResult(chunk, part, scorers, analyzer.detail_columns)


def stitch(path: str | Path, results: list[ChunkResult], job) -> Analysis:
    """Join chunk results into the Analysis the one-process ``analyze_video`` gives.

    Chunks after one whose reading stopped early (end of stream, or too many
    undecodable frames in a row) are dropped, as a read from the start stops there too.

    Raises
    ------
    ChunkMismatch
        When the chunks do not join up: records not one per frame index from 0, or a
        warm-up frame's time stamp unlike that of the same frame in the chunk before.
    InputError
        When no frame decoded.
    """
    results = sorted(results, key=lambda r: r.chunk.index)
    kept: list[ChunkResult] = []
    for r in results:
        kept.append(r)
        if r.part.ended:
            break
    records: list[FrameRecord] = []
    thumbs: list[tuple[float, np.ndarray]] = []
    skipped: list[int] = []
    decoded, last_t = 0, float("nan")
    for r in kept:
        seen = {rec.index: rec.t for rec in records}
        for index, t in r.part.warmup:
            if index in seen and seen[index] != t:
                raise ChunkMismatch(
                    f"video {path}: chunk {r.chunk.index} reads frame {index} at {t:.4f} s, "
                    f"the chunk before at {seen[index]:.4f} s"
                )
        records.extend(r.part.records)
        thumbs.extend(r.part.thumbnails)
        skipped.extend(r.part.skipped)
        decoded += r.part.decoded
        if r.part.decoded:
            last_t = r.part.last_t
    if [rec.index for rec in records] != list(range(len(records))):
        raise ChunkMismatch(f"video {path}: the chunks' frames are not one per frame index")
    info = kept[0].part.info
    if decoded == 0:
        raise InputError(f"video {info.path} has no decodable frame")
    analysis = Analysis(
        info,
        records,
        thumbs,
        problem=damage_text(info, decoded, len(skipped), last_t + 1.0 / info.fps),
        frames_decoded=decoded,
        frames_skipped=len(skipped),
        skipped_frames=skipped,
        detail_columns=kept[0].detail_columns,
    )
    add_signs(analysis, kept[0].scorers, job.sign_settings())
    return analysis


def analyze_chunked(
    path: str | Path,
    job,
    client=None,
    chunk_s: float = DEFAULT_CHUNK_S,
    warmup_s: float = DEFAULT_WARMUP_S,
    progress: Callable[[int], Callable[[int, int], None] | None] | None = None,
) -> Analysis:
    """Analyse one recording in chunks on a Dask cluster; the same Analysis as one process.

    Parameters
    ----------
    path : str or pathlib.Path
        The video, at a path every worker can read.
    job : AnalysisJob
        The options (picklable; workers build and cache their analyzer).
    client : distributed.Client, optional
        Where the tasks run; None runs them one after another in this process.
    chunk_s, warmup_s : float
        Chunk length, rounded up to a multiple of
        :data:`~painsign.analysis.replay.TRACK_REANCHOR_S`, and warm-up (see
        :func:`plan_chunks`).
    progress : callable, optional
        ``progress(chunk_index)`` gives the picklable progress callback of that chunk's
        task (see :func:`analyze_chunk`), or None.

    Returns
    -------
    Analysis
        Records, thumbnails, decode counts, damage and signs as ``analyze_video`` gives.
        Chunks that do not join up (:class:`ChunkMismatch`, e.g. a variable-rate file
        whose seek lands off) are redone as one task from the start.
    """
    info = probe(path)
    # Chunks start where the face track starts afresh, so they track as one run does.
    chunk_s = TRACK_REANCHOR_S * max(1, math.ceil(chunk_s / TRACK_REANCHOR_S - 1e-9))
    chunks = plan_chunks(info.duration_s, chunk_s, warmup_s, SETTLE_S)
    path = str(path)

    def report(c: Chunk):
        return None if progress is None else progress(c.index)

    if len(chunks) == 1:
        one = _run(client, analyze_chunk, path, chunks[0], job, None, report(chunks[0]))
        return stitch(path, [one], job)
    from painsign.batch.speculation import speculative_results  # it imports this module

    results = speculative_results(path, chunks, job, client, report, warmup_s)
    if results is None:  # several baselines learned: find them first, then the chunks
        found = _run(client, find_baseline, path, job)
        if isinstance(found, ChunkResult):  # never adopted: that run was the whole recording
            return stitch(path, [found], job)
        if client is None:
            results = [analyze_chunk(path, c, job, found, report(c)) for c in chunks]
        else:
            futures = [
                client.submit(analyze_chunk, path, c, job, found, report(c), pure=False)
                for c in chunks
            ]
            results = client.gather(futures)
    try:
        return stitch(path, results, job)
    except ChunkMismatch:
        whole = Chunk(0, -math.inf, math.inf, 0.0)
        return stitch(path, [_run(client, analyze_chunk, path, whole, job)], job)


def _run(client, fn, *args):
    if client is None:
        return fn(*args)
    return client.submit(fn, *args, pure=False).result()
