"""Surge and drop triggers of the smoothed pain sign."""

from __future__ import annotations

import numpy as np
import pytest

from painsign.signal import Event, EventDetector, detect_events, smooth_sign

FPS = 30.0


def _smoothed(p_raw, t0=0.0):
    t = t0 + np.arange(len(p_raw)) / FPS
    return t, smooth_sign(p_raw, FPS)[1]


def _events_reference(t, p, threshold, rise=0.3, within_s=3.0, refractory_s=5.0):
    """Brute force, straight from the definition (O(n^2))."""
    keep = ~np.isnan(p)
    t, p = t[keep], p[keep]
    out = []
    for kind in ("surge", "drop"):
        was, last = False, None
        for i in range(t.size):
            past = p[(t >= t[i] - within_s) & (np.arange(t.size) <= i)]
            if kind == "surge":
                now, ref = p[i] > threshold and p[i] - past.min() >= rise, past.min()
            else:
                now, ref = p[i] < threshold and past.max() - p[i] >= rise, past.max()
            if now and not was and (last is None or t[i] - last >= refractory_s):
                out.append((t[i], kind, p[i], p[i] - ref))
                last = t[i]
            was = now
    return sorted(out, key=lambda e: e[0])


def _push_all(detector, t, p):
    return [e for ti, pi in zip(t, p, strict=True) for e in detector.push(ti, pi)]


def test_surge_found_within_one_second_of_step_onset():
    rng = np.random.default_rng(30)
    n = int(30 * FPS)
    p_raw = np.where(np.arange(n) / FPS < 10.0, 0.1, 0.9) + rng.normal(0, 0.03, n)
    t, p = _smoothed(np.clip(p_raw, 0, 1))
    events = detect_events(t, p, threshold=0.5)
    assert [e.kind for e in events] == ["surge"]
    assert 10.0 <= events[0].t <= 11.0
    assert events[0].value > 0.5 and events[0].delta >= 0.3


def test_drop_found_within_one_second_of_step_down():
    n = int(30 * FPS)
    t, p = _smoothed(np.where(np.arange(n) / FPS < 12.0, 0.85, 0.15))
    (event,) = detect_events(t, p, threshold=0.5)
    assert event.kind == "drop" and 12.0 <= event.t <= 13.0
    assert event.value < 0.5 and event.delta <= -0.3


def test_no_event_for_noise():
    rng = np.random.default_rng(31)
    n = int(120 * FPS)
    for level in (0.2, 0.5, 0.8):
        t, p = _smoothed(np.clip(level + rng.normal(0, 0.1, n), 0, 1))
        assert detect_events(t, p, threshold=0.5) == []
        assert _push_all(EventDetector(0.5), t, p) == []


def test_event_time_is_first_moment_condition_holds():
    t = np.arange(0.0, 10.0, 0.5)
    p = np.where(t < 5.0, 0.1, 0.9)
    assert detect_events(t, p, 0.5) == [Event(5.0, "surge", 0.9, pytest.approx(0.8))]
    # A slow rise is not a surge, however high it ends.
    assert detect_events(t, np.linspace(0.1, 0.9, t.size), 0.5) == []
    # A fast rise that stays below the threshold is not a surge either.
    assert detect_events(t, np.where(t < 5.0, 0.05, 0.45), 0.5) == []


def test_look_back_includes_its_first_instant():
    t = np.arange(0.0, 3.5, 0.5)
    p = np.array([0.1, 0.4, 0.4, 0.4, 0.4, 0.4, 0.6])  # only the sample at t = 0 is 0.3 lower
    expected = [Event(3.0, "surge", 0.6, pytest.approx(0.5))]
    assert detect_events(t, p, 0.5) == expected
    assert _push_all(EventDetector(0.5), t, p) == expected
    assert detect_events(t, p, 0.5, within_s=2.5) == []


def test_one_event_per_onset_even_without_refractory_period():
    t = np.arange(0.0, 20.0, 0.1)
    p = np.where(t < 10.0, 0.1, 0.9)
    p = np.where((t >= 10.0) & (t < 12.0), 0.1 + 0.4 * (t - 10.0), p)  # 2-s ramp
    batch = detect_events(t, p, 0.5, refractory_s=0.0)
    assert [e.kind for e in batch] == ["surge"]
    assert _push_all(EventDetector(0.5, refractory_s=0.0), t, p) == batch


def test_refractory_period_per_kind():
    t = np.arange(0.0, 30.0, 0.1)
    p = np.full(t.size, 0.1)
    p[(t >= 10) & (t < 12)] = 0.9
    p[(t >= 13) & (t < 25)] = 0.9  # second surge 3 s after the first
    events = detect_events(t, p, 0.5)
    assert [(round(e.t, 6), e.kind) for e in events] == [
        (10.0, "surge"),
        (12.0, "drop"),
        (25.0, "drop"),
    ]
    short = detect_events(t, p, 0.5, refractory_s=2.0)
    assert [round(e.t, 6) for e in short if e.kind == "surge"] == [10.0, 13.0]


def test_detect_events_matches_brute_force_with_variable_frame_rate():
    rng = np.random.default_rng(32)
    for _ in range(5):
        t = np.cumsum(rng.uniform(0.01, 0.3, size=800))
        steps = np.repeat(rng.uniform(0, 1, size=40), 20)
        p = np.clip(steps + rng.normal(0, 0.05, t.size), 0, 1)
        p[rng.uniform(size=t.size) < 0.05] = np.nan
        events = detect_events(t, p, 0.5, rise=0.25, within_s=2.0, refractory_s=3.0)
        ref = _events_reference(t, p, 0.5, rise=0.25, within_s=2.0, refractory_s=3.0)
        assert len(events) > 5
        assert [(e.t, e.kind, e.value, e.delta) for e in events] == ref


def test_incremental_detector_equals_batch():
    rng = np.random.default_rng(33)
    t = 100.0 + np.cumsum(rng.uniform(0.01, 0.08, size=6000))
    steps = np.repeat(rng.uniform(0, 1, size=60), 100)
    p_raw = np.clip(steps + rng.normal(0, 0.05, t.size), 0, 1)
    p_raw[rng.uniform(size=t.size) < 0.05] = np.nan
    _, p = smooth_sign(p_raw, FPS)
    p[500:600] = np.nan  # NaN samples are skipped by both
    batch = detect_events(t, p, 0.5, rise=0.2, within_s=1.5, refractory_s=2.0)
    live = _push_all(EventDetector(0.5, rise=0.2, within_s=1.5, refractory_s=2.0), t, p)
    assert len(batch) > 10 and {e.kind for e in batch} == {"surge", "drop"}
    assert live == batch


def test_detector_reset_and_bad_input():
    det = EventDetector(0.5)
    det.push(1.0, 0.1)
    with pytest.raises(ValueError, match="not before"):
        det.push(0.5, 0.1)
    det.reset()
    assert det.push(0.0, 0.1) == []
    with pytest.raises(ValueError, match="rise"):
        EventDetector(0.5, rise=0.0)
    with pytest.raises(ValueError, match="within_s"):
        detect_events([0.0], [0.1], 0.5, within_s=-1.0)
    with pytest.raises(ValueError, match="non-decreasing"):
        detect_events([1.0, 0.0], [0.1, 0.2], 0.5)
    assert detect_events([], [], 0.5) == []
