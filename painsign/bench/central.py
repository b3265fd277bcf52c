"""The central-station bench: N replayed beds into one central station through a real
Mosquitto on loopback.

Three processes, as on a unit: ``mosquitto``, ``painsign replay-unit`` (the beds, one MQTT
client each) and the central station (this module run with ``--serve``: a
:class:`~painsign.central.central.CentralStation` that counts what it takes). Reported
over a measuring window after a warm-up: messages per second received by the central,
end-to-end latency (``time_utc`` stamped at the bed to arrival at the central, one clock)
of alarm and state messages, and the CPU (cores, from ``/proc``) and memory (RSS) of the
central, the replaying beds and the broker.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from painsign.assets import asset_path
from painsign.bench.workload import cache_dir

#: Why the bench is skipped without a broker.
NO_BROKER = (
    "skipped: the MQTT broker mosquitto is not installed (Debian: apt-get install mosquitto)"
)

#: The target: every alarm change at the central within 1 s (p99).
ALARM_LATENCY_P99_MS_MAX = 1000.0

PY = [sys.executable, "-m", "painsign"]


def find_mosquitto() -> str | None:
    """The ``mosquitto`` binary (on PATH or Debian's /usr/sbin), or None."""
    found = shutil.which("mosquitto")
    if found is None and os.access("/usr/sbin/mosquitto", os.X_OK):
        found = "/usr/sbin/mosquitto"
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def proc_usage(pid: int) -> tuple[float, float] | None:
    """CPU seconds (user + system) and resident memory (MB) of a process, from /proc;
    None where there is no /proc or the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    rss = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:")), "0")
    return cpu, int(rss) / 1024


def recorded_sessions(folder: Path | None = None) -> Path:
    """A session database recorded by the real monitor from the demo video (30 s, pain
    surges, no-face stretches, shortened alarm delays), made once and kept."""
    path = (folder or cache_dir()) / "central_bench_sessions.db"
    if path.is_file() and path.stat().st_size > 0:
        return path
    tmp = path.with_suffix(".part.db")
    for stale in path.parent.glob(tmp.name + "*"):
        stale.unlink()
    subprocess.run(
        [
            *PY,
            "monitor",
            "--video",
            str(asset_path("demo_grimace.mp4")),
            "--headless",
            "--demo",
            "--speed",
            "8",
            "--bed",
            "bench bed",
            "--db",
            str(tmp),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    tmp.replace(path)
    return path


def _percentiles_ms(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    p50, p99 = np.percentile(values, [50, 99])
    return {
        "p50_ms": round(1000 * float(p50), 1),
        "p99_ms": round(1000 * float(p99), 1),
        "max_ms": round(1000 * max(values), 1),
    }


def central_bench(
    beds: int = 50,
    seconds: float = 30.0,
    speed: float = 1.0,
    dbs: list[Path] | None = None,
    warmup_s: float = 5.0,
    say=print,
) -> dict:
    """Replay ``beds`` beds into one central station for ``seconds`` and measure.

    Parameters
    ----------
    beds : int
    seconds : float
        The measuring window, after ``warmup_s`` (connections, retained messages).
    speed : float
        Replay speed of the beds (1 = real time, as on a unit).
    dbs : list of Path, optional
        Session databases to replay (default: :func:`recorded_sessions`).
    say : callable
        Progress lines.

    Returns
    -------
    dict
        ``beds``, ``seconds``, ``messages``, ``messages_per_s``, ``by_kind``,
        ``alarm_latency`` and ``state_latency`` (``p50_ms``, ``p99_ms``, ``max_ms``),
        ``central``/``beds_process``/``broker`` (``cpu_cores``, ``rss_mb``), ``invalid``;
        or ``{"skipped": why}`` without mosquitto.
    """
    mosquitto = find_mosquitto()
    if mosquitto is None:
        return {"skipped": NO_BROKER}
    if dbs is None:
        say("recording a session from the demo video (once, then cached) ...")
        dbs = [recorded_sessions()]
    with tempfile.TemporaryDirectory(prefix="painsign-bench-central-") as folder:
        port = _free_port()
        conf = Path(folder) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n"
            f"user {getpass.getuser()}\nlog_dest none\n"
        )
        procs: dict[str, subprocess.Popen] = {}
        beds_log = open(Path(folder) / "replay-unit.log", "w+b")  # closed below
        try:
            procs["broker"] = subprocess.Popen(
                [mosquitto, "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if not _listening(port):
                raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{port}")
            procs["central"] = subprocess.Popen(
                [sys.executable, "-m", "painsign.bench.central", "--serve", str(port)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert procs["central"].stdout is not None and procs["central"].stdin is not None
            if procs["central"].stdout.readline().strip() != "ready":
                raise RuntimeError("the bench's central station did not connect")
            say(f"central: {beds} replayed beds, {warmup_s:g} s warm-up, {seconds:g} s ...")
            procs["beds_process"] = subprocess.Popen(
                [
                    *PY,
                    "replay-unit",
                    *map(str, dbs),
                    "--beds",
                    str(beds),
                    "--unit",
                    "bench",
                    "--broker",
                    f"mqtt://127.0.0.1:{port}",
                    "--speed",
                    str(speed),
                ],
                stdout=subprocess.DEVNULL,
                stderr=beds_log,
            )
            time.sleep(warmup_s)
            before = {k: proc_usage(p.pid) for k, p in procs.items()}
            procs["central"].stdin.write("start\n")
            procs["central"].stdin.flush()
            t0 = time.monotonic()
            time.sleep(seconds)
            after = {k: proc_usage(p.pid) for k, p in procs.items()}
            wall = time.monotonic() - t0
            procs["central"].stdin.write("stop\n")
            procs["central"].stdin.flush()
            measured = json.loads(procs["central"].stdout.readline())
            if procs["beds_process"].poll() is not None:
                beds_log.seek(0)
                raise RuntimeError(f"replay-unit ended early: {beds_log.read()[-500:]!r}")
        finally:
            # The central ends at the end of its stdin, the beds at SIGINT (offline
            # "stopped"), the broker last.
            if "central" in procs and procs["central"].stdin is not None:
                procs["central"].stdin.close()
            if "beds_process" in procs:
                procs["beds_process"].send_signal(signal.SIGINT)
            for name in ("beds_process", "central", "broker"):
                if name not in procs:
                    continue
                if name == "broker":
                    procs[name].terminate()
                try:
                    procs[name].wait(30)
                except subprocess.TimeoutExpired:
                    procs[name].kill()
                    procs[name].wait()
            beds_log.close()
    result = {"beds": beds, "seconds": round(wall, 2), "speed": speed, **measured}
    result["messages_per_s"] = round(measured["messages"] / wall, 1)
    for name in ("central", "beds_process", "broker"):
        b, a = before.get(name), after.get(name)
        result[name] = (
            {"cpu_cores": round((a[0] - b[0]) / wall, 3), "rss_mb": round(a[1], 1)}
            if a is not None and b is not None
            else {"cpu_cores": None, "rss_mb": None}
        )
    return result


def _serve(port: int) -> int:
    """The measured central station: ``ready`` once subscribed; counts from a ``start``
    line on stdin; prints the figures as one JSON line at ``stop``."""
    from painsign.central.central import CentralStation
    from painsign.central.schema import parse_time

    class Measured(CentralStation):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.counting = False
            self.counts: Counter = Counter()
            self.alarm_s: list[float] = []
            self.state_s: list[float] = []

        def _take(self, kind, payload, retained):
            if self.counting:
                self.counts[kind] += 1
                late = time.time() - parse_time(payload["time_utc"]).timestamp()
                if kind == "alarm" and not payload["queued"]:
                    self.alarm_s.append(late)
                elif kind == "state" and not retained:
                    self.state_s.append(late)
            super()._take(kind, payload, retained)

    station = Measured("127.0.0.1", port, "bench", echo=lambda line: None)
    station.start()
    end = time.monotonic() + 20
    while not station.connected and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.3)  # the subscription is acknowledged
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "start":
            station.invalid = 0
            station.counting = True
        elif line.strip() == "stop":
            station.counting = False
            out = {
                "messages": sum(station.counts.values()),
                "by_kind": dict(station.counts),
                "alarm_messages": len(station.alarm_s),
                "alarm_latency": _percentiles_ms(station.alarm_s),
                "state_latency": _percentiles_ms(station.state_s),
                "invalid": station.invalid,
                "beds_seen": len(station.beds),
            }
            print(json.dumps(out), flush=True)
            break
    station.stop()
    return 0


def print_central(r: dict) -> None:
    """The central bench in a few lines."""
    if "skipped" in r:
        print(f"central station: {r['skipped']}")
        return
    a, s = r["alarm_latency"], r["state_latency"]
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(r["by_kind"].items()))
    print(
        f"central station: {r['beds']} replayed beds ({r['beds_seen']} seen) for "
        f"{r['seconds']:g} s: {r['messages']} messages ({kinds}) = "
        f"{r['messages_per_s']:g} messages/s"
    )
    print(
        f"  end-to-end latency: alarm p50 {a['p50_ms']} ms p99 {a['p99_ms']} ms max "
        f"{a['max_ms']} ms ({r['alarm_messages']} alarm messages); state p50 "
        f"{s['p50_ms']} ms p99 {s['p99_ms']} ms"
    )
    for name, label in (("central", "central"), ("beds_process", "beds"), ("broker", "broker")):
        u = r[name]
        print(f"  {label}: CPU {u['cpu_cores']} cores, RSS {u['rss_mb']} MB")
    met = a["p99_ms"] is not None and a["p99_ms"] <= ALARM_LATENCY_P99_MS_MAX
    print(
        f"  {'ok  ' if met else 'MISS'} alarm latency p99 <= {ALARM_LATENCY_P99_MS_MAX:g} ms; "
        f"{r['invalid']} payloads refused by the schema"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        sys.exit(_serve(int(sys.argv[2])))
    sys.exit("usage: python -m painsign.bench.central --serve PORT")
