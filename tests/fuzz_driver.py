"""Run many ``painsign`` command lines in one process, as the fuzz test needs.

Starting a process costs about a second (onnxruntime, the models), so tests/test_fuzz.py
hands this driver a JSON list of argument lists on stdin. Each runs through
:func:`painsign.cli.main` as ``python -m painsign`` would, with file descriptors 1 and 2
redirected (descriptor-level, so a C library's own messages are caught too), a per-case
alarm, and the peak resident memory of the case (VmHWM, reset before each case through
/proc/self/clear_refs). One JSON line per case goes to the real stdout: exit code (or
"timeout", or "escaped: <exception>" when something got past main), stderr text, peak
memory in MB and seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` in painsign
    takes it for an ordinary error."""


def _on_alarm(signum, frame):
    raise CaseTimeout


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def run_case(main, argv: list[str], timeout_s: float, err_file, null_fd: int) -> dict:
    saved_out, saved_err = os.dup(1), os.dup(2)
    err_file.seek(0)
    err_file.truncate()
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(null_fd, 1)
    os.dup2(err_file.fileno(), 2)
    reset_peak_rss()
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except CaseTimeout:
        code = "timeout"
    except BaseException as exc:
        code = f"escaped: {type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
    seconds = time.perf_counter() - start
    err_file.seek(0)
    stderr = err_file.read().decode("utf-8", "replace")
    return {
        "argv": argv,
        "code": code,
        "stderr": stderr,
        "peak_mb": peak_rss_mb(),
        "seconds": seconds,
    }


def main() -> None:
    cases = json.load(sys.stdin)
    timeout_s = float(os.environ.get("FUZZ_CASE_TIMEOUT", "20"))
    from painsign.cli import main as painsign_main

    signal.signal(signal.SIGALRM, _on_alarm)
    out = os.fdopen(os.dup(1), "w", buffering=1)
    null_fd = os.open(os.devnull, os.O_WRONLY)
    with tempfile.TemporaryFile() as err_file:
        for argv in cases:
            out.write(
                json.dumps(run_case(painsign_main, argv, timeout_s, err_file, null_fd)) + "\n"
            )


if __name__ == "__main__":
    main()
