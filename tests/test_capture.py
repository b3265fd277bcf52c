"""Frame sources: files lose no frame and keep time, live sources keep the newest frame,
and the watchdog reports lost, frozen and recovered inputs (real files, real HTTP)."""

from __future__ import annotations

import math
import threading
import time

import cv2
import numpy as np
import pytest
from synthetic import write_vfr_video

from painsign.capture import (
    Backoff,
    CameraSource,
    FileSource,
    LiveSource,
    UrlSource,
    Watchdog,
    open_source,
)
from painsign.errors import InputError
from painsign.video.reader import VideoReader

FPS = 30.0


def write_video(path, n, fps=FPS, size=(96, 64), seed=0):
    """Write ``n`` distinct frames (blocky random pattern and a moving bar) as mp4v."""
    rng = np.random.default_rng(seed)
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for i in range(n):
        blocks = rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8)
        img = cv2.resize(blocks, (w, h), interpolation=cv2.INTER_NEAREST)
        img[:, (i * 3) % w : (i * 3) % w + 3] = 255
        writer.write(img)
    writer.release()
    return path


def reference_frames(path):
    """Every frame as decoded by the plain file reader (an independent path)."""
    return [f.bgr for f in VideoReader(path)]


@pytest.fixture(scope="module")
def video60(tmp_path_factory):
    path = write_video(tmp_path_factory.mktemp("capture") / "sixty.mp4", 60)
    return path, reference_frames(path)


def is_subsequence(wanted, seq):
    it = iter(seq)
    return all(any(x == y for y in it) for x in wanted)


class Recorder:
    """An ``on_status`` callback that remembers transitions."""

    def __init__(self):
        self.events: list[tuple[str, str, str]] = []

    def __call__(self, old, new, message):
        self.events.append((old, new, message))

    @property
    def statuses(self):
        return [new for _, new, _ in self.events]


# -- file source ------------------------------------------------------------------------


def test_file_source_slow_consumer_loses_no_frame(tmp_path):
    path = write_video(tmp_path / "forty.mp4", 40)
    ref = reference_frames(path)
    rec = Recorder()
    frames, backlog = [], []
    with FileSource(path, realtime=False, queue_size=4, on_status=rec) as src:
        assert not src.live and src.describe() == "file forty.mp4"
        while (frame := src.read(timeout=5.0)) is not None:
            frames.append(frame)
            time.sleep(0.01)  # slower than the decoder
            stats = src.stats
            backlog.append(stats.frames_captured - stats.frames_delivered)
        assert src.status == "ended"
        assert src.read(timeout=0.1) is None
        stats = src.stats
    assert [f.index for f in frames] == list(range(40))
    assert all(np.array_equal(f.bgr, r) for f, r in zip(frames, ref, strict=True))
    assert np.all(np.diff([f.t for f in frames]) > 0)
    assert abs(frames[-1].t - 39 / FPS) < 1e-3
    assert stats.frames_captured == stats.frames_delivered == 40 and stats.frames_dropped == 0
    assert max(backlog) <= 4  # the decoder waits for the consumer: bounded queue
    assert rec.statuses == ["ok", "ended"]


def test_file_source_paces_to_real_time_times_speed(tmp_path):
    path = write_video(tmp_path / "thirty.mp4", 30)

    def play(**kwargs):
        with FileSource(path, **kwargs) as src:
            first = src.read(timeout=5.0)
            t0 = time.monotonic()
            n = 1
            while src.read(timeout=5.0) is not None:
                n += 1
            elapsed = time.monotonic() - t0
        assert first.index == 0 and n == 30
        return elapsed

    normal, fast, flat_out = play(speed=1.0), play(speed=3.0), play(realtime=False)
    assert 0.7 <= normal < 3.0  # 29 frame intervals at 30 fps = 0.97 s
    assert fast < normal / 2 and fast >= 0.2
    assert flat_out < fast


