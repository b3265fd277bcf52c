"""Qt's own messages (QtMultimedia's PipeWire and PulseAudio search, offscreen window
hints) go to the log at DEBUG, never to stderr without --debug."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("PySide6")

CHILD = r"""
import logging, sys
from PySide6.QtCore import qCritical, qWarning
from painsign.gui.qt_messages import route_qt_messages
logging.basicConfig(
    stream=sys.stdout, level=logging.DEBUG, format="%(levelname)s %(name)s %(message)s"
)
route_qt_messages()
qWarning("Couldn't load pipewire-0.3 library")
qCritical("something Qt could not do")
"""


def test_qt_warnings_go_to_the_log_at_debug_and_nothing_reaches_stderr():
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "DEBUG painsign.qt default: Couldn't load pipewire-0.3 library" in r.stdout
    assert "WARNING painsign.qt default: something Qt could not do" in r.stdout


def test_without_the_route_qt_prints_to_stderr():
    """The check above can fail: the same message unrouted reaches stderr."""
    r = subprocess.run(
        [sys.executable, "-c", "from PySide6.QtCore import qWarning; qWarning('chatter')"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "chatter" in r.stderr
