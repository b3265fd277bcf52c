"""`painsign analyze` of many videos on a real Dask cluster (issue 14).

Real synthetic face videos, a broken file, a real ``distributed.LocalCluster`` of worker
processes (started by the command, or by the test when it must kill a worker), and
``dask scheduler`` / ``dask worker`` processes on loopback for ``--scheduler``.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import painsign_cli
import pytest
from painsign_cli import run_painsign
from synthetic import neutral_animator, render_video

from painsign.batch.index import read_index
from painsign.batch.inputs import output_names
from painsign.batch.job import AnalysisJob
from painsign.synth.animator import Segment

FPS = 10.0
GRIMACE = {"brow_bulge": 0.9, "eye_squeeze": 0.9, "open_lips": 0.9, "vertical_stretch": 0.6}
SCORERS = ("pain", "expression", "nfcs")
DASK_BIN = Path(sys.executable).parent
#: A cluster of the test's own, as painsign starts one: loopback, no fixed HTTP port.
LOCAL_CLUSTER = {
    "n_workers": 2,
    "threads_per_worker": 1,
    "processes": True,
    "host": "127.0.0.1",
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
}


def start_painsign(*args) -> subprocess.Popen:
    """The command in its own session, so that the test can signal it and find what it
    started."""
    return painsign_cli.start_painsign(*args, start_new_session=True)


def make_videos(folder: Path, n_rest: int = 1, seconds: float = 4.0) -> list[Path]:
    """a.mp4 (a grimace), sub/a.mp4 (the same name elsewhere) and rest videos r0.mp4 ..."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    grimace = [Segment(1.5, 3.0, GRIMACE, ramp_s=0.2)]
    videos = [folder / "a.mp4", folder / "sub" / "a.mp4"]
    render_video(videos[0], grimace, seconds + 1.0, FPS, neutral_animator())
    render_video(videos[1], grimace, seconds, FPS, neutral_animator())
    for i in range(n_rest):
        videos.append(folder / f"r{i}.mp4")
        render_video(videos[-1], [], seconds, FPS, neutral_animator())
    return videos


def wait_for(predicate, timeout: float, what: str, step: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def rows_with(index: Path, status: str) -> list[dict]:
    try:
        return [r for r in read_index(index) if r["status"] == status]
    except (OSError, csv.Error):
        return []


def session_processes(sid: int) -> list[int]:
    import psutil

    alive = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getsid(p.info["pid"]) == sid and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p.info["pid"])
        except (ProcessLookupError, PermissionError, psutil.Error):
            pass
    return alive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Three videos (two named a.mp4) and a broken one, analysed as a batch on a local
    cluster of 2 worker processes."""
    root = tmp_path_factory.mktemp("archive")
    videos = make_videos(root / "videos")
    broken = root / "videos" / "broken.mp4"
    broken.write_bytes(videos[0].read_bytes()[:3000])  # an MP4 cut off: no index
    out = root / "out"
    r = run_painsign("analyze", root / "videos", "--out", out, "--workers", 2, "--quiet")
    return videos, broken, out, r


@pytest.mark.slow
def test_batch_exit_status_and_one_error_line(archive):
    """A broken video does not stop the batch; the command exits at the end with the
    README's status for unusable input (2) and one line naming it."""
    *_, r = archive
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("painsign: error: 1 of 4 videos")
    assert "broken.mp4" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_index_lists_every_video_with_its_numbers(archive):
    videos, broken, out, _ = archive
    rows = read_index(out / "index.csv")
    expected_cols = ["video", "status", "error", "duration_s", "frames", "frames_with_face"]
    for name in SCORERS:
        expected_cols += [f"{name}_{f}" for f in ("mean", "prediction", "sign_type", "review")]
    assert list(rows[0]) == [*expected_cols, "output"]
    # folders sorted by path; the broken file has the error, no numbers and no report
    assert [Path(r["video"]) for r in rows] == sorted([*videos, broken])
    by_video = {Path(r["video"]): r for r in rows}
    bad = by_video[broken]
    assert bad["status"] == "failed" and "cannot be opened" in bad["error"]
    assert bad["frames"] == "" and not Path(bad["output"]).exists()
    outputs = set()
    for video in videos:
        row = by_video[video]
        assert row["status"] == "ok" and row["error"] == ""
        folder = Path(row["output"])
        assert folder.parent == out
        outputs.add(folder)
        summary = json.loads((folder / "summary.json").read_text())
        assert int(row["frames"]) == summary["frames"] > 0
        assert int(row["frames_with_face"]) == summary["frames_with_face"]
        assert float(row["duration_s"]) == summary["duration_s"]
        for name in SCORERS:
            s = summary["scorers"][name]
            assert float(row[f"{name}_mean"]) == s["mean"]
            assert row[f"{name}_prediction"] == ("pain" if s["prediction"] else "no pain")
            assert row[f"{name}_sign_type"] == s["sign_type"]
            assert row[f"{name}_review"] == str(int(s["needs_review"]))
    # the two a.mp4 get two folders; the other keeps its stem
    assert len(outputs) == 3 and out / "r0" in outputs
    assert sorted(p.name for p in outputs if p.name.startswith("a-")) == sorted(
        p.name for p in outputs if p.name != "r0"
    )
    # patient data: private files and folders, no temporary index left behind
    assert (out / "index.csv").stat().st_mode & 0o777 == 0o600
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in outputs)
    assert not list(out.glob("*.tmp"))