def test_file_source_seek(video60):
    path, ref = video60
    rec = Recorder()
    with FileSource(path, realtime=False, on_status=rec) as src:
        assert [src.read(timeout=5.0).index for _ in range(5)] == [0, 1, 2, 3, 4]
        src.seek(1.0)
        frame = src.read(timeout=5.0)
        assert frame.index == 30 and 1.0 - 1 / FPS - 1e-6 < frame.t <= 1.0 + 1e-6
        assert np.array_equal(frame.bgr, ref[30])
        assert src.read(timeout=5.0).index == 31
        src.seek(0.99)  # between frames 29 and 30: the one at or before
        frame = src.read(timeout=5.0)
        assert frame.index == 29 and frame.t <= 0.99 and np.array_equal(frame.bgr, ref[29])
        while src.read(timeout=5.0) is not None:
            pass
        assert src.status == "ended"
        src.seek(0.5)  # replay after the end
        frame = src.read(timeout=5.0)
        assert frame.index == 15 and np.array_equal(frame.bgr, ref[15]) and src.status == "ok"
        src.seek(100.0)  # past the end: the last frame, then the end
        frame = src.read(timeout=5.0)
        assert frame.index == 59 and np.array_equal(frame.bgr, ref[59])
        assert src.read(timeout=5.0) is None and src.status == "ended"
        with pytest.raises(InputError, match="seek"):
            src.seek(math.nan)
    assert is_subsequence(["ok", "ended", "ok", "ended"], rec.statuses)


def test_file_source_seek_in_a_variable_frame_rate_file(tmp_path):
    # 10 fps for 1 s, then 50 fps: OpenCV's frame-number seek lands on wrong frames here
    times = [0.1 * i for i in range(10)] + [0.9 + 0.02 * k for k in range(1, 31)]
    rng = np.random.default_rng(3)
    frames = [
        cv2.resize(
            rng.integers(0, 256, (4, 6, 3), dtype=np.uint8),
            (96, 64),
            interpolation=cv2.INTER_NEAREST,
        )
        for _ in times
    ]
    path = tmp_path / "vfr.mp4"
    write_vfr_video(path, frames, times)
    ref = list(VideoReader(path))
    assert len(ref) == 40

    def expected(target):
        return max((f for f in ref if f.t <= target + 1e-6), key=lambda f: f.t)

    targets = (0.35, 0.95, 1.2, 0.0, 1.5)
    with FileSource(path, realtime=False) as src:
        for target in targets:  # before the decoder went through the file
            src.seek(target)
            frame = src.read(timeout=5.0)
            want = expected(target)
            assert abs(frame.t - want.t) < 1e-6 and np.array_equal(frame.bgr, want.bgr)
            following = src.read(timeout=5.0)
            if want.index < 39:
                assert abs(following.t - ref[want.index + 1].t) < 1e-6
        src.seek(0.0)
        while src.read(timeout=5.0) is not None:
            pass
        for target in targets:  # after: exact frame numbers too
            src.seek(target)
            frame, want = src.read(timeout=5.0), expected(target)
            assert frame.index == want.index and abs(frame.t - want.t) < 1e-6


def test_file_source_pause_resume_and_speed(video60):
    path, _ = video60
    with FileSource(path, speed=1.0) as src:
        assert [src.read(timeout=5.0).index for _ in range(3)] == [0, 1, 2]
        src.pause()
        delivered = src.stats.frames_delivered
        t0 = time.monotonic()
        assert src.read(timeout=0.3) is None
        assert time.monotonic() - t0 >= 0.25 and src.paused
        assert src.stats.frames_delivered == delivered
        src.resume()
        t0 = time.monotonic()
        frame = src.read(timeout=1.0)
        assert frame.index == 3 and time.monotonic() - t0 < 0.2
        src.set_speed(10.0)  # 56 frames left: 1.87 s of video, ~0.19 s at 10x
        t0 = time.monotonic()
        rest = []
        while (frame := src.read(timeout=5.0)) is not None:
            rest.append(frame.index)
        assert rest == list(range(4, 60)) and time.monotonic() - t0 < 1.0
        with pytest.raises(InputError, match="speed"):
            src.set_speed(0)


# -- live sources: a fake device ----------------------------------------------------------


class FakeCamera(LiveSource):
    """A live device producing distinct frames at ``fps``; can break, hang or freeze."""

    def __init__(self, fps=100.0, **kwargs):
        super().__init__(**kwargs)
        self.fps = fps
        self.broken = False  # open and read fail
        self.hang = threading.Event()  # set: _grab blocks until cleared
        self.blocked = False
        self.opens = self.closes = 0
        self._i = 0
        self._next = 0.0

    def describe(self):
        return "fake camera"

    def _open(self):
        if self.broken:
            raise OSError("no such device")
        self.opens += 1
        self._next = time.monotonic()

    def _grab(self):
        while self.hang.is_set() and not self._stopping.is_set():
            self.blocked = True
            time.sleep(0.01)
        self.blocked = False
        if self.broken:
            raise OSError("device unplugged")
        self._next += 1.0 / self.fps
        time.sleep(max(0.0, self._next - time.monotonic()))
        self._i += 1
        return np.full((48, 64, 3), self._i % 251, np.uint8)

    def _close(self):
        self.closes += 1


