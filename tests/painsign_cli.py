"""Run the real ``painsign`` command line in a child process, the way a user would."""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def painsign_argv(*args: object) -> list[str]:
    """The argument vector that starts ``python -m painsign`` with this interpreter.

    Parameters
    ----------
    *args
        The command's arguments (subcommand, options, paths); each is passed as ``str(arg)``.

    Returns
    -------
    list of str
        ``[sys.executable, "-m", "painsign", *args]``, for callers that wrap the command
        (strace, a shell) or start it themselves.
    """
    return [sys.executable, "-m", "painsign", *map(str, args)]


def run_painsign(*args: object, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run ``painsign`` to the end with its standard output and error captured as text.

    Parameters
    ----------
    *args
        The command's arguments, as for `painsign_argv`.
    timeout : float, default 300
        Seconds before `subprocess.TimeoutExpired` is raised (and the child killed).
    **kwargs
        Passed on to `subprocess.run`: ``env``, ``cwd``, ``input``, ``check`` and so on.

    Returns
    -------
    subprocess.CompletedProcess
        With ``returncode``, ``stdout`` and ``stderr`` (str).
    """
    return subprocess.run(
        painsign_argv(*args), capture_output=True, text=True, timeout=timeout, **kwargs
    )


def start_painsign(*args: object, **kwargs: Any) -> subprocess.Popen:
    """Start ``painsign`` in the background, its standard output and error piped as text.

    Parameters
    ----------
    *args
        The command's arguments, as for `painsign_argv`.
    **kwargs
        Passed on to `subprocess.Popen`; they may replace the defaults
        (``stdout=PIPE, stderr=PIPE, text=True``), e.g. ``stderr=subprocess.STDOUT``.

    Returns
    -------
    subprocess.Popen
        The running command; the caller reads its pipes and waits for it (or kills it).
    """
    options: dict[str, Any] = {
        "stdout": subprocess.PIPE,
        "stderr": subprocess.PIPE,
        "text": True,
        **kwargs,
    }
    return subprocess.Popen(painsign_argv(*args), **options)