@pytest.mark.slow
def test_batch_reports_are_those_of_one_video_runs(archive, tmp_path):
    """Each folder holds byte for byte what `painsign analyze VIDEO` writes for the file."""
    videos, _, out, _ = archive
    folders = {Path(r["video"]): Path(r["output"]) for r in read_index(out / "index.csv")}
    for video in videos:
        alone = tmp_path / video.parent.name / video.stem
        r = run_painsign("analyze", video, "--out", alone, "--quiet")
        assert r.returncode == 0, r.stderr
        for name in ("frames.csv", "summary.json", "sign.png"):
            assert (alone / name).read_bytes() == (folders[video] / name).read_bytes(), name


@pytest.mark.slow
def test_csv_list_and_rerun_skips_complete_reports(tmp_path):
    videos = make_videos(tmp_path / "v", n_rest=0)
    lst = tmp_path / "list.csv"
    lst.write_text("video\nv/sub/a.mp4\n" + f"{videos[0]}\n")
    out = tmp_path / "out"
    r = run_painsign("analyze", lst, "--out", out, "--workers", 2, "--quiet")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    rows = read_index(out / "index.csv")
    assert [Path(x["video"]) for x in rows] == [videos[1], videos[0]]
    assert [x["status"] for x in rows] == ["ok", "ok"]
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    r = run_painsign("analyze", lst, "--out", out, "--workers", 2, "--quiet")
    assert r.returncode == 0, r.stderr
    assert [x["status"] for x in read_index(out / "index.csv")] == ["skipped-complete"] * 2
    assert {p: p.stat().st_mtime_ns for p in stamps if p.name != "index.csv"} == {
        p: t for p, t in stamps.items() if p.name != "index.csv"
    }
    # other options (a shorter window) change the outputs: both are redone
    r = run_painsign("analyze", lst, "--out", out, "--workers", 2, "--quiet", "--window", "5")
    assert r.returncode == 0, r.stderr
    assert [x["status"] for x in read_index(out / "index.csv")] == ["ok", "ok"]
    # so does a changed input file (touched: another modification time)
    os.utime(videos[0], ns=(time.time_ns(), time.time_ns()))
    r = run_painsign("analyze", lst, "--out", out, "--workers", 2, "--quiet", "--window", "5")
    assert [x["status"] for x in read_index(out / "index.csv")] == ["skipped-complete", "ok"]