def test_live_source_slow_consumer_gets_newest_frame_with_bounded_latency():
    indices, latencies = [], []
    with FakeCamera(fps=100.0) as src:
        assert src.live
        assert src.wait_for_status("ok", timeout=2.0)
        for _ in range(12):
            frame = src.read(timeout=1.0)
            assert frame is not None
            latencies.append(time.monotonic() - src.started_at - frame.t)
            indices.append(frame.index)
            time.sleep(0.08)  # a consumer at ~12 Hz, the camera at 100 Hz
        stats = src.stats
    steps = np.diff(indices)
    assert np.all(steps >= 1) and np.mean(steps) > 4  # skipped to the newest frame
    assert stats.frames_dropped > 0
    assert stats.frames_captured - stats.frames_delivered - stats.frames_dropped in (0, 1)
    assert stats.input_fps > 50
    # A queue would add ~70 ms per read (0.8 s by the end); keeping the first unread frame
    # would serve ~70 ms old frames; the newest-frame slot serves frames < 10 ms old.
    assert max(latencies) < 0.1 and np.median(latencies) < 0.035
    assert np.mean(latencies[-4:]) < np.mean(latencies[:4]) + 0.03


def test_live_source_reconnects_after_a_read_failure():
    rec = Recorder()
    src = FakeCamera(fps=50.0, stall_s=0.5, frozen_s=2.0, on_status=rec)
    with src:
        assert src.wait_for_status("ok", timeout=2.0)
        src.broken = True
        assert src.wait_for_status("reconnecting", timeout=1.0)
        captured = src.stats.frames_captured
        time.sleep(0.3)
        assert src.stats.frames_captured == captured and src.status == "reconnecting"
        src.broken = False
        assert src.wait_for_status("ok", timeout=3.0)  # next attempt after 0.5 or 1.5 s
        assert src.stats.reconnects == 1 and src.opens >= 2 and src.closes >= 1
        assert src.read(timeout=1.0) is not None
    assert is_subsequence(["ok", "lost", "reconnecting", "ok", "ended"], rec.statuses)
    recovered = [m for _, new, m in rec.events if new == "ok"][-1]
    assert "recovered" in recovered and "reconnect #1" in recovered


def test_live_watchdog_reports_lost_while_the_driver_blocks():
    src = FakeCamera(fps=50.0, stall_s=0.5, frozen_s=2.0)
    with src:
        assert src.wait_for_status("ok", timeout=2.0)
        src.hang.set()  # like OpenCV blocking on a removed camera
        t0 = time.monotonic()
        assert src.wait_for_status("lost", timeout=1.5)
        assert 0.4 <= time.monotonic() - t0 < 1.5 and src.blocked
        assert src.stats.last_frame_age_s >= 0.4
        src.hang.clear()  # the driver returns: the late frame is not trusted, reopen
        assert src.wait_for_status("reconnecting", timeout=1.0)
        assert src.wait_for_status("ok", timeout=3.0)
        assert src.stats.reconnects == 1 and src.closes >= 1


def test_live_source_stop_is_idempotent_and_survives_a_bad_callback():
    def bad_callback(old, new, message):
        raise RuntimeError("callback bug")

    src = FakeCamera(fps=100.0, on_status=bad_callback)
    with pytest.raises(RuntimeError, match="start"):
        src.read(timeout=0.1)
    src.start()
    assert src.start() is src
    assert src.wait_for_status("ok", timeout=2.0) and src.read(timeout=1.0) is not None
    src.stop()
    src.stop()
    assert src.status == "ended" and src.read(timeout=0.1) is None
    assert src.closes == 1 and not any(t.is_alive() for t in src._threads())
    with pytest.raises(RuntimeError, match="stopped"):
        src.start()


def test_camera_source_without_a_camera_keeps_retrying_and_stops_quickly():
    src = CameraSource(99, stall_s=0.5)
    assert src.describe() == "camera 99" and src.live
    with src:
        assert src.wait_for_status("reconnecting", timeout=3.0)
        assert "cannot open camera 99" in src.status_message
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 2.0 and src.status == "ended"


def test_stop_from_the_status_callback_does_not_deadlock():
    holder = {}

    def stop_on_lost(old, new, message):
        if new == "lost":
            holder["src"].stop()

    src = holder["src"] = FakeCamera(fps=50.0, stall_s=0.3, on_status=stop_on_lost)
    with src:
        assert src.wait_for_status("ok", timeout=2.0)
        src.broken = True
        assert src.wait_for_status("ended", timeout=2.0)
    deadline = time.monotonic() + 2.0
    while any(t.is_alive() for t in src._threads()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.is_alive() for t in src._threads()) and src.closes >= 1


