"""The live SignStream gives the very numbers of the batch functions."""

from __future__ import annotations

import logging
import math
from dataclasses import astuple

import numpy as np
import pytest

from painsign.research.signtype_model import SignTypeModel
from painsign.signal import (
    SignStream,
    moving_average,
    sliding_windows,
    smooth_sign,
)


def _record(seed=20, seconds=47.0, fps=30.0):
    """Jittered ~30-fps time stamps with dropped frames; gaps at start, middle and end."""
    rng = np.random.default_rng(seed)
    dt = rng.uniform(0.5, 1.5, size=int(seconds * fps)) / fps
    dt[rng.uniform(size=dt.size) < 0.03] *= 4  # dropped frames
    t = 12.25 + np.cumsum(dt)
    p = np.clip(0.5 + 0.35 * np.sin(t / 1.7) + rng.normal(0, 0.08, t.size), 0, 1)
    p[:17] = np.nan  # no face at the start
    p[400:470] = np.nan  # a long gap in the middle
    p[rng.uniform(size=t.size) < 0.05] = np.nan  # scattered misses
    p[-25:] = np.nan  # no face at the end
    return t, p


def _run_stream(stream, t, p, read_every=37):
    samples, windows = [], []
    for i, (ti, pi) in enumerate(zip(t, p, strict=True)):
        samples += stream.push(ti, pi)
        if i % read_every == 0:
            windows += stream.new_windows()
    samples += stream.flush()
    windows += stream.new_windows()
    return samples, windows


def _assert_same_windows(a, b):
    assert len(a) == len(b)
    for wa, wb in zip(a, b, strict=True):
        # assert_equal treats NaN as equal to NaN; the values must match exactly.
        np.testing.assert_equal(astuple(wa), astuple(wb))


@pytest.mark.parametrize(("window_s", "step_s"), [(20.0, 1.0), (7.5, 0.7), (3.0, 5.0)])
def test_stream_equals_batch_with_gaps_and_variable_frame_rate(window_s, step_s):
    t, p = _record()
    stream = SignStream(fps=30.0, threshold=0.5, window_s=window_s, step_s=step_s)
    samples, windows = _run_stream(stream, t, p)
    p_interp, p_smooth = smooth_sign(p, fps=30.0)
    assert len(samples) == t.size
    np.testing.assert_array_equal([s.t for s in samples], t)
    np.testing.assert_array_equal([s.p_interp for s in samples], p_interp)
    np.testing.assert_array_equal([s.p_smooth for s in samples], p_smooth)
    batch = sliding_windows(t, p_smooth, 0.5, length=window_s, step=step_s)
    assert len(batch) > 5
    _assert_same_windows(windows, batch)


def test_stream_equals_batch_with_fitted_model():
    rng = np.random.default_rng(21)
    model = SignTypeModel(random_state=0).fit(
        np.vstack([rng.normal(c, 0.2, (15, 2)) for c in [(0.5, 0.2), (2.2, 2.6), (2.6, 7)]])
    )
    t, p = _record(seed=22)
    _, windows = _run_stream(SignStream(threshold=0.45, classifier=model), t, p)
    _, p_smooth = smooth_sign(p)
    _assert_same_windows(windows, sliding_windows(t, p_smooth, 0.45, classifier=model))


def test_gap_samples_wait_until_the_gap_closes():
    s = SignStream(fps=2.0)
    assert s.push(0.0, float("nan")) == []
    assert s.push(0.5, float("nan")) == []
    assert s.n_pending == 2
    out = s.push(1.0, 0.6)  # leading gap held at the first face's value
    assert [x.p_interp for x in out] == [0.6, 0.6, 0.6]
    assert s.n_pending == 0
    s.push(1.5, float("nan"))
    out = s.push(2.0, 0.2)
    assert [x.t for x in out] == [1.5, 2.0]
    assert out[0].p_interp == pytest.approx(0.4)
    assert out[0].p_smooth == pytest.approx(0.5)  # mean of 0.6 and 0.4 (2-sample window)
    s.push(2.5, float("nan"))
    tail = s.flush()  # trailing gap held at the last value
    assert [(x.t, x.p_interp) for x in tail] == [(2.5, 0.2)]


def test_short_record_gives_one_whole_record_window_at_flush():
    t = np.arange(300) / 30.0
    p = np.full(300, 0.8)
    p[100:140] = np.nan
    s = SignStream()
    _, windows = _run_stream(s, t, p)
    assert len(windows) == 1
    _, p_smooth = smooth_sign(p)
    _assert_same_windows(windows, sliding_windows(t, p_smooth, 0.5))
    assert windows[0].t1 == pytest.approx(10.0)
    assert windows[0].sign_type == "stable" and windows[0].action == "act"


def test_all_nan_record_matches_batch():
    t = np.arange(0, 30, 0.1)
    p = np.full(t.size, np.nan)
    samples, windows = _run_stream(SignStream(), t, p)
    assert len(samples) == t.size and all(math.isnan(x.p_smooth) for x in samples)
    _, p_smooth = smooth_sign(p)
    batch = sliding_windows(t, p_smooth, 0.5)
    _assert_same_windows(windows, batch)
    assert all(w.sign_type == "indeterminate" for w in windows)


def test_windows_wait_for_open_gaps():
    s = SignStream(fps=10.0, window_s=5.0)
    for k in range(40):
        s.push(k / 10, 0.2)
    for k in range(40, 80):  # no face from 4 s to 8 s: window [0, 5) cannot finish yet
        s.push(k / 10, float("nan"))
    assert s.new_windows() == []
    s.push(8.0, 0.2)
    assert [w.t0 for w in s.new_windows()] == [0.0, 1.0, 2.0, 3.0]


def test_stream_memory_stays_bounded():
    s = SignStream(fps=30.0, window_s=20.0, step_s=1.0)
    rng = np.random.default_rng(23)
    for k in range(30 * 120):
        s.push(k / 30.0, rng.uniform())
    assert len(s._buffer) <= 21 * 30 + 1
    assert len(s._sums) == s.smoothing_samples + 1
    assert len(s.new_windows()) == 100


def test_unread_windows_are_dropped_with_a_warning(caplog):
    s = SignStream(fps=10.0, window_s=5.0)
    s.max_pending_windows = 3
    with caplog.at_level(logging.WARNING, logger="painsign.signal.stream"):
        for k in range(100):
            s.push(k / 10, 0.2)
    assert s.windows_dropped == 2
    assert [w.t0 for w in s.new_windows()] == [2.0, 3.0, 4.0]
    assert "new_windows() is not being read" in caplog.text


def test_push_after_flush_and_bad_time_stamps_raise():
    s = SignStream()
    s.push(1.0, 0.3)
    with pytest.raises(ValueError, match="before the previous one"):
        s.push(0.5, 0.3)
    with pytest.raises(ValueError, match="finite"):
        s.push(float("nan"), 0.3)
    s.flush()
    assert s.closed and s.flush() == []
    with pytest.raises(RuntimeError, match="reset"):
        s.push(2.0, 0.3)
    s.reset()
    assert s.push(0.0, 0.4)[0].p_smooth == 0.4


def test_stream_smoothing_matches_moving_average_over_long_run():
    rng = np.random.default_rng(24)
    x = rng.uniform(size=20000)
    s = SignStream(fps=30.0, window_s=1e9)
    out = [s.push(k / 30.0, v)[0].p_smooth for k, v in enumerate(x)]
    np.testing.assert_array_equal(out, moving_average(x, 30))