@pytest.mark.slow
def test_client_killed_then_rerun_completes_without_redoing(tmp_path):
    """SIGKILL to the client mid-batch: its workers go with it, index.csv stays readable;
    the rerun keeps the finished videos' reports untouched and does the rest."""
    videos = make_videos(tmp_path / "v", n_rest=3, seconds=5.0)
    out = tmp_path / "out"
    index = out / "index.csv"
    args = ("analyze", tmp_path / "v", "--out", out, "--workers", 1, "--quiet")
    proc = start_painsign(*args)
    try:
        wait_for(lambda: rows_with(index, "ok"), 120, "a first finished video")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    wait_for(lambda: not session_processes(proc.pid), 30, "the worker processes to exit")
    rows = read_index(index)
    done = [Path(x["output"]) for x in rows if x["status"] == "ok"]
    assert done and len(done) < len(videos), [x["status"] for x in rows]
    assert {x["status"] for x in rows} <= {"ok", "pending"}
    stamps = {p: p.stat().st_mtime_ns for d in done for p in d.iterdir()}
    r = run_painsign(*args)
    assert r.returncode == 0, r.stderr
    rows = read_index(index)
    for x in rows:
        expected = "skipped-complete" if Path(x["output"]) in done else "ok"
        assert x["status"] == expected, x
        assert (Path(x["output"]) / "summary.json").is_file()
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_what_was_not_done(tmp_path):
    make_videos(tmp_path / "v", n_rest=3, seconds=5.0)
    out = tmp_path / "out"
    proc = start_painsign("analyze", tmp_path / "v", "--out", out, "--workers", 1, "--quiet")
    try:
        wait_for(lambda: rows_with(out / "index.csv", "ok"), 120, "a first finished video")
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl+C does
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert stderr == "painsign: interrupted\n"
    statuses = [x["status"] for x in read_index(out / "index.csv")]
    assert "ok" in statuses and "not-done" in statuses and "pending" not in statuses
    wait_for(lambda: not session_processes(proc.pid), 30, "the worker processes to exit")


@pytest.mark.slow
def test_worker_killed_mid_batch_is_rerun_by_dask(tmp_path, archive):
    """A worker process SIGKILLed while it analyses a video: Dask reruns its task on a
    worker the nanny restarts, and the batch completes with the same reports."""
    from distributed import Client, LocalCluster

    videos = archive[0]
    first = {Path(r["video"]): Path(r["output"]) for r in read_index(archive[2] / "index.csv")}
    out = tmp_path / "out"
    with (
        LocalCluster(**LOCAL_CLUSTER) as cluster,
        Client(cluster) as client,
    ):
        proc = start_painsign(
            "analyze", *videos, "--out", out, "--scheduler", cluster.scheduler_address, "--quiet"
        )

        def busy_worker():
            for address, keys in client.processing().items():
                if any(str(k).startswith("analyze-") for k in keys):
                    return address
            return None

        try:
            address = wait_for(busy_worker, 120, "a worker analysing a video")
            time.sleep(0.3)
            assert busy_worker() is not None
            pid = client.run(os.getpid, workers=[address])[address]
            os.kill(pid, signal.SIGKILL)
            stdout, stderr = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert proc.returncode == 0, stdout + stderr
        wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 60, "the restarted worker")
        assert pid not in client.run(os.getpid).values()
    rows = read_index(out / "index.csv")
    assert [x["status"] for x in rows] == ["ok"] * len(videos)
    for x in rows:
        again, before = Path(x["output"]), first[Path(x["video"])]
        assert (again / "frames.csv").read_bytes() == (before / "frames.csv").read_bytes()


@pytest.mark.slow
def test_existing_cluster_of_dask_processes(tmp_path, archive):
    """`dask scheduler` and two `dask worker` processes on loopback, then --scheduler."""
    videos, broken = archive[0][:2], archive[1]
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    loopback = ("--host", "127.0.0.1", "--no-dashboard")
    dask = DASK_BIN / "dask"
    started = [subprocess.Popen([dask, "scheduler", "--port", str(port), *loopback], **quiet)]
    try:
        for _ in range(2):
            worker = [dask, "worker", address, "--nthreads", "1", *loopback]
            started.append(subprocess.Popen(worker, **quiet))
        out = tmp_path / "out"
        r = run_painsign(
            "analyze", *videos, broken, "--out", out, "--scheduler", address, "--quiet"
        )
        assert r.returncode == 2, r.stdout + r.stderr
        rows = read_index(out / "index.csv")
        assert [x["status"] for x in rows] == ["ok", "ok", "failed"]
        first = {Path(x["video"]): Path(x["output"]) for x in read_index(archive[2] / "index.csv")}
        for x in rows[:2]:
            again = Path(x["output"]) / "summary.json"
            assert again.read_bytes() == (first[Path(x["video"])] / "summary.json").read_bytes()
    finally:
        for p in started[::-1]:
            p.terminate()
        for p in started:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
