"""Damaged and hostile video files: every decodable frame is read, the damage said plainly.

The damaged files are made from the real demo video: a short MPEG-4 clip whose frames
30-44 lose their picture start code (the decoder refuses them), an MJPEG AVI cut off
after 54 of its 60 frames (its header still announces 60), and the demo with 100 bytes
flipped at seeded offsets. Hostile inputs: a named pipe, a folder, and an AVI whose
headers announce 9000 x 9000 frames.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import struct
import time
from pathlib import Path

import cv2
import numpy as np
import painsign_cli
import pytest
from monitor_fakes import ScriptedAnalyzer

from painsign.analysis.frames import FrameAnalyzer
from painsign.analysis.replay import analyze_video
from painsign.capture import FileSource
from painsign.errors import InputError
from painsign.gui import present
from painsign.limits import MAX_FRAME_PIXELS
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.scoring.nfcs import NfcsScorer
from painsign.video.reader import VideoReader, probe
from painsign.vision.tracker import FaceTracker

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "assets" / "demo_grimace.mp4"
FPS = 30.0
CLIP_FRAMES = 60
#: Frames of the MPEG-4 clip whose picture start code is destroyed.
BAD = range(30, 45)
#: Frames left in the AVI cut off at the end (of CLIP_FRAMES announced): 10 % missing.
KEPT = 54
VOP_START = b"\x00\x00\x01\xb6"  # each MPEG-4 part 2 picture begins with it


def demo_frames(n: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(DEMO))
    frames = [cap.read()[1] for _ in range(n)]
    cap.release()
    assert all(f is not None for f in frames)
    return frames


def write_clip(path: Path, fourcc: str, frames: list[np.ndarray]) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (w, h))
    assert writer.isOpened(), f"no {fourcc} encoder"
    for f in frames:
        writer.write(f)
    writer.release()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """The clean MPEG-4 clip, the one with undecodable frames, and the cut-off AVI."""
    tmp = tmp_path_factory.mktemp("damage")
    frames = demo_frames(CLIP_FRAMES)
    clean = tmp / "clean.mp4"
    write_clip(clean, "mp4v", frames)
    data = bytearray(clean.read_bytes())
    starts = [m.start() for m in re.finditer(re.escape(VOP_START), bytes(data))]
    assert len(starts) == CLIP_FRAMES
    for k in BAD:
        data[starts[k] : starts[k] + 8] = b"\xff" * 8
    skipped = tmp / "skipped.mp4"
    skipped.write_bytes(bytes(data))

    avi = tmp / "full.avi"
    write_clip(avi, "MJPG", frames)
    data = avi.read_bytes()
    chunk = data.index(b"movi") + 4  # the frames follow as '00dc' chunks
    for _ in range(KEPT):
        assert data[chunk : chunk + 4] == b"00dc"
        size = struct.unpack("<I", data[chunk + 4 : chunk + 8])[0]
        chunk += 8 + size + (size & 1)
    cut = tmp / "cut.avi"
    cut.write_bytes(data[:chunk])
    return {"clean": clean, "skipped": skipped, "cut": cut}


def read_all(path, threaded: bool = True) -> tuple[VideoReader, list]:
    reader = VideoReader(path, threaded=threaded)
    return reader, [(f.index, f.t) for f in reader]


def opencv_counts(path) -> tuple[int, int]:
    """Frames a plain ``while cap.read()`` loop gets, and one that goes on after failures
    (until 1000 failures in a row)."""
    cap = cv2.VideoCapture(str(path))
    first = 0
    while cap.read()[0]:
        first += 1
    cap.release()
    cap = cv2.VideoCapture(str(path))
    going_on, fails = 0, 0
    while fails < 1000:
        if cap.read()[0]:
            going_on, fails = going_on + 1, 0
        else:
            fails += 1
    cap.release()
    return first, going_on


# -- the reader -------------------------------------------------------------------------


@pytest.mark.parametrize("threaded", [True, False], ids=["decode thread", "in-thread"])
def test_reader_skips_undecodable_frames_and_keeps_their_time_gap(clips, threaded):
    first, going_on = opencv_counts(clips["skipped"])
    assert first == BAD[0]  # the old reader's way: it stopped at the first bad frame
    reader, frames = read_all(clips["skipped"], threaded)
    assert reader.frames_read == CLIP_FRAMES - len(BAD) >= going_on
    assert reader.frames_skipped == len(BAD)
    indices = [i for i, _ in frames]
    assert indices == [i for i in range(CLIP_FRAMES) if i not in BAD]
    t = dict(frames)
    # The first frame after the damage keeps its own time stamp: a 0.5 s gap shows.
    assert t[BAD[-1] + 1] == pytest.approx((BAD[-1] + 1) / FPS, abs=1e-3)
    assert t[BAD[-1] + 1] - t[BAD[0] - 1] == pytest.approx((len(BAD) + 1) / FPS, abs=1e-3)
    assert reader.damage() == (
        f"video {clips['skipped']} is damaged: {len(BAD)} frames could not be decoded, 0 of "
        f"{CLIP_FRAMES} expected frames missing; the report covers the "
        f"{CLIP_FRAMES - len(BAD)} frames decoded"
    )


@pytest.mark.parametrize("threaded", [True, False], ids=["decode thread", "in-thread"])
def test_reader_says_a_cut_off_file_misses_ten_percent_of_its_frames(clips, threaded):
    reader, _ = read_all(clips["cut"], threaded)
    assert reader.info.frame_count == CLIP_FRAMES  # the header still announces them all
    assert reader.frames_read == KEPT and reader.frames_skipped == 0
    assert f"{CLIP_FRAMES - KEPT} of {CLIP_FRAMES} expected frames missing" in reader.damage()


@pytest.mark.parametrize("threaded", [True, False], ids=["decode thread", "in-thread"])
def test_clean_clip_is_not_damaged(clips, threaded):
    reader, _ = read_all(clips["clean"], threaded)
    assert reader.frames_read == CLIP_FRAMES and reader.damage() is None


def test_demo_with_100_flipped_bytes_reads_as_far_as_opencv_can(tmp_path):
    data = bytearray(DEMO.read_bytes())
    for offset in np.random.default_rng(5).integers(0, len(data), 100):
        data[offset] ^= 0xFF
    video = tmp_path / "flipped.mp4"
    video.write_bytes(bytes(data))
    first, going_on = opencv_counts(video)
    assert first < going_on, "the flips no longer stop OpenCV early: pick another seed"
    reader, frames = read_all(video)
    assert reader.frames_read >= going_on > first
    assert reader.frames_skipped > 0 and "could not be decoded" in reader.damage()
    t = np.array([t for _, t in frames])
    assert np.all(np.diff(t) > 0) and t[-1] > 29.0


# -- hostile inputs ---------------------------------------------------------------------


def huge_header_avi(path: Path, width: int = 9000, height: int = 9000) -> Path:
    """A valid 16 x 16 MJPEG AVI whose headers (AVI and JPEG) say ``width`` x ``height``."""
    write_clip(path, "MJPG", [np.full((16, 16, 3), 80, np.uint8)] * 3)
    data = bytearray(path.read_bytes())
    avih = data.index(b"avih") + 8
    data[avih + 32 : avih + 40] = struct.pack("<II", width, height)
    strf = data.index(b"strf") + 8
    data[strf + 4 : strf + 12] = struct.pack("<ii", width, height)
    for m in re.finditer(b"\xff\xc0", bytes(data)):  # JPEG start of frame: precision, h, w
        data[m.start() + 5 : m.start() + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def test_frames_over_the_pixel_limit_are_refused_before_decoding(tmp_path):
    video = huge_header_avi(tmp_path / "huge.avi")
    cap = cv2.VideoCapture(str(video))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (9000, 9000)
    cap.release()
    assert 9000 * 9000 > MAX_FRAME_PIXELS
    for open_video in (probe, VideoReader, FileSource):
        with pytest.raises(
            InputError,
            match=r"9000 x 9000 pixels \(81\.0 megapixels\), more "
            r"than the limit of 40 megapixels",
        ) as err:
            open_video(video)
        assert err.value.exit_code == 2


def test_a_folder_is_refused_as_a_video(tmp_path):
    for open_video in (probe, VideoReader, FileSource):
        with pytest.raises(InputError, match="is a folder, not a regular file"):
            open_video(tmp_path)


def run_painsign(*args, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return painsign_cli.run_painsign(*args, timeout=timeout, env=env)


def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    for args in (
        ("analyze", fifo, "--quiet", "--out", tmp_path / "out"),
        ("monitor", "--video", fifo, "--headless", "--no-record"),
    ):
        started = time.monotonic()
        r = run_painsign(*args, timeout=60)  # a blocking open would time out here
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stderr == f"painsign: error: video {fifo} is a named pipe, not a regular file\n"
        assert time.monotonic() - started < 60


# -- analyze: the reports and the exit ------------------------------------------------


def read_rows(out: Path) -> list[dict]:
    with open(out / "frames.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_analyze_reports_skipped_frames_and_exits_2_with_one_line(tmp_path, clips):
    out = tmp_path / "out"
    r = run_painsign("analyze", clips["skipped"], "--out", out, "--quiet", "--no-figure")
    decoded = CLIP_FRAMES - len(BAD)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == (
        f"painsign: error: video {clips['skipped']} is damaged: {len(BAD)} frames could not "
        f"be decoded, 0 of {CLIP_FRAMES} expected frames missing; the report covers the "
        f"{decoded} frames decoded\n"
    )
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["frames_decoded"], summary["frames_skipped"], summary["frames_expected"]) == (
        decoded,
        len(BAD),
        CLIP_FRAMES,
    )
    assert summary["damage"] == r.stderr.removeprefix("painsign: error: ").strip()
    rows = read_rows(out)
    # Every frame of the file has a row; the skipped ones have no face, their time
    # stamps lie between their neighbours' and their sign is interpolated like a face gap.
    assert [int(row["frame"]) for row in rows] == list(range(CLIP_FRAMES))
    assert [row["decoded"] for row in rows] == [
        "0" if i in BAD else "1" for i in range(CLIP_FRAMES)
    ]
    t = np.array([float(row["t"]) for row in rows])
    assert np.allclose(t, np.arange(CLIP_FRAMES) / FPS, atol=1e-3)
    for i in BAD:
        assert rows[i]["face"] == "0" and rows[i]["p_raw_pain"] == "nan"


def test_analyze_exits_2_on_a_file_cut_off_10_percent_short(tmp_path, clips):
    out = tmp_path / "out"
    r = run_painsign("analyze", clips["cut"], "--out", out, "--quiet", "--no-figure")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr == (
        f"painsign: error: video {clips['cut']} is damaged: 0 frames could not be decoded, "
        f"{CLIP_FRAMES - KEPT} of {CLIP_FRAMES} expected frames missing; the report covers "
        f"the {KEPT} frames decoded\n"
    )
    summary = json.loads((out / "summary.json").read_text())
    assert (
        summary["frames_decoded"],
        summary["frames_skipped"],
        summary["frames_expected"],
        summary["frames"],
    ) == (KEPT, 0, CLIP_FRAMES, KEPT)
    assert len(read_rows(out)) == KEPT


def test_analysis_of_the_clean_clip_says_no_damage(clips, detector, landmarker):
    analysis = analyze_video(
        clips["clean"], FrameAnalyzer(FaceTracker(detector, landmarker), [NfcsScorer()])
    )
    assert analysis.damage is None and analysis.frames_skipped == 0
    assert analysis.frames_decoded == CLIP_FRAMES == analysis.frames_expected


# -- the monitor ------------------------------------------------------------------------


def replay(path) -> tuple[MonitorEngine, FileSource]:
    source = FileSource(path, realtime=False)
    engine = MonitorEngine(source, ScriptedAnalyzer(lambda t: 0.2), MonitorSettings(bed="b"))
    engine.start()
    end = time.monotonic() + 30
    while engine.running and time.monotonic() < end:
        time.sleep(0.05)
    assert not engine.running, "the replay did not end"
    return engine, source


def test_monitor_says_a_replay_ended_early(clips, caplog):
    with caplog.at_level(logging.INFO, logger="painsign.monitor"):
        engine, _ = replay(clips["cut"])
        try:
            state = engine.snapshot()
            engine.snapshot()
        finally:
            engine.stop()
    last = (KEPT - 1) / FPS
    assert state.input_state == "ended" and state.ended
    assert state.input_reason == (
        f"replay ended early at {last:.1f} s of {CLIP_FRAMES / FPS:.1f} s: file damaged "
        f"(0 frames could not be decoded, {CLIP_FRAMES - KEPT} of {CLIP_FRAMES} expected "
        "frames missing)"
    )
    assert state.damage is not None and engine.replay_ended_early
    view = present.input_view(state)
    assert view.headline == "Recording damaged" and view.detail == state.input_reason
    said = [
        r for r in caplog.records if "cut.avi" in r.getMessage() and r.levelno >= logging.WARNING
    ]
    assert len(said) == 1 and "ended early" in said[0].getMessage()


def test_monitor_counts_and_shows_skipped_frames(clips):
    engine, source = replay(clips["skipped"])
    try:
        state = engine.snapshot()
    finally:
        engine.stop()
    assert state.stats.skipped == len(BAD) == source.frames_skipped
    assert "undecodable 15" in present.status_text(state)
    assert state.input_reason == (
        f"recording ended at 0:01: file damaged ({len(BAD)} frames "
        f"could not be decoded, 0 of {CLIP_FRAMES} expected frames "
        "missing)"
    )
    assert not engine.replay_ended_early
    assert engine.frames_processed == CLIP_FRAMES - len(BAD)


def test_monitor_cli_exits_2_when_the_replayed_file_was_damaged(tmp_path, clips):
    r = run_painsign(
        "monitor",
        "--video",
        clips["cut"],
        "--headless",
        "--no-record",
        "--speed",
        "8",
        "--exit-after",
        "30",
    )
    assert r.returncode == 2, r.stdout + r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last == (
        f"painsign: error: video {clips['cut']} is damaged: 0 frames could not be decoded, "
        f"{CLIP_FRAMES - KEPT} of {CLIP_FRAMES} expected frames missing; the replay ended "
        f"early at {KEPT / FPS:.1f} s of {CLIP_FRAMES / FPS:.1f} s"
    )
