"""The client side of a batch: a Dask cluster, the videos' tasks, progress, the index.

By default a :class:`distributed.LocalCluster` of worker processes on loopback (one
thread each, no dashboard); ``scheduler`` connects to an existing cluster instead, whose
workers read the videos and write the reports by path (shared storage). The client
holds index rows and progress counts, never frames: workers report their progress as
Dask events (:meth:`distributed.Worker.log_event`) that the client subscribes to.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from painsign.batch.index import NOT_DONE, PENDING, BatchIndex, bare_row
from painsign.batch.inputs import BatchItem
from painsign.batch.job import AnalysisJob
from painsign.batch.work import (
    DaskProgress,
    Throttled,
    analyze_to_folder,
    failed_row,
    finish,
    input_fingerprint,
    probe_video,
)
from painsign.errors import InputError, PainsignError

#: Dask's own loggers (quiet unless ``--debug``).
DASK_LOGGERS = ("distributed", "tornado", "bokeh", "asyncio")
#: Seconds between two looks at the tasks and two progress updates.
POLL_S = 0.1
#: How long to wait for an existing scheduler (``--scheduler``).
CONNECT_TIMEOUT_S = 10
#: Dask's environment for the worker processes its nannies start, and the variable of
#: it that slows this pipeline down (see :func:`worker_environ`).
WORKER_ENVIRON = "distributed.nanny.pre-spawn-environ"
TRIM_VARIABLE = "MALLOC_TRIM_THRESHOLD_"
#: Dask settings of the local cluster that cost this pipeline time (see :func:`connect`).
QUIET_CLUSTER = {
    # Dask's statistical profiler walks each worker's thread stacks every 10 ms; with
    # painsign's many short Python calls that took about 10 % of a worker's time
    # (10-min video in 2 chunks: 44-46 -> 39-41 CPU s per worker, wall 51 -> 45 s).
    "distributed.worker.profile.enabled": False,
    # The scheduler (in the client's process) and the workers look at their own CPU,
    # memory and event loop 2 to 50 times a second; less often, the client's event-loop
    # thread took 0.6-1 s less CPU over that run, CPU the workers need.
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "500ms",
    "distributed.worker.memory.monitor-interval": "1s",
}


@dataclass
class BatchOptions:
    """How a batch runs.

    Attributes
    ----------
    workers : int or None
        Worker processes of the local cluster (None: one per core).
    scheduler : str or None
        Address of an existing scheduler (``tcp://HOST:8786``); no local cluster then.
    chunk_s : float
        Videos longer than this are analysed in time chunks in parallel (0: never).
    resume : bool
        Skip videos whose complete reports are there; write each folder's marker.
    debug : bool
        Let Dask log as it likes (otherwise its records are hidden).
    """

    workers: int | None = None
    scheduler: str | None = None
    chunk_s: float = 300.0
    resume: bool = True
    debug: bool = False


@dataclass
class _State:
    """What the client keeps while a batch runs."""

    expected: dict[int, int] = field(default_factory=dict)  # video -> frames expected
    finished: dict[int, int] = field(default_factory=dict)  # video -> frames analysed
    running: dict[str, tuple[int, int]] = field(default_factory=dict)  # task -> progress
    closed: set[int] = field(default_factory=set)  # videos finished (late events ignored)

    def done_and_total(self) -> tuple[int, int]:
        running = sum(done for key, (done, _) in list(self.running.items()))
        return sum(self.finished.values()) + running, sum(self.expected.values())


def quiet_dask(debug: bool) -> None:
    """Keep Dask's log records off stderr unless ``debug``: in this process and in the
    worker processes it starts (they read the environment when they import Dask)."""
    if debug:
        return
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "critical"
    os.environ["DASK_DISTRIBUTED__LOGGING__DISTRIBUTED"] = "critical"
    for name in DASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def connect(options: BatchOptions):
    """Start a local cluster, or connect to ``options.scheduler``; return the client and
    the cluster (None for an existing one).

    Raises
    ------
    InputError
        When the scheduler cannot be reached.
    """
    quiet_dask(options.debug)
    import dask
    from distributed import Client, LocalCluster

    if options.scheduler:
        try:
            return Client(options.scheduler, timeout=CONNECT_TIMEOUT_S), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                f"--scheduler {options.scheduler}: cannot reach the Dask scheduler ({exc})"
            ) from None
    n = options.workers or os.cpu_count() or 1
    # The scheduler made here reads these, and each nanny reads the environment when it
    # is made. A nanny's config for the workers it starts and restarts is only a shallow
    # merge of Dask's: without a copy of its own, leaving this block would undo the
    # settings for a restarted worker (measured: its profiler came back).
    with dask.config.set({WORKER_ENVIRON: worker_environ(), **QUIET_CLUSTER}):
        worker_config = copy.deepcopy(dask.config.config)
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",  # listen on loopback only, and no DNS look-up of the host name
            dashboard_address=None,
            # No dashboard; the scheduler's small HTTP server (health checks) on a free
            # loopback port rather than the fixed 8787 (":0" would mean 0.0.0.0 there).
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=False if options.debug else logging.CRITICAL,
            preload=["painsign.batch.work"],
            config=worker_config,
        )
    return Client(cluster), cluster


def worker_environ() -> dict:
    """Dask's environment for new worker processes without ``MALLOC_TRIM_THRESHOLD_``.

    Dask sets it to 64 KiB, which also turns off glibc's adaptive mmap threshold (so,
    presumably, frame-sized buffers are mapped and unmapped afresh): this pipeline was
    measured 45 % slower with it, 6.43 instead of 4.32 ms per frame in one process, 172
    instead of 248 frames/s per worker. A variable already in this process's environment
    still reaches the workers (Dask lets the environment win).
    """
    import dask
    import distributed  # noqa: F401  (it adds its defaults to Dask's config)

    environ = dict(dask.config.get(WORKER_ENVIRON))
    environ.pop(TRIM_VARIABLE, None)
    return environ


def run_batch(
    items: list[BatchItem],
    out_dir: Path,
    job: AnalysisJob,
    options: BatchOptions,
    index_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Analyse every video on a Dask cluster, each into ``out_dir / item.name``.

    Parameters
    ----------
    items : list of BatchItem
        The videos and their folder names.
    out_dir : pathlib.Path
        Where the folders go.
    job : AnalysisJob
        The options of every video.
    options : BatchOptions
        Cluster, chunking, resume.
    index_path : pathlib.Path, optional
        ``index.csv``, rewritten as each video finishes (none when None).
    progress : callable, optional
        ``progress(frames_done, frames_expected)`` over the whole batch, often.

    Returns
    -------
    list of dict
        One index row per video, in order; ``exit_code`` holds each one's exit status.

    Raises
    ------
    KeyboardInterrupt
        After the index says which videos were not done and the cluster is closed.
    """
    client, cluster = connect(options)  # first: an unreachable scheduler writes nothing
    rows = [bare_row(it.video, out_dir / it.name, PENDING) for it in items]
    index = BatchIndex(index_path, rows) if index_path is not None else None
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="painsign-chunked")
    try:
        if index is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            index.write()
        return _Batch(client, pool, items, out_dir, job, options, index, rows, progress).run()
    except KeyboardInterrupt:
        for i, row in enumerate(rows):
            if row["status"] == PENDING:
                rows[i] = bare_row(items[i].video, out_dir / items[i].name, NOT_DONE)
        if index is not None:
            index.write()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        client.close()
        if cluster is not None:
            cluster.close()


