"""Read an HTTP "multipart/x-mixed-replace" MJPEG stream (IP cameras) with real timeouts.

OpenCV's FFmpeg backend reads such streams but blocks about 30 s on an IP camera that
accepts the connection and then stays silent. This reader uses :mod:`http.client` with a
socket timeout on every receive and a deadline per frame, so a silent or trickling camera
gives a :class:`TimeoutError` within ``read_timeout_s``, and :meth:`MjpegHttpStream.abort`
unblocks it from another thread.

Parts are taken by their ``Content-Length`` when the camera sends one, otherwise from the
JPEG start-of-image marker to the end-of-image marker; each is decoded by Pillow, which
reports a damaged frame to Python where OpenCV's libjpeg prints "Corrupt JPEG data" on
stderr for every one.

The body decides, not the ``Content-Type``: ffmpeg's ``mpjpeg`` muxer sends
``application/octet-stream`` and cheap IP cameras send anything. Unless the header names
a boundary, the first bytes are sniffed: a ``--boundary`` line starts a multipart body,
a JPEG start-of-image marker starts a stream of bare JPEGs; anything else (a login page,
``text/*``) is refused with what was seen.
"""

from __future__ import annotations

import base64
import http.client
import io
import re
import socket
import threading
import time
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np
from PIL import Image

from painsign.limits import check_frame_size

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"


def decode_jpeg_frame(jpeg: bytes) -> np.ndarray:
    """Decode one camera frame, checking its size before decoding it.

    Parameters
    ----------
    jpeg : bytes
        One JPEG image.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) BGR uint8.

    Raises
    ------
    ValueError
        The frame cannot be decoded or has more than
        :data:`painsign.limits.MAX_FRAME_PIXELS` pixels.
    """
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            check_frame_size(*image.size, "camera frame")
            rgb = np.asarray(image.convert("RGB"))
    except Exception as exc:  # a garbled frame raises many types; none is a bug here
        raise ValueError(f"undecodable JPEG frame ({len(jpeg)} bytes): {exc}") from None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")
_BOUNDARY = re.compile(r'(?i)boundary="?([^";,]+)"?')


