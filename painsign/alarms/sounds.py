"""Alarm sounds in the IEC 60601-1-8 style: burst patterns as data, WAV synthesis, analysis.

One burst per priority (played again every ``Priority.burst_interval_s`` by the player):

* high: 10 pulses as 5 + 5 -- 100 ms on, 50 ms off inside a group, 350 ms between groups;
* medium: 3 pulses -- 180 ms on, 120 ms off;
* low: 1 pulse of 180 ms.

Each pulse is a tone with a fundamental of 660 / 520 / 440 Hz (high / medium / low) and
the harmonics 2f to 5f at 3 to 10 dB below it (a pure sine is hard to localise), shaped by
10-ms raised-cosine attack and decay ramps so it starts and ends at zero without clicks;
between pulses there is silence. Synthesis is deterministic: the same call gives the same
samples, so ``scripts/make_alarm_sounds.py`` reproduces the committed WAV files byte for
byte.

:func:`pulse_segments`, :func:`pulse_onsets` and :func:`count_pulses` find the pulses of
any recording (an RMS envelope against a fraction of its peak), for the tests of the files
and for end-to-end tests that record what the application actually played.
"""

from __future__ import annotations

import os
import wave

import numpy as np

from painsign.alarms.model import Priority

#: Default sample rate of the synthesised bursts (Hz).
SAMPLE_RATE = 22050
#: Fundamental frequency of each priority's tone (Hz), within the 150-1000 Hz band.
FUNDAMENTAL_HZ = {Priority.HIGH: 660.0, Priority.MEDIUM: 520.0, Priority.LOW: 440.0}
#: Level of the fundamental and harmonics 2f..5f relative to the fundamental (dB).
HARMONIC_DB = (0.0, -3.0, -6.0, -8.0, -10.0)
#: Length of the raised-cosine attack and decay of each pulse (s).
RAMP_S = 0.010
#: Silence after the last pulse of a burst (s). Sound back ends (PulseAudio through
#: QSoundEffect) drop the last 20-30 ms of a buffer: without this padding the last pulse
#: of a burst came out short. The pulse itself keeps its full length and decay ramp.
TAIL_SILENCE_S = 0.10
#: Peak level of the bursts as a fraction of full scale.
PEAK_LEVEL = 0.7
#: File name of each priority's burst in the ``assets`` folder.
ALARM_WAV = {
    Priority.HIGH: "alarm_high.wav",
    Priority.MEDIUM: "alarm_medium.wav",
    Priority.LOW: "alarm_low.wav",
}

# (pulse on, off between pulses of a group, off between groups), in seconds.
_TIMING = {
    Priority.HIGH: (0.10, 0.05, 0.35),
    Priority.MEDIUM: (0.18, 0.12, 0.12),
    Priority.LOW: (0.18, 0.12, 0.12),
}


def burst_pattern(priority: Priority) -> list[tuple[float, float]]:
    """The pulses of one burst as ``(on_s, off_s)`` pairs; the last ``off_s`` is 0.

    Parameters
    ----------
    priority : Priority

    Returns
    -------
    list of (float, float)

    Examples
    --------
    >>> burst_pattern(Priority.MEDIUM)
    [(0.18, 0.12), (0.18, 0.12), (0.18, 0.0)]
    >>> [off for _, off in burst_pattern(Priority.HIGH)]
    [0.05, 0.05, 0.05, 0.05, 0.35, 0.05, 0.05, 0.05, 0.05, 0.0]
    """
    priority = Priority(priority)
    on, off, group_gap = _TIMING[priority]
    pattern = []
    for g, size in enumerate(priority.burst_groups):
        for i in range(size):
            last_in_group = i == size - 1
            pattern.append((on, group_gap if last_in_group else off))
        if g == len(priority.burst_groups) - 1:
            pattern[-1] = (on, 0.0)
    return pattern


