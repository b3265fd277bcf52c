"""The tasks a Dask worker runs for a batch: look at one video, analyse one video.

Each task reads its video by path and writes its reports into the video's own folder;
what goes back to the client is one index row and a few numbers, never frames. A folder
is *complete* when its marker, written last and atomically, names the same input file
(size, modification time, sha1 of its first MiB) and the same options
(:meth:`AnalysisJob.fingerprint`): a rerun keeps it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from painsign.analysis.replay import Analysis, analyze_video
from painsign.batch.index import SKIPPED, bare_row, summary_row
from painsign.batch.job import AnalysisJob
from painsign.batch.reports import FAILED, outcome, write_reports
from painsign.errors import PainsignError

#: The completion marker in each video's folder (written last).
MARKER = ".painsign-complete.json"
#: Bytes of the input file hashed for its fingerprint.
HEAD_BYTES = 1 << 20
#: Least seconds between two progress reports of one task.
REPORT_EVERY_S = 0.5

_set_up = False


def set_up_worker() -> None:
    """Once per worker process: one OpenCV thread (the worker is one core's worth), FFmpeg
    and OpenCV silent, patient files private (0600) whatever the worker's umask."""
    global _set_up
    if _set_up:
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    import cv2

    cv2.setNumThreads(1)
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    os.umask(0o077)
    _set_up = True


def dask_setup(worker) -> None:
    """Dask preload hook (``preload=["painsign.batch.work"]``): set the worker process up
    before its first task, and let Ctrl+C reach the client only (a terminal sends it to
    the whole process group; the client closes the cluster)."""
    import signal

    set_up_worker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def input_fingerprint(path: Path) -> dict:
    """Size, modification time (ns) and sha1 of the first MiB of a file.

    Raises
    ------
    OSError
        When the file cannot be read.
    """
    st = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha1(fh.read(HEAD_BYTES)).hexdigest()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha1": head}


def completed_row(video: Path, out: Path, job_fingerprint: str) -> dict | None:
    """The index row saved with ``out``'s reports when they are complete for this input
    file and these options; None when they must be (re)made."""
    try:
        marker = json.loads((out / MARKER).read_text())
        if marker["job"] != job_fingerprint or marker["input"] != input_fingerprint(video):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    row = marker["row"]
    if not all((out / f).is_file() for f in marker.get("files", ())):
        return None
    return row


def probe_video(video: Path, out: Path, job_fingerprint: str | None) -> dict:
    """Task: what the client needs to plan one video.

    Parameters
    ----------
    video, out : pathlib.Path
        The video and its output folder.
    job_fingerprint : str or None
        :meth:`AnalysisJob.fingerprint` of the batch; None: do not look for complete
        reports (no resume).

    Returns
    -------
    dict
        ``complete``: the saved index row of complete reports (then nothing else is
        needed), else ``duration_s`` and ``frames_expected`` (the container's; 0 when
        unknown), or ``row``: the failed row of a video that cannot be opened.
    """
    set_up_worker()
    from painsign.video.reader import probe

    done = None if job_fingerprint is None else completed_row(video, out, job_fingerprint)
    if done is not None:
        done["status"] = SKIPPED
        return {"complete": done}
    try:
        info = probe(video)
    except PainsignError as exc:
        return {"row": failed_row(video, out, str(exc), exc.exit_code)}
    duration = info.duration_s
    return {
        "duration_s": duration if duration == duration else 0.0,
        "frames_expected": info.frame_count,
    }


def analyze_to_folder(
    video: Path,
    out: Path,
    job: AnalysisJob,
    report: Callable[[int, int], None] | None = None,
    marker: bool = True,
) -> dict:
    """Task: analyse one video in one process and write its reports and marker.

    Parameters
    ----------
    video, out : pathlib.Path
        The video and its output folder.
    job : AnalysisJob
        The options; the models are those of :meth:`AnalysisJob.analyzer`.
    report : callable, optional
        ``report(frames_done, frames_expected)`` now and then.
    marker : bool
        Write the completion marker (a batch that may be resumed).

    Returns
    -------
    dict
        The video's index row (``exit_code`` says its exit status).
    """
    set_up_worker()
    if out.is_dir():
        (out / MARKER).unlink(missing_ok=True)
    try:
        fingerprint = input_fingerprint(video)
        analysis = analyze_video(
            video, job.analyzer(), job.sign_settings(), report, pipelined=job.pipelined
        )
    except PainsignError as exc:
        return failed_row(video, out, str(exc), exc.exit_code)
    except OSError as exc:
        return failed_row(video, out, f"video {video} cannot be read ({exc.strerror})", 2)
    except Exception as exc:  # a bug on one video must not stop the batch
        return failed_row(video, out, f"internal error: {type(exc).__name__}: {exc}", 3)
    return finish(analysis, video, out, job, fingerprint, marker)


def finish(
    analysis: Analysis,
    video: Path,
    out: Path,
    job: AnalysisJob,
    fingerprint: dict,
    marker: bool = True,
) -> dict:
    """Write a video's reports, then its marker; return its index row.

    Parameters
    ----------
    analysis : Analysis
        The whole video's analysis (one process or stitched chunks).
    video, out : pathlib.Path
        The video and its output folder.
    job : AnalysisJob
        The options.
    fingerprint : dict
        :func:`input_fingerprint` of the video, taken before it was read.
    marker : bool
        Write the completion marker.

    Returns
    -------
    dict
        The index row.
    """
    data = write_reports(analysis, out, job.figure)
    status, code, message = outcome(analysis, data)
    row = summary_row(video, out, data, status, message)
    row["exit_code"] = code
    if marker:
        files = ["frames.csv", "summary.json", *(["sign.png"] if job.figure else [])]
        saved = {"input": fingerprint, "job": job.fingerprint(), "files": files, "row": row}
        tmp = out / (MARKER + ".tmp")
        tmp.write_text(json.dumps(saved, indent=1) + "\n")
        os.replace(tmp, out / MARKER)
    return row


def failed_row(video: Path, out: Path, error: str, exit_code: int) -> dict:
    """The index row of a video without reports."""
    row = bare_row(video, out, FAILED, error)
    row["exit_code"] = exit_code
    return row


class Throttled:
    """A progress callback that passes at most one call per ``every_s`` (and the last).

    Parameters
    ----------
    send : callable
        ``send(frames_done, frames_expected)``.
    every_s : float
        Least seconds between two calls passed on.
    """

    def __init__(self, send: Callable[[int, int], None], every_s: float = REPORT_EVERY_S):
        self.send = send
        self.every_s = every_s
        self._last = -float("inf")

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s or done == total:
            self._last = now
            self.send(done, total)


class DaskProgress:
    """A progress callback for a task on a Dask worker: each call is an event on the
    client's topic (:meth:`distributed.Worker.log_event`); picklable.

    Parameters
    ----------
    topic : str
        The topic the client subscribed to.
    key : str
        The task's name in the client's progress counts.
    video : int
        The video's place in the batch (events of a finished video are ignored).
    """

    def __init__(self, topic: str, key: str, video: int):
        self.topic, self.key, self.video = topic, key, video

    def __call__(self, done: int, total: int) -> None:
        from distributed import get_worker

        message = {"key": self.key, "video": self.video, "done": done, "total": total}
        get_worker().log_event(self.topic, message)
