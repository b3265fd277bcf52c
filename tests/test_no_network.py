"""Nothing leaves the machine: `analyze` and the monitor under a syscall trace.

Before painsign switched it off, onnxruntime's telemetry created a device id and an event
store under ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` at import and, about 10 s
later, opened ``/etc/resolv.conf`` and sent DNS queries for
``mobile.events.data.microsoft.com`` (seen with ``strace -f``). These tests run the real
command line under ``strace -f`` with a fresh ``$HOME`` and fail on any connection or
datagram to an address other than loopback, on any DNS look-up (reading
``/etc/resolv.conf``) and on a telemetry store.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from painsign_cli import painsign_argv

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo_grimace.mp4"

#: A socket address in strace's output: family, then the IPv4 or IPv6 address.
_ADDRESS = re.compile(
    r"sa_family=(AF_INET6?),.*?(?:inet_addr\(\"([^\"]+)\"\)|inet_pton\(AF_INET6, \"([^\"]+)\")"
)
_LOOPBACK = ("127.", "::1", "::ffff:127.")


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    r = subprocess.run(["strace", "-f", "-o", "/dev/null", "true"], capture_output=True)
    return r.returncode == 0


pytestmark = [
    pytest.mark.skipif(
        not _strace_works(),
        reason="strace is not installed or may not trace here (.ci/run installs Debian's strace)",
    ),
    pytest.mark.slow,
]


def outbound(trace: str) -> list[str]:
    """Return the traced calls that reach beyond loopback or look up a name.

    Parameters
    ----------
    trace : str
        The output of ``strace -f -e trace=network,openat``.

    Returns
    -------
    list of str
        Each offending line: ``connect``/``sendto``/``sendmsg`` to an IPv4 or IPv6 address
        that is not loopback, and any opening of ``/etc/resolv.conf`` (a DNS look-up).
    """
    bad = []
    for line in trace.splitlines():
        if "resolv.conf" in line and "openat(" in line:
            bad.append(line)
            continue
        if not re.search(r"\b(connect|sendto|sendmsg|sendmmsg)\(", line):
            continue
        for _family, v4, v6 in _ADDRESS.findall(line):
            address = v4 or v6
            if not address.startswith(_LOOPBACK):
                bad.append(line)
    return bad


def test_outbound_finds_what_onnxruntime_telemetry_did():
    """The parser itself: the lines strace printed for onnxruntime's telemetry are caught,
    loopback traffic is not."""
    trace = "\n".join(
        [
            '20301 openat(AT_FDCWD, "/etc/resolv.conf", O_RDONLY|O_CLOEXEC) = 8',
            "20301 connect(8, {sa_family=AF_INET, sin_port=htons(53), "
            'sin_addr=inet_addr("10.255.255.53")}, 16) = 0',
            "20302 connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0),"
            ' inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
            "20303 connect(9, {sa_family=AF_INET, sin_port=htons(8080), "
            'sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
            '20304 connect(3, {sa_family=AF_UNIX, sun_path="/tmp/.X11-unix/X0"}, 110) = 0',
        ]
    )
    assert len(outbound(trace)) == 3


def traced(
    args: list[str], tmp_path: Path, timeout: float
) -> tuple[subprocess.CompletedProcess, str, Path]:
    """Run ``python -m painsign ARGS`` under ``strace -f`` with an empty ``$HOME``."""
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "strace.txt"
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }
    r = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=network,openat",
            "-o",
            str(log),
            *painsign_argv(*args),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )
    return r, log.read_text(errors="replace"), home


def _no_telemetry_store(home: Path) -> None:
    stores = [p for p in home.rglob("*") if "Microsoft" in p.parts or "onnxruntime" in p.name]
    assert stores == [], f"telemetry files written: {stores}"


def test_analyze_sends_nothing_and_stores_no_telemetry(tmp_path):
    r, trace, home = traced(
        ["analyze", str(DEMO), "--out", str(tmp_path / "out"), "--quiet"], tmp_path, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "sign.png").is_file()
    assert "connect(" in trace or "socket(" in trace or "openat(" in trace  # traced at all
    assert outbound(trace) == []
    _no_telemetry_store(home)


def test_monitor_window_for_20_s_sends_nothing_and_stores_no_telemetry(tmp_path):
    """The real dashboard (offscreen) replaying the demo with recording on, for longer than
    the 10 s after which onnxruntime's telemetry looked up its server."""
    r, trace, home = traced(
        [
            "monitor",
            "--video",
            str(DEMO),
            "--db",
            str(tmp_path / "s.db"),
            "--mute",
            "--exit-after",
            "20",
        ],
        tmp_path,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.db").stat().st_size > 0
    assert "openat(" in trace
    assert outbound(trace) == []
    _no_telemetry_store(home)


def test_onnxruntime_imported_before_painsign_is_said(tmp_path):
    """ORT_DISABLE_TELEMETRY is read when onnxruntime is imported: a program that imported
    it before painsign is told that its telemetry is on, and how to switch it off."""
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-c", "import onnxruntime, painsign.runtime"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0
    assert "ORT_DISABLE_TELEMETRY=1" in r.stderr
    r = subprocess.run(
        [sys.executable, "-c", "import painsign.runtime, onnxruntime"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0 and r.stderr == ""
