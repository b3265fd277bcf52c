"""The committed alarm bursts (assets/alarm_*.wav): pulses, timing, tone, reproducibility."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from painsign.alarms import (
    ALARM_WAV,
    FUNDAMENTAL_HZ,
    SAMPLE_RATE,
    Priority,
    burst_pattern,
    count_pulses,
    pulse_onsets,
    pulse_segments,
    read_wav,
    synthesize_burst,
)
from painsign.alarms.sounds import (
    TAIL_SILENCE_S,
    write_wav,
)

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets"
SCRIPT = REPO / "scripts" / "make_alarm_sounds.py"

# priority, pulses, allowed on-duration (s) of each pulse
SPEC = [
    (Priority.HIGH, 10, (0.080, 0.150)),
    (Priority.MEDIUM, 3, (0.130, 0.200)),
    (Priority.LOW, 1, (0.130, 0.200)),
]


def load(priority):
    """Samples (float, full scale 1) and rate of a committed file, read with `wave` alone."""
    with wave.open(str(ASSETS / ALARM_WAV[priority]), "rb") as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getcomptype()) == (1, 2, "NONE")
        rate = f.getframerate()
        x = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return x.astype(np.float64) / 32768.0, rate


@pytest.mark.parametrize(("priority", "n", "_on"), SPEC)
def test_committed_files_are_mono_16_bit_with_the_right_pulse_count(priority, n, _on):
    assert ALARM_WAV[priority] == f"alarm_{priority.label}.wav"
    x, rate = load(priority)
    assert rate >= 8000 and x.size > 0
    assert count_pulses(x, rate) == n
    peak = np.abs(x).max()
    assert 0.3 < peak < 1.0  # loud enough, never clipped
    assert x[0] == 0 and x[-1] == 0  # no step at either end


@pytest.mark.parametrize(("priority", "n", "on"), SPEC)
def test_pulse_on_durations_are_in_range(priority, n, on):
    x, rate = load(priority)
    durations = np.diff(pulse_segments(x, rate), axis=1).ravel()
    assert durations.size == n
    assert np.all((durations >= on[0]) & (durations <= on[1])), durations


def test_high_burst_is_two_groups_of_five():
    x, rate = load(Priority.HIGH)
    seg = pulse_segments(x, rate)
    gaps = seg[1:, 0] - seg[:-1, 1]
    assert gaps.size == 9
    assert np.argmax(gaps) == 4
    others = np.delete(gaps, 4)
    assert gaps[4] > 3 * others.max()
    assert np.all((others >= 0.015) & (others <= 0.080)), others  # IEC: 15-80 ms off
    onsets = pulse_onsets(x, rate)
    np.testing.assert_allclose(onsets, seg[:, 0])
    assert np.ptp(np.diff(onsets[:5])) < 0.002 and np.ptp(np.diff(onsets[5:])) < 0.002


def _spectrum_db(x, rate):
    n = 1 << 16
    mag = np.abs(np.fft.rfft(x * np.hanning(x.size), n=n))
    return np.fft.rfftfreq(n, 1.0 / rate), 20 * np.log10(mag / mag.max() + 1e-12)


@pytest.mark.parametrize("priority", list(Priority))
def test_pulse_tone_has_fundamental_in_band_and_four_harmonics_within_15_db(priority):
    x, rate = load(priority)
    start, end = pulse_segments(x, rate)[0]
    pulse = x[int(start * rate) : int(end * rate)]
    freqs, db = _spectrum_db(pulse, rate)
    band = (freqs >= 150) & (freqs <= 1000)
    f0 = freqs[band][np.argmax(db[band])]
    assert f0 == pytest.approx(FUNDAMENTAL_HZ[priority], rel=0.01)
    level0 = db[band].max()
    below = (freqs > 50) & (freqs < 0.8 * f0)
    assert db[below].max() < level0 - 30  # f0 is the fundamental, not a harmonic

    def level(f):
        near = np.abs(freqs - f) <= 0.03 * f
        return db[near].max()

    harmonics = [level(k * f0) for k in range(2, 11) if k * f0 < rate / 2]
    within = [h for h in harmonics if h >= level0 - 15]
    assert len(within) >= 4, harmonics
    tone = [level0, *within[:4]]
    assert max(tone) - min(tone) <= 15  # within 15 dB of each other


@pytest.mark.parametrize("priority", list(Priority))
def test_pulses_ramp_up_and_down_with_silence_between(priority):
    x = synthesize_burst(priority).astype(np.float64)
    t = 0
    for on, off in burst_pattern(priority):
        n_on, n_off = round(on * SAMPLE_RATE), round(off * SAMPLE_RATE)
        pulse = x[t : t + n_on]
        edge = round(0.0025 * SAMPLE_RATE)
        middle = pulse[n_on // 2 - 100 : n_on // 2 + 100]
        rms = np.sqrt(np.mean(middle**2))
        assert np.sqrt(np.mean(pulse[:edge] ** 2)) < 0.25 * rms  # attack, no click
        assert np.sqrt(np.mean(pulse[-edge:] ** 2)) < 0.25 * rms  # decay, no click
        assert np.all(x[t + n_on : t + n_on + n_off] == 0)  # silence, no continuous tone
        t += n_on + n_off
    tail = round(TAIL_SILENCE_S * SAMPLE_RATE)
    assert t + tail == x.size and np.all(x[t:] == 0)


@pytest.mark.parametrize("priority", list(Priority))
def test_last_pulse_is_as_long_as_the_others_and_followed_by_silence(priority):
    """A player dropping the last 30 ms of its buffer must drop silence, not the pulse."""
    x = synthesize_burst(priority)
    durations = np.diff(pulse_segments(x, SAMPLE_RATE), axis=1).ravel()
    assert durations[-1] == pytest.approx(durations.max(), abs=0.003)
    cut = x[: x.size - round(0.03 * SAMPLE_RATE)]  # what a player that drops 30 ms plays
    assert count_pulses(cut, SAMPLE_RATE) == priority.burst_pulses
    cut_durations = np.diff(pulse_segments(cut, SAMPLE_RATE), axis=1).ravel()
    assert cut_durations[-1] == pytest.approx(durations[-1], abs=0.001)
    assert TAIL_SILENCE_S >= 0.05


@pytest.mark.parametrize("priority", list(Priority))
def test_burst_pattern_matches_the_specification(priority):
    pattern = burst_pattern(priority)
    assert len(pattern) == priority.burst_pulses
    assert pattern[-1][1] == 0.0
    ons = {on for on, _ in pattern}
    offs = [off for _, off in pattern[:-1]]
    if priority == Priority.HIGH:
        assert ons == {0.1}
        assert offs == [0.05] * 4 + [0.35] + [0.05] * 4
    else:
        assert ons == {0.18}
        assert offs == [0.12] * (len(pattern) - 1)
    assert 150 <= FUNDAMENTAL_HZ[priority] <= 1000


@pytest.mark.parametrize("priority", list(Priority))
def test_committed_files_equal_the_synthesis(priority):
    samples, rate = read_wav(ASSETS / ALARM_WAV[priority])
    assert rate == SAMPLE_RATE and samples.dtype == np.int16 and samples.ndim == 1
    np.testing.assert_array_equal(samples, synthesize_burst(priority))


def test_script_reproduces_the_committed_files_byte_for_byte(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in ALARM_WAV.values():
        assert (tmp_path / name).read_bytes() == (ASSETS / name).read_bytes(), name
    check = [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--check"]
    assert subprocess.run(check, capture_output=True, timeout=120).returncode == 0
    (tmp_path / ALARM_WAV[Priority.LOW]).write_bytes(b"RIFF")
    failed = subprocess.run(check, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and ALARM_WAV[Priority.LOW] in failed.stderr


def test_pulse_counting_survives_a_realistic_recording(tmp_path):
    """What an end-to-end test records: stereo, other rate, silence around, noise, gain."""
    rng = np.random.default_rng(7)
    burst = synthesize_burst(Priority.MEDIUM).astype(np.float64) / 32768.0
    rate = 44100
    burst = np.interp(np.arange(0, burst.size, SAMPLE_RATE / rate), np.arange(burst.size), burst)
    quiet = np.zeros(rate // 2)
    mono = 0.3 * np.concatenate([quiet, burst, quiet, burst, quiet])
    mono += rng.normal(0, 0.002, mono.size) + 0.01  # hiss and a DC offset
    stereo = np.round(np.column_stack([mono, 0.8 * mono]) * 32767).astype(np.int16)
    assert count_pulses(stereo, rate) == 6
    onsets = pulse_onsets(stereo, rate)
    np.testing.assert_allclose(onsets[:3], 0.5 + np.array([0.0, 0.3, 0.6]), atol=0.01)
    assert count_pulses(np.zeros(rate, dtype=np.int16), rate) == 0
    assert count_pulses(rng.normal(0, 1e-4, rate), rate) == 0
    path = tmp_path / "mono.wav"
    write_wav(path, mono[: rate // 2 + burst.size], rate)
    samples, got_rate = read_wav(path)
    assert got_rate == rate and count_pulses(samples, got_rate) == 3


def test_synthesis_rejects_a_rate_too_low_for_the_harmonics():
    with pytest.raises(ValueError, match="sample_rate"):
        synthesize_burst(Priority.HIGH, sample_rate=6000)
    with pytest.raises(ValueError, match="mono"):
        write_wav("unused.wav", np.zeros((4, 2), dtype=np.int16))