def _pulse(f0: float, n: int, rate: int) -> np.ndarray:
    t = np.arange(n) / rate
    tone = sum(
        10.0 ** (db / 20.0) * np.sin(2.0 * np.pi * (k + 1) * f0 * t)
        for k, db in enumerate(HARMONIC_DB)
    )
    m = min(round(RAMP_S * rate), n // 2)
    ramp = 0.5 * (1.0 - np.cos(np.pi * np.arange(m) / m))
    envelope = np.ones(n)
    envelope[:m] = ramp
    envelope[n - m :] = ramp[::-1]
    return tone * envelope


def synthesize_burst(
    priority: Priority, sample_rate: int = SAMPLE_RATE, tail_s: float = TAIL_SILENCE_S
) -> np.ndarray:
    """Synthesise one alarm burst.

    Parameters
    ----------
    priority : Priority
    sample_rate : int, default 22050
        Must keep the 5th harmonic below the Nyquist frequency.
    tail_s : float, default :data:`TAIL_SILENCE_S`
        Silence appended after the last pulse, so a player that drops the end of its
        buffer drops silence, not the pulse.

    Returns
    -------
    numpy.ndarray of int16, shape (n,)
        Mono samples, peak at :data:`PEAK_LEVEL` of full scale, starting and ending at 0.

    Examples
    --------
    >>> x = synthesize_burst(Priority.LOW)
    >>> x.dtype, round(x.size / SAMPLE_RATE, 2), count_pulses(x, SAMPLE_RATE)
    (dtype('int16'), 0.28, 1)
    """
    priority = Priority(priority)
    f0 = FUNDAMENTAL_HZ[priority]
    rate = int(sample_rate)
    if rate != sample_rate or len(HARMONIC_DB) * f0 >= rate / 2:
        raise ValueError(
            f"sample_rate must be an integer above {2 * len(HARMONIC_DB) * f0:g} Hz to hold "
            f"the harmonics of {f0:g} Hz, got {sample_rate!r}"
        )
    parts = []
    for on, off in burst_pattern(priority):
        parts.append(_pulse(f0, round(on * rate), rate))
        parts.append(np.zeros(round(off * rate)))
    parts.append(np.zeros(round(max(0.0, float(tail_s)) * rate)))
    x = np.concatenate(parts)
    x *= PEAK_LEVEL / np.abs(x).max()
    return np.round(x * 32767.0).astype(np.int16)


def write_wav(path: str | os.PathLike, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write mono 16-bit PCM samples to a WAV file (same bytes for the same samples).

    Parameters
    ----------
    path : str or path-like
    samples : numpy.ndarray, shape (n,)
        int16, or float in [-1, 1] (clipped, then scaled to int16).
    rate : int, default 22050
        Sample rate in Hz.
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"write_wav writes mono: samples must be 1-D, got shape {x.shape}")
    if x.dtype.kind == "f":
        x = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
    elif x.dtype != np.int16:
        raise ValueError(f"samples must be int16 or float in [-1, 1], got {x.dtype}")
    if int(rate) != rate or rate <= 0:
        raise ValueError(f"rate must be a positive integer in Hz, got {rate!r}")
    with wave.open(os.fspath(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(rate))
        f.writeframes(x.astype("<i2").tobytes())


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV file.

    Returns
    -------
    samples : numpy.ndarray of int16
        Shape (n,) for mono, (n, channels) otherwise.
    rate : int
        Sample rate in Hz.
    """
    with wave.open(os.fspath(path), "rb") as f:
        if f.getsampwidth() != 2:
            raise ValueError(
                f"{os.fspath(path)}: {8 * f.getsampwidth()}-bit samples; only 16-bit PCM is read"
            )
        channels, rate = f.getnchannels(), f.getframerate()
        data = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.int16)
    return (data if channels == 1 else data.reshape(-1, channels)), rate


def _as_mono_float(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim not in (1, 2):
        raise ValueError(f"samples must be 1-D (mono) or (n, channels), got shape {x.shape}")
    scale = np.iinfo(x.dtype).max + 1.0 if x.dtype.kind in "iu" else 1.0
    x = x.astype(np.float64) / scale
    return x.mean(axis=1) if x.ndim == 2 else x


def pulse_segments(
    samples: np.ndarray,
    rate: int,
    threshold: float = 0.25,
    window_s: float = 0.005,
    min_gap_s: float = 0.01,
    min_pulse_s: float = 0.02,
    min_level: float = 1e-3,
) -> np.ndarray:
    """Find tone pulses: where the RMS envelope is at least ``threshold`` of its peak.

    Parameters
    ----------
    samples : numpy.ndarray
        Mono ``(n,)`` or multichannel ``(n, channels)`` audio; integers are taken as full
        scale of their type, floats as [-1, 1].
    rate : int
        Sample rate in Hz.
    threshold : float, default 0.25
        Fraction of the envelope's peak above which a sample belongs to a pulse.
    window_s : float, default 0.005
        Length of the centred RMS window (a few periods of the tone).
    min_gap_s : float, default 0.01
        Pulses separated by less than this are merged (dips, not silences).
    min_pulse_s : float, default 0.02
        Shorter stretches are ignored (clicks, noise).
    min_level : float, default 1e-3
        An envelope peak below this (relative to full scale) counts as silence: no pulses.

    Returns
    -------
    numpy.ndarray of float, shape (k, 2)
        Start and end time (s) of each pulse, in order.

    Examples
    --------
    >>> x = synthesize_burst(Priority.MEDIUM)
    >>> np.round(pulse_segments(x, SAMPLE_RATE), 2)
    array([[0.  , 0.18],
           [0.3 , 0.48],
           [0.6 , 0.78]])
    """
    if not rate > 0:
        raise ValueError(f"rate must be > 0 Hz, got {rate!r}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be a fraction in (0, 1), got {threshold!r}")
    x = _as_mono_float(samples)
    empty = np.empty((0, 2))
    if x.size == 0:
        return empty
    x = x - x.mean()
    w = max(1, round(window_s * rate))
    power = np.concatenate(([0.0], np.cumsum(x * x)))
    lo = np.clip(np.arange(x.size) - w // 2, 0, x.size)
    hi = np.clip(lo + w, 0, x.size)
    envelope = np.sqrt(np.maximum(power[hi] - power[lo], 0.0) / (hi - lo))
    peak = envelope.max()
    if peak < min_level:
        return empty
    on = (envelope >= threshold * peak).astype(np.int8)
    edges = np.diff(np.concatenate(([0], on, [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    segments: list[list[int]] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if segments and s - segments[-1][1] < min_gap_s * rate:
            segments[-1][1] = e
        else:
            segments.append([s, e])
    kept = [seg for seg in segments if seg[1] - seg[0] >= min_pulse_s * rate]
    return np.array(kept, dtype=np.float64).reshape(-1, 2) / rate


def pulse_onsets(samples: np.ndarray, rate: int, **kwargs) -> np.ndarray:
    """Start times (s) of the pulses found by :func:`pulse_segments` (same options)."""
    return pulse_segments(samples, rate, **kwargs)[:, 0]


def count_pulses(samples: np.ndarray, rate: int, **kwargs) -> int:
    """Number of pulses found by :func:`pulse_segments` (same options).

    Examples
    --------
    >>> [count_pulses(synthesize_burst(p), SAMPLE_RATE) for p in Priority]
    [1, 3, 10]
    """
    return int(pulse_segments(samples, rate, **kwargs).shape[0])