def task_job(job: AnalysisJob, tasks: int, workers: int) -> AnalysisJob:
    """The job as a task runs it: in other threads too only where workers are idle.

    With at least as many tasks as workers every worker is busy, and a worker has its
    core to itself (one per core): a task then decodes, locates faces and scores in one
    thread, which took less CPU in all than handing frames between threads (the 60-s
    bench video, four runs of each taking turns: median 3.49 against 3.66 ms a frame).
    With fewer, decoding and locating faces run ahead in threads of their own on the idle
    cores. Results are the same either way.

    Parameters
    ----------
    job : AnalysisJob
        The options of the run.
    tasks : int
        Tasks that can run at once: the videos of the batch, or a long video's chunks.
    workers : int
        Workers of the cluster when the batch starts.

    Returns
    -------
    AnalysisJob
        ``job``, or a copy with ``pipelined=False``.
    """
    return job if tasks < workers else replace(job, pipelined=False)


class _Batch:
    """One run of :func:`run_batch` once the client is up."""

    def __init__(self, client, pool, items, out_dir, job, options, index, rows, progress):
        self.client, self.pool = client, pool
        self.items, self.out_dir, self.job, self.options = items, out_dir, job, options
        self.workers = len(client.scheduler_info()["workers"])
        self.index, self.rows, self.progress = index, rows, progress
        self.state = _State()
        self.token = uuid.uuid4().hex[:12]
        self.topic = f"painsign-progress-{self.token}"
        self.fingerprint = job.fingerprint()

    def out(self, i: int) -> Path:
        return self.out_dir / self.items[i].name

    def run(self) -> list[dict]:
        from distributed import as_completed

        self.client.subscribe_topic(self.topic, self._on_progress)
        tasks: dict = {}
        for i, item in enumerate(self.items):
            fingerprint = self.fingerprint if self.options.resume else None
            f = self.client.submit(
                probe_video, item.video, self.out(i), fingerprint,
                key=f"probe-{i}-{self.token}", pure=False,
            )  # fmt: skip
            tasks[f] = ("probe", i)
        waiting = as_completed(list(tasks))
        chunked: dict[Future, int] = {}
        left = len(self.items)
        while left:
            for f in waiting.next_batch(block=False) if waiting.has_ready() else []:
                kind, i = tasks.pop(f)
                if kind == "probe":
                    submitted = self._planned(i, f)
                    if isinstance(submitted, Future):
                        chunked[submitted] = i
                    elif submitted is not None:
                        tasks[submitted] = ("analyze", i)
                        waiting.add(submitted)
                    else:
                        left -= 1
                else:
                    self._record(i, self._row(i, f))
                    left -= 1
            for cf in [cf for cf in chunked if cf.done()]:
                i = chunked.pop(cf)
                self._record(i, cf.result())
                left -= 1
            done, total = self.state.done_and_total()
            if self.progress is not None and total > 0:
                self.progress(done, total)
            if left:
                time.sleep(POLL_S)
        self.client.unsubscribe_topic(self.topic)
        return self.rows

    def _on_progress(self, event) -> None:
        msg = event[1]
        if msg.get("video") in self.state.closed:
            return
        # The most a task has reported: a task Dask reruns, or a chunk redone, starts
        # again from 0, and the frames done are not undone by it.
        before = self.state.running.get(msg["key"], (0, 0))[0]
        self.state.running[msg["key"]] = (max(before, int(msg["done"])), int(msg["total"]))

    def _planned(self, i: int, f):
        """Act on a probe: record a skipped or failed video (return None), or start its
        analysis (return its Dask future, or a thread future for a chunked one)."""
        result = self._result(i, f)
        if "complete" in result or "row" in result:
            self._record(i, result.get("complete") or result["row"])
            return None
        self.state.expected[i] = int(result["frames_expected"])
        video, out = self.items[i].video, self.out(i)
        chunk_s = self.options.chunk_s
        if chunk_s > 0 and result["duration_s"] > chunk_s:
            chunks = math.ceil(result["duration_s"] / chunk_s)
            job = task_job(self.job, max(chunks, len(self.items)), self.workers)
            return self.pool.submit(self._chunked, i, video, out, job)
        key = f"analyze-{i}-{self.token}"
        report = DaskProgress(self.topic, key, i)
        return self.client.submit(
            _analyze_task, video, out, task_job(self.job, len(self.items), self.workers),
            report, self.options.resume,
            key=key, pure=False,
        )  # fmt: skip

    def _chunked(self, i: int, video: Path, out: Path, job: AnalysisJob) -> dict:
        """A long video: its time chunks in parallel on the cluster, stitched and written
        here (in a thread of the client)."""
        from painsign.batch.chunks import analyze_chunked

        try:
            if self.options.resume:
                out.mkdir(parents=True, exist_ok=True)
            fingerprint = input_fingerprint(video)
            analysis = analyze_chunked(
                video, job, self.client, self.options.chunk_s,
                progress=lambda k: Throttled(DaskProgress(self.topic, self._chunk_key(i, k), i)),
            )  # fmt: skip
            return finish(analysis, video, out, self.job, fingerprint, self.options.resume)
        except PainsignError as exc:
            return failed_row(video, out, str(exc), exc.exit_code)
        except Exception as exc:  # a bug or a lost cluster on one video: the batch goes on
            return failed_row(video, out, f"internal error: {type(exc).__name__}: {exc}", 3)

    def _chunk_key(self, i: int, k: int | str = "") -> str:
        """The progress key of chunk ``k`` of video ``i`` (without ``k``: their prefix)."""
        return f"chunk-{self.token}-{i}-{k}"

    def _result(self, i: int, f) -> dict:
        """The value of a finished task, or a failed row for a task that raised or whose
        worker died more often than Dask allows."""
        if f.status == "finished":
            return f.result()
        exc = f.exception()
        name = type(exc).__name__
        if name == "KilledWorker":
            text = f"the worker analysing it died too often ({exc})"
        else:
            text = f"internal error: {name}: {exc}"
        return {"row": failed_row(self.items[i].video, self.out(i), text, 3)}

    def _row(self, i: int, f) -> dict:
        result = self._result(i, f)
        return result.get("row", result)

    def _record(self, i: int, row: dict) -> None:
        """A video is finished (analysed, failed or skipped): its row, its frames."""
        self.rows[i] = row
        self.state.closed.add(i)
        self.state.running.pop(f"analyze-{i}-{self.token}", None)
        for key in [k for k in list(self.state.running) if k.startswith(self._chunk_key(i))]:
            self.state.running.pop(key, None)
        if i in self.state.expected:  # analysed here: count what it had, not the estimate
            self.state.finished[i] = self.state.expected[i] = int(row.get("frames") or 0)
        if self.index is not None:
            self.index.set(i, row)


def _analyze_task(
    video: Path, out: Path, job: AnalysisJob, report: DaskProgress, marker: bool
) -> dict:
    """Task: :func:`analyze_to_folder` with its progress sent to the client as events."""
    return analyze_to_folder(video, out, job, Throttled(report), marker)
