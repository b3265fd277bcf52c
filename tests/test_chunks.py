"""One long recording in time chunks, analysed in parallel and stitched: the same outputs.

Real data paths: the bundled demo video, a 175-s recording made from it, damaged copies
of it, real ONNX models, and a real ``distributed.LocalCluster`` of worker processes on
loopback. Agreement is checked the way the issue states it: identical frame indices,
time stamps and face flags, identical sign types and events, and every scorer's smoothed
sign within 0.01 at every frame.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import struct
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from painsign_cli import run_painsign

from painsign.analysis.replay import analyze_video
from painsign.batch.chunks import (
    DEFAULT_WARMUP_S,
    Baseline,
    Chunk,
    ChunkMismatch,
    analyze_chunk,
    analyze_chunked,
    find_baseline,
    plan_chunks,
    stitch,
)
from painsign.batch.job import AnalysisJob
from painsign.video.reader import VideoReader, probe

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "assets" / "demo_grimace.mp4"
FPS = 30.0
#: The issue's bound on the smoothed sign's difference at any frame.
SIGN_TOLERANCE = 0.01

# -- the plan ---------------------------------------------------------------------------


def owners(chunks: list[Chunk], t: float) -> list[int]:
    return [c.index for c in chunks if c.start_s <= t < c.end_s]


def test_plan_gives_every_frame_to_exactly_one_chunk_and_the_last_is_short():
    chunks = plan_chunks(25.0, 10.0, 2.0)
    assert [(c.index, c.warm_start_s) for c in chunks] == [(0, 0.0), (1, 8.0), (2, 18.0)]
    assert chunks[0].start_s == -math.inf and chunks[-1].end_s == math.inf
    assert [c.start_s for c in chunks[1:]] == [10.0, 20.0]
    for k in range(round(26.0 * FPS)):  # a little past the nominal end too
        assert len(owners(chunks, k / FPS)) == 1, k
    assert owners(chunks, 10.0) == [1] and owners(chunks, 10.0 - 1e-9) == [0]
    assert owners(chunks, 24.99) == [2]  # the last chunk holds the 5 s left


def test_a_video_shorter_than_a_chunk_or_of_unknown_length_is_one_chunk():
    one = [Chunk(0, -math.inf, math.inf, 0.0)]
    assert plan_chunks(8.0, 10.0, 2.0) == one
    assert plan_chunks(float("nan"), 10.0, 2.0) == one
    assert len(plan_chunks(20.0, 10.0, 2.0)) == 2  # an exact multiple: no empty chunk
    assert plan_chunks(20.0, 10.0, 15.0)[1].warm_start_s == 0.0


@pytest.mark.parametrize("chunk_s, warmup_s", [(0.0, 1.0), (-5.0, 1.0), (10.0, -1.0)])
def test_plan_refuses_lengths_that_make_no_chunks(chunk_s, warmup_s):
    with pytest.raises(ValueError):
        plan_chunks(60.0, chunk_s, warmup_s)
    with pytest.raises(ValueError):
        plan_chunks(60.0, 10.0, 2.0, settle_s=10.0)


def test_plan_with_settling_starts_chunks_after_their_instant_and_reads_before_it():
    chunks = plan_chunks(25.0, 10.0, 2.0, settle_s=0.7)
    assert [(c.start_s, c.end_s, c.warm_start_s) for c in chunks] == [
        (-math.inf, 10.7, 0.0),
        (10.7, 20.7, 8.0),
        (20.7, math.inf, 18.0),
    ]
    for k in range(round(26.0 * FPS)):
        assert len(owners(chunks, k / FPS)) == 1, k


# -- the reader started at a time ------------------------------------------------------


def frames_of(reader: VideoReader, n: int) -> list[tuple[int, float, str]]:
    out = []
    for f in reader:
        out.append((f.index, f.t, hashlib.md5(f.bgr.tobytes()).hexdigest()))
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize("threaded", [True, False], ids=["decode thread", "in-thread"])
def test_reader_started_at_a_time_gives_the_frames_of_a_read_from_the_start(threaded):
    whole = frames_of(VideoReader(DEMO), 400)
    started = frames_of(VideoReader(DEMO, start_s=10.3, threaded=threaded), 40)
    assert started[0][0] == 309  # the first frame at or after 10.3 s
    assert started == whole[309:349]  # indices, time stamps and pixels


def test_reading_in_the_callers_thread_gives_every_frame_of_the_decode_thread(damaged):
    for path in (DEMO, damaged["skipped"], damaged["cut"]):
        threaded, inline = VideoReader(path), VideoReader(path, threaded=False)
        assert frames_of(inline, 10**6) == frames_of(threaded, 10**6)
        assert (inline.frames_read, inline.frames_skipped, inline.damage()) == (
            threaded.frames_read,
            threaded.frames_skipped,
            threaded.damage(),
        )


def write_clip(path: Path, fourcc: str, frames: list[np.ndarray]) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict[str, Path]:
    """A 2-s MPEG-4 clip of the demo whose frames 30-44 do not decode (their picture
    start codes destroyed), and an MJPEG AVI cut off after 54 of the 60 frames its
    header announces (as tests/test_video_damage.py makes them)."""
    tmp = tmp_path_factory.mktemp("chunks_damage")
    cap = cv2.VideoCapture(str(DEMO))
    frames = [cap.read()[1] for _ in range(60)]
    cap.release()
    clean = write_clip(tmp / "clean.mp4", "mp4v", frames)
    data = bytearray(clean.read_bytes())
    starts = [m.start() for m in re.finditer(re.escape(b"\x00\x00\x01\xb6"), bytes(data))]
    assert len(starts) == 60
    for k in range(30, 45):
        data[starts[k] : starts[k] + 8] = b"\xff" * 8
    skipped = tmp / "skipped.mp4"
    skipped.write_bytes(bytes(data))
    data = write_clip(tmp / "full.avi", "MJPG", frames).read_bytes()
    at = data.index(b"movi") + 4
    for _ in range(54):
        size = struct.unpack("<I", data[at + 4 : at + 8])[0]
        at += 8 + size + (size & 1)
    cut = tmp / "cut.avi"
    cut.write_bytes(data[:at])
    return {"skipped": skipped, "cut": cut}


def test_reader_started_inside_undecodable_frames_lands_on_the_right_index(damaged):
    first = frames_of(VideoReader(damaged["skipped"], start_s=1.2), 1)[0]
    assert first[:2] == (45, pytest.approx(1.5, abs=1e-6))  # 36-44 do not decode


# -- stitching: damage, and chunks that do not join up -----------------------------------


@pytest.fixture(scope="module")
def job() -> AnalysisJob:
    return AnalysisJob()


@pytest.mark.parametrize("kind, text", [("skipped", "15 frames could not"), ("cut", "6 of 60")])
def test_a_damaged_file_in_chunks_reports_the_damage_of_one_process(damaged, job, kind, text):
    # 1-s chunks: the boundary of the MPEG-4 clip falls inside its undecodable frames,
    # the AVI's second chunk ends early.
    path = damaged[kind]
    chunks = plan_chunks(2.0, 1.0, 0.5)
    stitched = stitch(path, [analyze_chunk(path, c, job) for c in chunks], job)
    one = analyze_video(path, job.analyzer(), job.sign_settings())
    assert text in stitched.damage and stitched.damage == one.damage
    assert (stitched.frames_decoded, stitched.frames_skipped, stitched.skipped_frames) == (
        one.frames_decoded,
        one.frames_skipped,
        one.skipped_frames,
    )
    assert [(r.index, r.t) for r in stitched.records] == [(r.index, r.t) for r in one.records]


def test_chunks_that_do_not_join_up_are_refused(damaged, job):
    path = damaged["skipped"]
    results = [analyze_chunk(path, c, job) for c in plan_chunks(2.0, 0.5, 0.3)]
    with pytest.raises(ChunkMismatch, match="not one per frame index"):
        stitch(path, results[:1] + results[2:], job)  # a chunk lost
    moved = results[1].part.warmup[0]
    results[1].part.warmup[0] = (moved[0], moved[1] + 0.01)  # a seek that landed off
    with pytest.raises(ChunkMismatch, match=f"reads frame {moved[0]}"):
        stitch(path, results, job)


# -- agreement with one process ---------------------------------------------------------


def assert_same_analysis(one, chunked) -> float:
    """Assert the issue's agreement; return the worst |difference| of a smoothed sign."""
    assert [(r.index, r.t) for r in chunked.records] == [(r.index, r.t) for r in one.records]
    assert [(r.face, r.unconfirmed) for r in chunked.records] == [
        (r.face, r.unconfirmed) for r in one.records
    ]
    assert chunked.damage == one.damage
    assert [t for t, _ in chunked.thumbnails] == [t for t, _ in one.thumbnails]
    worst = 0.0
    assert chunked.signs.keys() == one.signs.keys()
    for name, a in one.signs.items():
        b = chunked.signs[name]
        assert [(e.kind, e.t) for e in b.events] == [(e.kind, e.t) for e in a.events], name
        assert [w.sign_type for w in b.windows] == [w.sign_type for w in a.windows], name
        assert b.whole.sign_type == a.whole.sign_type, name
        assert np.array_equal(np.isnan(a.p_smooth), np.isnan(b.p_smooth)), name
        diff = float(np.nanmax(np.abs(a.p_smooth - b.p_smooth)))
        assert diff <= SIGN_TOLERANCE, (name, diff)
        worst = max(worst, diff)
    return worst


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    from painsign.batch.runner import BatchOptions, connect

    c, cluster = connect(BatchOptions(workers=2))  # as painsign starts one: loopback only
    yield c
    c.close()
    cluster.close()


