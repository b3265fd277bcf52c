"""IP cameras over HTTP: MJPEG streams from a real server on 127.0.0.1 (and ffmpeg's
``mpjpeg`` when installed) are read whatever their Content-Type, lost, frozen and recovered
sources are reported, and damaged or oversized frames never reach stderr or memory."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest
from test_capture import Recorder, is_subsequence

from painsign.capture import MjpegHttpStream, UrlSource

# -- HTTP MJPEG: a real server on 127.0.0.1 ----------------------------------------------------


class MjpegServer:
    """Serves multipart/x-mixed-replace JPEG frames; mode "changing", "same" or "silent"."""

    def __init__(
        self,
        size=(160, 120),
        fps=25.0,
        content_length=True,
        boundary="painsignframe",
        auth=None,
        content_type=None,
        bare=False,
    ):
        self.size, self.fps = size, fps
        self.content_length, self.boundary, self.auth = content_length, boundary, auth
        # content_type: sent instead of the multipart one (ffmpeg's mpjpeg sends
        # application/octet-stream); bare: JPEGs back to back, no multipart at all
        self.content_type, self.bare = content_type, bare
        self.mode = "changing"
        self.port = 0
        self._count = 0
        self._httpd = None
        self._stop = threading.Event()
        w, h = size
        self._same = cv2.imencode(".jpg", np.full((h, w, 3), 90, np.uint8))[1].tobytes()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/video.mjpg"

    def jpeg(self):
        if self.mode == "same":
            return self._same
        self._count += 1
        w, h = self.size
        img = np.full((h, w, 3), (self._count * 7) % 256, np.uint8)
        cv2.putText(
            img, str(self._count), (10, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 255), 2
        )
        return cv2.imencode(".jpg", img)[1].tobytes()

    def part(self, jpeg):
        if self.bare:
            return jpeg
        head = f"--{self.boundary}\r\nContent-Type: image/jpeg\r\n"
        if self.content_length:
            head += f"Content-Length: {len(jpeg)}\r\n"
        return head.encode() + b"\r\n" + jpeg + b"\r\n"

    def start(self):
        server, stop = self, threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if server.auth and self.headers.get("Authorization") != server.auth:
                    self.send_error(401)
                    return
                if self.path.endswith(".html"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(b"<html>camera login page</html>")
                    return
                self.send_response(200)
                self.send_header(
                    "Content-Type",
                    server.content_type or f"multipart/x-mixed-replace; boundary={server.boundary}",
                )
                self.end_headers()
                while not stop.is_set():
                    if server.mode == "silent":
                        time.sleep(0.01)
                        continue
                    try:
                        self.wfile.write(server.part(server.jpeg()))
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(1.0 / server.fps)

        self._stop = stop
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def mjpeg_server():
    server = MjpegServer().start()
    yield server
    server.stop()


@pytest.mark.slow
def test_url_source_reads_mjpeg_then_freezes_is_lost_and_recovers(mjpeg_server):
    server = mjpeg_server
    rec = Recorder()
    stall_s, frozen_s = 0.5, 1.0
    src = UrlSource(server.url, stall_s=stall_s, frozen_s=frozen_s, on_status=rec)
    assert src.live and src.describe() == f"url {server.url}"
    with src:
        assert src.wait_for_status("ok", timeout=3.0)
        frames = [src.read(timeout=2.0) for _ in range(5)]
        assert all(f is not None and f.bgr.shape == (120, 160, 3) for f in frames)
        assert len({f.bgr.tobytes() for f in frames}) == 5  # real, changing pictures
        assert [f.index for f in frames] == sorted({f.index for f in frames})

        server.mode = "same"
        t0 = time.monotonic()
        assert src.wait_for_status("frozen", timeout=frozen_s + 1.5)
        assert time.monotonic() - t0 >= frozen_s - 0.2
        assert src.stats.last_frame_age_s < stall_s  # frames still arrive: frozen, not lost

        server.stop()
        assert src.wait_for_status("lost", "reconnecting", timeout=stall_s + 1.5)
        assert src.wait_for_status("reconnecting", timeout=2.0)
        time.sleep(0.3)
        server.mode = "changing"
        server.start()  # same port
        assert src.wait_for_status("ok", timeout=5.0)
        assert src.stats.reconnects >= 1
        frame = src.read(timeout=2.0)
        assert frame is not None and frame.bgr.shape == (120, 160, 3)
    assert is_subsequence(["ok", "frozen", "lost", "reconnecting", "ok", "ended"], rec.statuses)


def test_url_source_silent_camera_is_lost_and_stop_does_not_block(mjpeg_server):
    server = mjpeg_server
    src = UrlSource(server.url, stall_s=0.5, frozen_s=2.0)
    with src:
        assert src.wait_for_status("ok", timeout=3.0)
        server.mode = "silent"  # connection open, nothing sent
        t0 = time.monotonic()
        assert src.wait_for_status("lost", "reconnecting", timeout=1.5)
        assert time.monotonic() - t0 < 1.5

    # A long stall limit: stop() must interrupt a receive that would wait for it.
    server.mode = "changing"
    src = UrlSource(server.url, stall_s=10.0).start()
    assert src.wait_for_status("ok", timeout=3.0)
    server.mode = "silent"
    time.sleep(0.3)
    t0 = time.monotonic()
    src.stop()
    assert time.monotonic() - t0 < 1.0 and not src._thread.is_alive()


def test_url_source_server_that_never_answers_does_not_block_30_s():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts TCP, never answers HTTP (OpenCV waits ~30 s here)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/video.mjpg"
        t0 = time.monotonic()
        with UrlSource(url, open_timeout_s=0.5, stall_s=0.5) as src:
            assert src.wait_for_status("reconnecting", timeout=2.0)
            assert time.monotonic() - t0 < 2.0 and "timed out" in src.status_message
    finally:
        listener.close()


@pytest.mark.parametrize("boundary", ["plain", "--dashed"])
def test_mjpeg_stream_without_content_length(boundary):
    server = MjpegServer(size=(64, 48), content_length=False, boundary=boundary).start()
    try:
        stream = MjpegHttpStream(server.url, open_timeout_s=2.0, read_timeout_s=2.0)
        stream.open()
        frames = [stream.read() for _ in range(4)]
        stream.close()
    finally:
        server.stop()
    assert all(f.shape == (48, 64, 3) for f in frames)
    assert len({f.tobytes() for f in frames}) == 4


def test_mjpeg_stream_basic_auth_and_wrong_content():
    token = base64.b64encode(b"nurse:pa ss").decode()
    server = MjpegServer(size=(64, 48), auth=f"Basic {token}").start()
    try:
        base = f"http://{{}}127.0.0.1:{server.port}/video"
        stream = MjpegHttpStream(base.format("nurse:pa%20ss@") + ".mjpg", read_timeout_s=2.0)
        stream.open()
        assert stream.read().shape == (48, 64, 3)
        stream.close()
        with pytest.raises(ConnectionError, match="401"):
            MjpegHttpStream(base.format("nurse:wrong@") + ".mjpg").open()
        with pytest.raises(ConnectionError, match="not an MJPEG stream"):
            MjpegHttpStream(base.format("nurse:pa%20ss@") + ".html").open()
        src = UrlSource(base.format("nurse:wrong@") + ".mjpg", stall_s=0.5)
        assert "wrong" not in src.describe()
        with src:
            assert src.wait_for_status("reconnecting", timeout=2.0)
            assert "HTTP 401" in src.status_message
    finally:
        server.stop()


def test_url_source_refused_connection_and_rtsp_reconnect():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    for url in (f"http://127.0.0.1:{port}/x.mjpg", f"rtsp://127.0.0.1:{port}/stream"):
        with UrlSource(url, open_timeout_s=1.0, stall_s=0.5) as src:
            assert src.wait_for_status("reconnecting", timeout=3.0), url
            assert src.stats.frames_captured == 0


# -- MJPEG whatever the Content-Type (issue 10, item 6) ---------------------------------------


@pytest.mark.parametrize(
    "content_type, bare, content_length",
    [
        ("application/octet-stream", False, True),  # ffmpeg's mpjpeg
        ("application/octet-stream", False, False),
        ("multipart/x-mixed-replace", False, True),  # no boundary parameter
        ("", False, True),
        ("image/jpeg", True, False),  # bare JPEGs back to back
        ("application/octet-stream", True, False),
    ],
)
def test_mjpeg_body_is_sniffed_whatever_the_content_type(content_type, bare, content_length):
    server = MjpegServer(
        content_type=content_type, bare=bare, content_length=content_length, boundary="ffmpeg"
    ).start()
    try:
        stream = MjpegHttpStream(server.url, open_timeout_s=3.0, read_timeout_s=3.0)
        stream.open()
        try:
            assert stream.boundary == (None if bare else b"ffmpeg")
            frames = [stream.read() for _ in range(4)]
        finally:
            stream.close()
    finally:
        server.stop()
    assert all(f.shape == (120, 160, 3) for f in frames)
    assert len({f.tobytes() for f in frames}) == 4


def test_a_body_that_is_not_mjpeg_is_refused_with_what_was_seen():
    class Garbage(MjpegServer):
        def part(self, jpeg):
            return b"HELLO this is not a video stream\r\n" * 10

    server = Garbage(content_type="application/octet-stream").start()
    try:
        with pytest.raises(ConnectionError, match=r"not an MJPEG stream.*HELLO"):
            MjpegHttpStream(server.url, open_timeout_s=2.0).open()
    finally:
        server.stop()


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_a_real_ffmpeg_mpjpeg_server_is_read():
    """ffmpeg -f mpjpeg -listen 1 sends Content-Type: application/octet-stream."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=15",
            "-t",
            "30",
            "-f",
            "mpjpeg",
            "-listen",
            "1",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        src = UrlSource(url, stall_s=3.0, backoff_initial=0.2, backoff_max=0.5)
        with src:
            assert src.wait_for_status("ok", timeout=20.0), src.status_message
            frames = [src.read(timeout=3.0) for _ in range(10)]
        assert all(f is not None and f.bgr.shape == (240, 320, 3) for f in frames)
        assert len({f.bgr.tobytes() for f in frames}) > 5  # a moving test pattern
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_damaged_camera_frame_is_read_without_libjpeg_chatter_on_stderr(capfd):
    """A JPEG whose scan ends early (a dropped packet) is decoded as far as it goes;
    OpenCV's libjpeg printed "Corrupt JPEG data: premature end of data segment" on stderr
    for each such frame, breaking the one-line stderr of the command line."""

    class Damaged(MjpegServer):
        def jpeg(self):
            good = super().jpeg()
            return good[: len(good) // 2] + b"\xff\xd9"  # scan cut short, end marker kept

    server = Damaged(size=(160, 120)).start()
    try:
        stream = MjpegHttpStream(server.url, open_timeout_s=2.0, read_timeout_s=2.0)
        stream.open()
        frames = [stream.read() for _ in range(3)]
        stream.close()
    finally:
        server.stop()
    assert all(f.shape == (120, 160, 3) for f in frames)
    assert capfd.readouterr().err == ""


def test_a_camera_frame_beyond_the_pixel_limit_is_refused_before_decoding():
    from painsign.capture.mjpeg import decode_jpeg_frame

    # A JPEG header claiming 9000 x 9000 pixels (SOF0 height and width patched).
    jpeg = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = (9000).to_bytes(2, "big") * 2
    with pytest.raises(ValueError, match="more than the limit"):
        decode_jpeg_frame(bytes(jpeg))
