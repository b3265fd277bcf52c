"""The alarm sound for real: QSoundEffect through a PulseAudio null sink, recorded back.

Skipped unless ``pulseaudio``, ``pactl`` and ``parec`` are installed (Debian
``pulseaudio pulseaudio-utils``). Checks what the issue heard (item 12): a burst of a new
priority must not open with a fragment of the previous priority's tone, and the last
pulse of a burst must keep its length.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from painsign.alarms import pulse_segments, read_wav

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("pulseaudio", "pactl", "parec")),
        reason="needs pulseaudio and pulseaudio-utils",
    ),
]

PLAY = textwrap.dedent("""
    import sys, time, subprocess
    from types import SimpleNamespace
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from painsign.alarms import Priority
    from painsign.gui.sound import AlarmSound
    rec = subprocess.Popen(["parec", "-d", "nul.monitor", "--file-format=wav",
                            "--channels=1", "--rate=22050", sys.argv[1]])
    sound = AlarmSound()
    def run(seconds, name):
        alarm = None if name == "NONE" else SimpleNamespace(priority=Priority[name])
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            sound.update(alarm); app.processEvents(); time.sleep(0.005)
    steps = sys.argv[2:]
    for name, seconds in zip(steps[::2], steps[1::2]):
        run(float(seconds), name)
    rec.terminate(); rec.wait()
    print("problem:", sound.problem)
""")


def _f0(x, rate):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=1 << 15))
    f = np.fft.rfftfreq(1 << 15, 1 / rate)
    band = (f > 300) & (f < 800)
    return float(f[band][np.argmax(spec[band])])


@pytest.fixture()
def null_sink(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "xdg"))
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    subprocess.run(
        ["pulseaudio", "-D", "--exit-idle-time=-1", "--daemonize=yes"],
        env=env,
        capture_output=True,
        timeout=30,
    )
    for _ in range(50):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(
        ["pactl", "load-module", "module-null-sink", "sink_name=nul"],
        env=env,
        check=True,
        capture_output=True,
        timeout=10,
    )
    subprocess.run(["pactl", "set-default-sink", "nul"], env=env, check=True, timeout=10)
    yield env
    subprocess.run(["pactl", "exit"], env=env, capture_output=True, timeout=10)


def test_recorded_bursts_switch_cleanly_and_keep_their_last_pulse(null_sink, tmp_path):
    wav = tmp_path / "rec.wav"
    # warm the sink up (the first sound after an idle sink is cut by the server), then a
    # medium burst to its end, then medium interrupted mid-pulse by a high alarm
    steps = [
        "NONE",
        "1",
        "LOW",
        "1",
        "MEDIUM",
        "1.5",
        "NONE",
        "1",
        "MEDIUM",
        "0.4",
        "HIGH",
        "2.5",
        "NONE",
        "1",
    ]
    r = subprocess.run(
        [sys.executable, "-c", PLAY, str(wav), *steps],
        env={**null_sink, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "problem: None" in r.stdout, r.stdout + r.stderr
    x, rate = read_wav(wav)
    x = x.astype(np.float64)
    pulses = [
        (a, b, _f0(x[int(a * rate) : int(b * rate)], rate)) for a, b in pulse_segments(x, rate)
    ]
    high = [p for p in pulses if abs(p[2] - 660) < 15]
    assert len(high) == 10, pulses
    first_high = high[0][0]
    before = [p for p in pulses if p[1] <= first_high]
    # nothing of the medium tone in the 150 ms before the high burst, no short fragment
    assert all(first_high - b > 0.05 for a, b, f in before), pulses
    assert all(b - a > 0.1 for a, b, f in before[-2:]), pulses
    # the first medium burst (after warm-up) has all 3 pulses at full length, the last too
    medium = [p for p in pulses if abs(p[2] - 520) < 15 and p[1] < first_high]
    assert len(medium) >= 4, pulses
    assert all(b - a > 0.15 for a, b, f in medium[:3]), pulses
    assert all(b - a > 0.085 for a, b, f in high), high