def chunk_tasks(stream, prefix: str = "speculate_chunk-") -> int:
    return sum(t["key"].startswith(prefix) for t in stream.data)


def overlapping(stream, prefix: str = "speculate_chunk-") -> int:
    """The most tasks of ``prefix`` that computed at the same moment."""
    spans = [
        (s["start"], s["stop"])
        for t in stream.data
        if t["key"].startswith(prefix)
        for s in t["startstops"]
        if s["action"] == "compute"
    ]
    return max((sum(a <= t0 < b for a, b in spans) for t0, _ in spans), default=0)


@pytest.mark.slow
def test_demo_in_10_s_chunks_on_a_cluster_is_the_one_process_analysis(client, job):
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        chunked = analyze_chunked(DEMO, job, client, chunk_s=10.0, warmup_s=DEFAULT_WARMUP_S)
    # All three at once; chunk 0 adopts the baseline at 3.2 s, the others take it over
    # while they run (or at their start), so none is redone.
    assert chunk_tasks(stream) == 3 and chunk_tasks(stream, "analyze_chunk-") == 0
    one = analyze_video(DEMO, job.analyzer(), job.sign_settings())
    assert sum(len(s.events) for s in one.signs.values()) > 0  # something to agree on
    assert assert_same_analysis(one, chunked) == 0.0  # measured: identical
    for (_, a), (_, b) in zip(one.thumbnails, chunked.thumbnails, strict=True):
        assert np.array_equal(a, b)  # the figure's faces too


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory) -> Path:
    """175 s: the demo from its grimace at 5 s (so the NFCS baseline is learned only at
    7.7 s, after the second chunk's warm-up started), then the whole demo 5 times."""
    cap = cv2.VideoCapture(str(DEMO))
    demo = [f for ok, f in iter(cap.read, (False, None)) if ok]
    cap.release()
    frames = demo[150:] + demo * 5
    return write_clip(tmp_path_factory.mktemp("long") / "long.mp4", "mp4v", frames)