# -- watchdog: pure logic with a fake clock -------------------------------------------------


def test_watchdog_lost_after_stall_and_ok_on_next_frame():
    a, b = np.zeros((48, 64, 3), np.uint8), np.ones((48, 64, 3), np.uint8)
    wd = Watchdog(stall_s=1.0, frozen_s=5.0)
    wd.reset(0.0)
    assert wd.check(0.5) == "waiting" and wd.check(1.0) == "lost"  # never got a frame
    assert wd.feed(1.2, a) == "ok"
    assert wd.check(2.1) == "ok" and wd.check(2.2) == "lost"
    assert wd.feed(2.3, b) == "ok" and wd.check(2.4) == "ok"


def test_watchdog_frozen_on_identical_frames_and_back_on_change():
    rng = np.random.default_rng(1)
    still = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    wd = Watchdog(stall_s=1.0, frozen_s=2.0)
    wd.reset(0.0)
    states = [wd.feed(t, still.copy()) for t in np.arange(0.0, 1.95, 0.1)]
    assert set(states) == {"ok"}
    assert wd.feed(2.0, still.copy()) == "frozen" and wd.check(2.05) == "frozen"
    assert wd.check(3.1) == "lost"  # frames stop altogether: lost wins
    changed = still.copy()
    changed[200:208, 300:308] += 1  # a small change anywhere counts
    assert wd.feed(3.2, changed) == "ok"
    # sensor noise on a still scene is a live camera, not a frozen one
    wd = Watchdog(stall_s=1.0, frozen_s=0.5)
    wd.reset(0.0)
    scene = np.full((480, 640, 3), 128.0)
    states = [
        wd.feed(t, np.clip(scene + rng.normal(0, 1.5, scene.shape), 0, 255).astype(np.uint8))
        for t in np.arange(0.0, 1.0, 0.1)
    ]
    assert set(states) == {"ok"}


def test_watchdog_reset_remembers_the_frozen_picture():
    img = np.zeros((48, 64), np.uint8)
    wd = Watchdog(stall_s=1.0, frozen_s=2.0)
    wd.reset(0.0)
    wd.feed(0.0, img)
    assert wd.check(1.5) == "lost"
    wd.reset(5.0)  # reopened
    assert wd.check(5.5) == "waiting"
    assert wd.feed(5.6, img) == "frozen"  # came back showing the same picture
    assert wd.feed(5.7, img + 1) == "ok"


def test_backoff_doubles_to_a_maximum_and_resets():
    b = Backoff(0.5, 10.0)
    assert [b.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    b.reset()
    assert b.next() == 0.5
    with pytest.raises(ValueError):
        Backoff(0.0, 1.0)
    with pytest.raises(ValueError):
        Watchdog(stall_s=0.0)


# -- the factory and argument errors --------------------------------------------------------


def test_open_source_makes_the_right_source(video60):
    path, _ = video60
    src = open_source(video=path, speed=2.0)
    assert isinstance(src, FileSource) and src.speed == 2.0 and src.status == "starting"
    cam = open_source(camera="0")
    assert isinstance(cam, CameraSource) and cam.index == 0 and cam.describe() == "camera 0"
    url = open_source(url="rtsp://admin:secret@10.0.0.5:554/stream1", stall_s=2.0)
    assert isinstance(url, UrlSource) and url.watchdog.stall_s == 2.0
    assert "secret" not in url.describe() and "admin:***@10.0.0.5:554" in url.describe()
    assert isinstance(open_source(url="http://127.0.0.1:1/video.mjpg"), UrlSource)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one"),
        ({"camera": 0, "url": "http://h/v.mjpg"}, "exactly one"),
        ({"camera": -1}, "camera"),
        ({"camera": "front"}, "camera"),
        ({"camera": True}, "camera"),
        ({"url": "camera.local/video"}, "scheme"),
        ({"url": "ftp://host/video.mp4"}, "scheme"),
        ({"url": "http://host:99999/video"}, "(?i)port"),
        ({"url": ""}, "empty"),
        ({"camera": 0, "speed": 2.0}, "only to a video"),
    ],
)
def test_open_source_argument_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        open_source(**kwargs)


@pytest.mark.parametrize("speed", [0, -1.0, math.nan, math.inf, "fast"])
def test_bad_speed_is_an_input_error(video60, speed):
    with pytest.raises(InputError, match="speed"):
        open_source(video=video60[0], speed=speed)


def test_missing_or_empty_video_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_source(video=tmp_path / "missing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        FileSource(tmp_path / "empty.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match="cannot be opened"):
        FileSource(tmp_path / "junk.mp4")