def test_unreachable_scheduler_is_one_line(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    port = free_port()  # nothing listens there
    out = tmp_path / "out"
    r = run_painsign(
        "analyze", video, video, "--out", out, "--scheduler", f"tcp://127.0.0.1:{port}"
    )
    assert r.returncode == 2 and not out.exists()
    assert r.stderr.startswith("painsign: error: --scheduler") and r.stderr.count("\n") == 1


@pytest.mark.slow
def test_local_cluster_stays_on_loopback(tmp_path, archive):
    """Under ``strace -f`` (the client, the scheduler, the nanny and worker processes): no
    connection beyond loopback, no DNS look-up, every socket bound to 127.0.0.1 on a port
    the system picks (no fixed dashboard port)."""
    from test_no_network import _strace_works, outbound, traced

    if not _strace_works():
        pytest.skip("strace is not installed or may not trace here")
    videos = archive[0][:2]
    out = tmp_path / "out"
    args = ["analyze", *map(str, videos), "--out", str(out), "--workers", "2", "--quiet"]
    r, trace, _ = traced(args, tmp_path, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert outbound(trace) == []
    binds = [line for line in trace.splitlines() if " bind(" in line and "AF_INET" in line]
    assert len(binds) >= 4  # scheduler, its HTTP server, two workers and their nannies
    assert all('inet_addr("127.0.0.1")' in b and "htons(0)" in b for b in binds), binds


@pytest.mark.slow
def test_long_videos_go_to_the_chunked_path(tmp_path, archive):
    """Videos longer than --chunk are cut into time chunks on the cluster (engineer O's
    painsign/batch/chunks.py) and give the reports of the whole-video batch."""
    from distributed import LocalCluster

    videos = [v for v in archive[0] if v.parent.name != "sub"]
    first = {Path(r["video"]): Path(r["output"]) for r in read_index(archive[2] / "index.csv")}
    out = tmp_path / "out"
    with LocalCluster(**LOCAL_CLUSTER) as cluster:
        r = run_painsign(
            "analyze", *videos, "--out", out, "--scheduler", cluster.scheduler_address,
            "--chunk", 2, "--quiet",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        prefixes = set(cluster.scheduler.task_prefixes)
    assert "analyze_chunk" in prefixes and "analyze" not in prefixes, prefixes
    for x in read_index(out / "index.csv"):
        before = first[Path(x["video"])]
        for name in ("frames.csv", "summary.json"):
            assert (Path(x["output"]) / name).read_bytes() == (before / name).read_bytes()


@pytest.mark.slow
def test_workers_report_progress_within_a_video(tmp_path, archive, monkeypatch):
    """The overall progress moves while a video is analysed (the workers' events), not only
    when it ends, and ends at the frames analysed."""
    from painsign.batch.runner import BatchOptions, run_batch

    monkeypatch.setenv("DASK_LOGGING__DISTRIBUTED", "critical")  # undone after the test
    monkeypatch.setenv("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", "critical")
    items = output_names([archive[0][0]])
    calls = []
    rows = run_batch(
        items,
        tmp_path,
        AnalysisJob(figure=False),
        BatchOptions(workers=1, chunk_s=0, resume=False),
        progress=lambda done, total: calls.append((done, total)),
    )
    frames = rows[0]["frames"]
    assert rows[0]["status"] == "ok" and calls[-1] == (frames, frames)
    assert any(0 < done < total for done, total in calls), calls


@pytest.mark.slow
def test_progress_moves_while_a_video_is_analysed_in_chunks(tmp_path, monkeypatch):
    """A 25-s video in three 10-s chunks on two workers: the chunk tasks report their
    frames as they go (the bar moves before the video ends) and it ends at the frames
    analysed."""
    from painsign.batch.runner import BatchOptions, run_batch

    monkeypatch.setenv("DASK_LOGGING__DISTRIBUTED", "critical")  # undone after the test
    monkeypatch.setenv("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", "critical")
    video = tmp_path / "long.mp4"
    render_video(video, [], 25.0, FPS, neutral_animator())
    calls = []
    rows = run_batch(
        output_names([video]),
        tmp_path / "out",
        AnalysisJob(figure=False),
        BatchOptions(workers=2, chunk_s=10.0, resume=False),
        progress=lambda done, total: calls.append((done, total)),
    )
    frames = rows[0]["frames"]
    assert rows[0]["status"] == "ok" and frames == 250 and calls[-1] == (frames, frames)
    moving = sorted({done for done, total in calls if 0 < done < total})
    assert len(moving) >= 3, calls  # several steps, not one jump at the end
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)  # never back


def damaged_clip(path: Path) -> Path:
    """30 frames of the bundled demo in MPEG-4 whose frames 10-14 do not decode (their
    picture start codes destroyed, as tests/test_video_damage.py does)."""
    import re

    import cv2

    cap = cv2.VideoCapture(str(Path(__file__).resolve().parents[1] / "assets/demo_grimace.mp4"))
    frames = [cap.read()[1] for _ in range(30)]
    cap.release()
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    data = bytearray(path.read_bytes())
    starts = [m.start() for m in re.finditer(re.escape(b"\x00\x00\x01\xb6"), bytes(data))]
    for k in range(10, 15):
        data[starts[k] : starts[k] + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    return path


@pytest.mark.slow
def test_damaged_video_in_a_batch_keeps_its_status_on_rerun(tmp_path, archive):
    """A damaged file gets its reports and status 2; a rerun keeps the reports (they are
    complete for that file) and still exits 2, with the same error in index.csv."""
    damaged = damaged_clip(tmp_path / "damaged.mp4")
    rest = archive[0][-1]
    out = tmp_path / "out"
    r = run_painsign("analyze", damaged, rest, "--out", out, "--workers", 2, "--quiet")
    assert r.returncode == 2 and "is damaged" in r.stderr, r.stderr
    first = read_index(out / "index.csv")
    assert [x["status"] for x in first] == ["damaged", "ok"]
    assert "5 frames could not be decoded" in first[0]["error"]
    assert int(first[0]["frames"]) == 30 and (out / "damaged" / "frames.csv").is_file()
    r = run_painsign("analyze", damaged, rest, "--out", out, "--workers", 2, "--quiet")
    assert r.returncode == 2 and "is damaged" in r.stderr, r.stderr
    again = read_index(out / "index.csv")
    assert [x["status"] for x in again] == ["skipped-complete"] * 2
    assert again[0]["error"] == first[0]["error"]


def _worker_timers(dask_worker) -> dict:
    """What a worker's periodic work is: its callbacks and the intervals (ms) of those
    painsign slows down."""
    callbacks = dask_worker.periodic_callbacks
    return {
        "names": sorted(callbacks),
        "memory_ms": callbacks["memory_monitor"].callback_time,
        "tick_ms": callbacks["tick"].callback_time,
    }


@pytest.mark.slow
def test_local_cluster_workers_run_without_dask_slowdowns(monkeypatch):
    """Two Dask defaults cost this pipeline measured time: MALLOC_TRIM_THRESHOLD_=65536
    (45 % slower per frame) and the workers' statistical profiler (about 10 %). The
    workers painsign starts, and one their nanny restarts, have neither; the rest of
    Dask's worker environment stays, and the scheduler looks at itself every 2 s."""
    from painsign.batch.runner import BatchOptions, connect

    # A cluster made earlier in this process leaves it in os.environ (Dask's nanny sets it
    # there), and the environment would reach the workers.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    client, cluster = connect(BatchOptions(workers=1))
    try:
        for _ in range(2):
            seen = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
            assert list(seen.values()) == [None], seen
            assert list(client.run(os.environ.get, "OPENBLAS_NUM_THREADS").values()) == ["1"]
            (timers,) = client.run(_worker_timers).values()
            assert "profile" not in timers["names"] and "heartbeat" in timers["names"]
            assert (timers["memory_ms"], timers["tick_ms"]) == (1000, 500)
            client.restart()  # a new worker process from the same nanny
        assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
        monitor_ms = client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.periodic_callbacks["monitor"].callback_time
        )
        assert monitor_ms == 2000
    finally:
        client.close()
        cluster.close()