class MjpegHttpStream:
    """Frames of an MJPEG-over-HTTP stream.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL; ``user:password@`` in it is sent as basic auth.
    open_timeout_s : float
        Limit for connecting and receiving the response headers.
    read_timeout_s : float
        Limit for receiving one complete frame.
    max_frame_bytes : int
        A part larger than this is refused (a hostile or wrong stream cannot fill memory).

    Examples
    --------
    >>> stream = MjpegHttpStream("http://127.0.0.1:8080/video.mjpg")  # doctest: +SKIP
    >>> stream.open(); bgr = stream.read(); stream.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 3.0,
        max_frame_bytes: int = 16 * 1024 * 1024,
    ):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        self.url = url
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_frame_bytes = max_frame_bytes
        self.boundary: bytes | None = None
        self._parts = parts
        self._conn: http.client.HTTPConnection | None = None
        self._sock: socket.socket | None = None
        self._resp: http.client.HTTPResponse | None = None
        self._buf = bytearray()
        self._lock = threading.Lock()

    def open(self) -> None:
        """Connect and check that the answer is an MJPEG stream.

        Raises
        ------
        ConnectionError
            Refused connection, HTTP error status, or a content type that is not MJPEG.
        TimeoutError
            No answer within ``open_timeout_s``.
        """
        self.close()
        p = self._parts
        cls = http.client.HTTPSConnection if p.scheme == "https" else http.client.HTTPConnection
        conn = cls(p.hostname, p.port, timeout=self.open_timeout_s)
        headers = {"User-Agent": "painsign", "Accept": "multipart/x-mixed-replace, image/jpeg"}
        if p.username is not None:
            token = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        path = (p.path or "/") + (f"?{p.query}" if p.query else "")
        with self._lock:
            self._conn = conn
        try:
            conn.connect()
            with self._lock:
                # http.client hands the socket to a streaming response and forgets it:
                # keep it for per-read timeouts and abort().
                self._sock = conn.sock
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
        except OSError:
            self.close()
            raise
        except http.client.HTTPException as exc:
            self.close()
            raise ConnectionError(f"bad HTTP answer: {exc!r}") from exc
        ctype = resp.getheader("Content-Type", "") or ""
        if resp.status != 200:
            self.close()
            raise ConnectionError(f"HTTP {resp.status} {resp.reason}")
        if ctype.lower().startswith("text/"):  # a login or error page
            self.close()
            raise ConnectionError(f"not an MJPEG stream (Content-Type {ctype!r})")
        self._resp = resp
        self._buf = bytearray()
        match = _BOUNDARY.search(ctype) if ctype.lower().startswith("multipart/") else None
        if match:
            # Some cameras put the leading dashes in the parameter; match on the bare token.
            self.boundary = match.group(1).strip().lstrip("-").encode("latin-1")
            return
        try:
            self.boundary = self._sniff(ctype, time.monotonic() + self.open_timeout_s)
        except (OSError, ValueError) as exc:
            self.close()
            if isinstance(exc, TimeoutError) or (
                isinstance(exc, ConnectionError) and str(exc).startswith("not an MJPEG")
            ):
                raise
            raise ConnectionError(f"not an MJPEG stream (Content-Type {ctype!r}): {exc}") from exc

    def _sniff(self, ctype: str, deadline: float) -> bytes | None:
        """Find the boundary (or None for bare JPEGs) from the first bytes of the body."""
        while True:
            head = bytes(self._buf).lstrip(b"\r\n \t")
            if head.startswith(_SOI):
                return None
            if head.startswith(b"--"):
                end = head.find(b"\n")
                if end > 2:
                    token = head[2:end].strip()
                    if token and len(token) <= 200:
                        return token
            elif len(head) >= 2 or len(self._buf) > 4096:
                raise ConnectionError(
                    f"not an MJPEG stream (Content-Type {ctype!r}; the body starts with "
                    f"{head[:24]!r}, neither a multipart boundary nor a JPEG)"
                )
            if len(self._buf) > 4096:
                raise ConnectionError(
                    f"not an MJPEG stream (Content-Type {ctype!r}; no "
                    "boundary line in the first 4 KiB)"
                )
            self._fill(deadline)

    def read(self) -> np.ndarray:
        """Return the next frame as a BGR array.

        Raises
        ------
        TimeoutError
            No complete frame within ``read_timeout_s``.
        ConnectionError
            The server closed the stream, or :meth:`abort` was called.
        ValueError
            A part that is not a decodable JPEG, or larger than ``max_frame_bytes``.
        """
        if self._resp is None:
            raise ConnectionError("stream not open")
        deadline = time.monotonic() + self.read_timeout_s
        jpeg = self._next_jpeg(deadline)
        return decode_jpeg_frame(jpeg)

    def abort(self) -> None:
        """Unblock a :meth:`read` waiting in another thread (it raises ConnectionError)."""
        with self._lock:
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            resp, conn, sock = self._resp, self._conn, self._sock
            self._resp = self._conn = self._sock = None
        for obj in (resp, conn, sock):
            if obj is not None:
                try:
                    obj.close()
                except OSError:
                    pass

    # -- parsing ----------------------------------------------------------------------

    def _next_jpeg(self, deadline: float) -> bytes:
        buf = self._buf
        if self.boundary is not None:
            delimiter = self.boundary
            start = self._find(delimiter, 0, deadline)
            del buf[: start + len(delimiter)]
            match = self._find_re(_HEADER_END, deadline)
            headers, body_start = bytes(buf[: match.start()]), match.end()
            length = _CONTENT_LENGTH.search(headers)
            if length is not None:
                size = int(length.group(1))
                if size > self.max_frame_bytes:
                    raise ValueError(f"frame of {size} bytes exceeds {self.max_frame_bytes}")
                while len(buf) < body_start + size:
                    self._fill(deadline)
                jpeg = bytes(buf[body_start : body_start + size])
                del buf[: body_start + size]
                return jpeg
            del buf[:body_start]
        start = self._find(_SOI, 0, deadline)
        end = self._find(_EOI, start + 2, deadline) + 2
        jpeg = bytes(buf[start:end])
        del buf[:end]
        return jpeg

    def _find(self, token: bytes, start: int, deadline: float) -> int:
        while (i := self._buf.find(token, start)) < 0:
            start = max(start, len(self._buf) - len(token) + 1)
            self._fill(deadline)
        return i

    def _find_re(self, pattern: re.Pattern, deadline: float) -> re.Match:
        while (match := pattern.search(self._buf)) is None:
            self._fill(deadline)
        return match

    def _fill(self, deadline: float) -> None:
        if len(self._buf) > self.max_frame_bytes:
            raise ValueError(
                f"no complete JPEG frame within {self.max_frame_bytes} bytes: not an MJPEG stream?"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete frame within {self.read_timeout_s:g} s")
        resp, sock = self._resp, self._sock
        if resp is None:
            raise ConnectionError("stream closed")
        if sock is not None:
            sock.settimeout(remaining)
        try:
            chunk = resp.read1(65536)
        except TimeoutError:
            raise TimeoutError(f"no complete frame within {self.read_timeout_s:g} s") from None
        except (ValueError, AttributeError) as exc:  # closed under our feet by abort/close
            raise ConnectionError(f"stream closed: {exc}") from exc
        except http.client.HTTPException as exc:
            raise ConnectionError(f"bad HTTP stream: {exc!r}") from exc
        if not chunk:
            raise ConnectionError("the server closed the stream")
        self._buf += chunk