@pytest.mark.slow
def test_long_recording_in_chunks_on_a_cluster_agrees_with_one_process(client, job, long_recording):
    baseline = find_baseline(long_recording, job)
    assert isinstance(baseline, Baseline) and 6.0 < baseline.t < 10.0
    with_hold = analyze_chunked(long_recording, job, client, chunk_s=30.0)
    one = analyze_video(long_recording, job.analyzer(), job.sign_settings())
    # Was 4.9e-5 (NFCS) in the 0.6 s after a chunk start, whose chin history held warm-up
    # frames tracked from another start; the chunk before now analyses them (SETTLE_S).
    assert assert_same_analysis(one, with_hold) == 0.0


@pytest.fixture(scope="module")
def never_calm(tmp_path_factory) -> Path:
    """30 s of the bench's 640x480 face (rest, grimace, rest, cry every 20 s): its face
    is never calm for the 3 s the NFCS rest baseline needs."""
    from painsign.bench.workload import bench_video

    return bench_video(30.0, tmp_path_factory.mktemp("bench"))


@pytest.mark.slow
def test_never_calm_recording_runs_its_chunks_at_once_with_one_process_results(
    client, job, never_calm
):
    """No baseline to wait for: the three 10-s chunks run at the same time on the two
    workers (before, a first task analysed the whole recording from the start, and no
    chunk ran), none is redone, and the analysis is that of one process."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        chunked = analyze_chunked(never_calm, job, client, chunk_s=10.0)
    one = analyze_video(never_calm, job.analyzer(), job.sign_settings())
    calibrated = [r.details.get("nfcs", {}).get("calibrated") for r in one.records if r.face]
    assert calibrated and not any(calibrated)  # one process never adopts a baseline
    assert chunk_tasks(stream) == 3 and overlapping(stream) >= 2
    assert chunk_tasks(stream, "analyze_chunk-") == chunk_tasks(stream, "window_baseline-") == 0
    assert chunk_tasks(stream, "find_baseline-") == 0
    assert assert_same_analysis(one, chunked) == 0.0


@pytest.fixture(scope="module")
def calm_late(tmp_path_factory, never_calm) -> Path:
    """12 s of the never-calm bench face, then the demo (calm from its start): a
    run from the start adopts the baseline in the second 10-s chunk, with its window
    where 12 s of history slid it."""
    frames = []
    for source, n in ((never_calm, 360), (DEMO, None)):
        cap = cv2.VideoCapture(str(source))
        frames += [f for ok, f in iter(cap.read, (False, None)) if ok][:n]
        cap.release()
    size = frames[-1].shape[1], frames[-1].shape[0]
    frames[:360] = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames[:360]]
    return write_clip(tmp_path_factory.mktemp("late") / "late.mp4", "mp4v", frames)


@pytest.mark.slow
def test_baseline_adopted_in_a_later_chunk_redoes_the_chunks_from_there(client, job, calm_late):
    """All chunks ran on population values; the walk over their calibration samples
    finds the frame one process adopts at (in chunk 1), one short task learns that
    window's baseline, chunks 1 on are redone with it, chunk 0 is kept: the analysis of
    one process."""
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        chunked = analyze_chunked(calm_late, job, client, chunk_s=10.0)
    one = analyze_video(calm_late, job.analyzer(), job.sign_settings())
    adopted = next(r for r in one.records if r.face and r.details["nfcs"]["calibrated"])
    assert 10.0 <= adopted.t < 20.0, adopted.t
    n = len(plan_chunks(probe(calm_late).duration_s, 10.0, DEFAULT_WARMUP_S))
    assert chunk_tasks(stream) == n >= 4 and chunk_tasks(stream, "window_baseline-") == 1
    assert chunk_tasks(stream, "analyze_chunk-") == n - 1
    # 0.0022 (NFCS, at 30.5 s) before SETTLE_S, as with the baseline found first: the chin
    # history in the 0.6 s after a chunk start (see the long recording's test).
    assert assert_same_analysis(one, chunked) == 0.0


@pytest.mark.slow
def test_damaged_demo_in_chunks_reports_the_same_damage_and_signs(tmp_path, job):
    data = bytearray(DEMO.read_bytes())
    for offset in np.random.default_rng(5).integers(0, len(data), 100):
        data[offset] ^= 0xFF
    video = tmp_path / "flipped.mp4"
    video.write_bytes(bytes(data))
    chunked = analyze_chunked(video, job, None, chunk_s=10.0)
    one = analyze_video(video, job.analyzer(), job.sign_settings())
    assert chunked.frames_skipped == one.frames_skipped > 0
    assert chunked.skipped_frames == one.skipped_frames
    assert "could not be decoded" in chunked.damage
    assert_same_analysis(one, chunked)


def test_a_chunk_whose_warm_up_does_not_decode_reads_from_further_back(damaged, job):
    # 0.5-s chunks, 0.3-s warm-up: the fourth chunk (from 1.5 s) warms up from 1.2 s,
    # inside frames 30-44 that do not decode; its first frame is 45.
    path = damaged["skipped"]
    chunks = plan_chunks(2.0, 0.5, 0.3)
    last = analyze_chunk(path, chunks[3], job)
    assert last.part.warmup and last.part.warmup[-1][0] == 29
    assert [r.index for r in last.part.records][:16] == list(range(30, 46))
    stitched = stitch(path, [analyze_chunk(path, c, job) for c in chunks], job)
    one = analyze_video(path, job.analyzer(), job.sign_settings())
    assert [(r.index, r.t) for r in stitched.records] == [(r.index, r.t) for r in one.records]
    assert stitched.damage == one.damage


# -- the bench ---------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--batch-videos", "--batch-repeat"])
def test_bench_batch_refuses_an_empty_batch_in_one_line(option):
    done = run_painsign("bench", "--batch", option, "0", timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "painsign: error: --batch-minutes must be positive, --batch-videos and "
        "--batch-repeat at least 1"
    ]


@pytest.mark.slow
def test_bench_batch_measures_every_figure_on_tiny_inputs(tmp_path, monkeypatch, capsys):
    import json

    from painsign.bench.batch import batch_figures, print_batch

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # its own bench videos
    r = batch_figures(minutes=0.25, count=2, seconds=4.0, workers=2, say=lambda *a: None, repeat=2)
    json.dumps(r)  # the --json output
    assert r["per_core"]["frames"] == 120 and r["per_core"]["frames_per_cpu_s"] > 0
    b = r["batch"]
    for run in (b["one_worker"], b["parallel"]):
        assert run["failed"] == 0 and len(run["walls_s"]) == 2
        assert run["wall_s"] == round(sum(run["walls_s"]) / 2, 2)  # the median of two
        assert run["best_s"] == min(run["walls_s"])
    assert b["one_worker"]["frames"] == b["parallel"]["frames"] == 2 * 120
    assert (b["one_worker"]["workers"], b["parallel"]["workers"]) == (1, 2)
    for key, calibration in (("long", 3.0), ("long_no_baseline", 0.0)):
        lg = r[key]
        assert lg["calibration_s"] == calibration
        assert lg["chunk_s"] == 10.0  # 15 s on 2 workers: two chunks
        for run in (lg["unchunked"], lg["chunked"]):
            assert run["failed"] == 0 and run["frames"] == 450 and len(run["walls_s"]) == 2
        assert lg["speedup"] == round(lg["unchunked"]["wall_s"] / lg["chunked"]["wall_s"], 2)
        assert lg["x_real_time"] == round(15.0 / lg["chunked"]["wall_s"], 1)
    assert len(r["checks"]) == 5 and all("met" in c for c in r["checks"].values())
    print_batch(r)
    assert "every run (s, in order):" in capsys.readouterr().out


@pytest.fixture(scope="module")
def variable_rate(tmp_path_factory) -> Path:
    """The demo re-timed by ffmpeg into a real variable-frame-rate MP4: its first 300
    frames at 30 fps, the other 600 at 15 fps (50 s; the container's average rate, 18
    fps, is what OpenCV reports)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    out = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(DEMO),
         "-vf", "setpts='if(lt(N,300),N/30,10+(N-300)/15)/TB'", "-fps_mode", "vfr",
         "-c:v", "mpeg4", "-q:v", "3", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    return out


@pytest.mark.slow
def test_variable_rate_file_in_chunks_falls_back_to_one_pass_with_its_results(
    variable_rate, job, monkeypatch
):
    """A seek lands by the average rate, so a chunk's frame indices are wrong: the
    stitch refuses the chunks (measured: the chunk at 20 s starts at frame 365 by its
    time stamp, truly frame 454) and the video is analysed from the start in one task.
    The results are those of one process, time stamps included."""
    import painsign.batch.chunks as chunks_module

    info = probe(variable_rate)
    assert info.frame_count == 900 and abs(info.fps - 18.0) < 0.1
    refused = []
    real_stitch = chunks_module.stitch

    def stitch(path, results, job_):
        try:
            return real_stitch(path, results, job_)
        except ChunkMismatch as exc:
            refused.append(str(exc))
            raise

    monkeypatch.setattr(chunks_module, "stitch", stitch)
    chunked = analyze_chunked(variable_rate, job, None, chunk_s=20.0)
    assert len(refused) == 1
    one = analyze_video(variable_rate, job.analyzer(), job.sign_settings())
    t = [r.t for r in one.records]
    assert len(t) == 900 and abs(t[299] - 299 / 30) < 1e-3 and abs(t[-1] - 49.933) < 1e-3
    assert assert_same_analysis(one, chunked) == 0.0
