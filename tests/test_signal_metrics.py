"""Entropy, threshold crossings and window metrics of the pain sign."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from painsign.signal import (
    NearestCentroidSignTypes,
    crossing_indices,
    entropy_shannon,
    sliding_windows,
    threshold_crossings,
    whole_record_metrics,
    window_metrics,
)

# -- entropy ------------------------------------------------------------------------------


def test_entropy_one_bin_is_zero():
    assert entropy_shannon([0.12, 0.15, 0.19, 0.11]) == 0.0


def test_entropy_uniform_over_ten_bins_is_log2_10():
    x = np.repeat(np.arange(10) / 10 + 0.05, 7)
    assert entropy_shannon(x) == pytest.approx(math.log2(10), abs=1e-12)


def test_entropy_half_and_half_is_one_bit():
    assert entropy_shannon([0.45] * 50 + [0.55] * 50) == pytest.approx(1.0, abs=1e-12)


def test_entropy_quarter_split_hand_computed():
    # p = (1/2, 1/4, 1/4): H = 0.5 + 0.5 + 0.5 = 1.5 bits.
    assert entropy_shannon([0.05, 0.05, 0.35, 0.95]) == pytest.approx(1.5, abs=1e-12)


def test_entropy_edges_and_clipping():
    assert entropy_shannon([0.95, 1.0]) == 0.0  # 1.0 falls in the last bin
    assert entropy_shannon([0.99, 1.7]) == 0.0  # clipped to 1.0
    assert entropy_shannon([-0.3, 0.01]) == 0.0  # clipped to 0.0
    assert entropy_shannon([0.0, 1.0]) == pytest.approx(1.0)


def test_entropy_without_samples_is_nan():
    assert math.isnan(entropy_shannon([]))
    assert math.isnan(entropy_shannon([np.nan, np.nan]))
    assert entropy_shannon([np.nan, 0.15, 0.85]) == pytest.approx(1.0)


def test_entropy_matches_scipy_on_random_signals():
    rng = np.random.default_rng(4)
    for _ in range(20):
        x = rng.beta(rng.uniform(0.3, 3), rng.uniform(0.3, 3), size=rng.integers(5, 700))
        counts = np.bincount(np.minimum((x * 10).astype(int), 9), minlength=10)
        assert entropy_shannon(x) == pytest.approx(scipy_entropy(counts, base=2), abs=1e-12)


def test_entropy_other_bin_count():
    x = np.repeat(np.arange(4) / 4 + 0.1, 3)
    assert entropy_shannon(x, bins=4) == pytest.approx(2.0)
    assert entropy_shannon(x, bins=2) == pytest.approx(1.0)


# -- threshold crossings ------------------------------------------------------------------


def _crossings_reference(x, thr):
    side, n = 0, 0
    for v in x:
        if np.isnan(v) or v == thr:
            continue
        s = 1 if v > thr else -1
        if side and s != side:
            n += 1
        side = s
    return n


def test_crossings_simple():
    assert threshold_crossings([0.4, 0.6, 0.4], 0.5) == 2
    assert threshold_crossings([0.1, 0.2, 0.3], 0.5) == 0
    assert threshold_crossings([], 0.5) == 0


def test_sample_on_threshold_keeps_previous_side():
    assert threshold_crossings([0.4, 0.5, 0.4], 0.5) == 0
    assert threshold_crossings([0.4, 0.5, 0.5, 0.6], 0.5) == 1
    assert threshold_crossings([0.6, 0.5, 0.6, 0.5, 0.4], 0.5) == 1


def test_leading_on_threshold_samples_have_no_side():
    assert threshold_crossings([0.5, 0.5, 0.6], 0.5) == 0
    assert threshold_crossings([0.5, 0.5, 0.6, 0.4], 0.5) == 1
    assert threshold_crossings([0.5, 0.5, 0.5], 0.5) == 0


def test_crossings_ignore_nan():
    assert threshold_crossings([0.4, np.nan, 0.6, np.nan], 0.5) == 1


def test_crossing_indices_mark_first_sample_on_new_side():
    np.testing.assert_array_equal(crossing_indices([0.4, 0.5, 0.6, 0.6, 0.3], 0.5), [2, 4])
    np.testing.assert_array_equal(crossing_indices([0.6, np.nan, 0.4], 0.5), [2])


def test_crossings_match_reference_on_random_signals():
    rng = np.random.default_rng(5)
    for _ in range(30):
        x = rng.choice([0.3, 0.5, 0.5, 0.7, np.nan], size=rng.integers(0, 60))
        assert threshold_crossings(x, 0.5) == _crossings_reference(x, 0.5)


# -- windows -------------------------------------------------------------------------------


def test_window_metrics_selects_half_open_time_interval():
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    p = np.array([0.9, 0.2, 0.2, 0.8, 0.9])
    w = window_metrics(t, p, 0.5, 1.0, 3.0)
    assert (w.t0, w.t1, w.duration_s) == (1.0, 3.0, 2.0)
    assert w.mean == pytest.approx(0.2)
    assert w.crossings == 0 and w.entropy == 0.0 and w.prediction is False


def test_prediction_is_mean_above_threshold():
    # One side rule (painsign.signal.threshold): a mean exactly on the threshold is on
    # neither side, so it is no "pain", as it is for the crossings and the monitor's alarm.
    t = np.arange(10.0)
    assert window_metrics(t, np.full(10, 0.5), 0.5, 0.0, 10.0).prediction is False
    assert window_metrics(t, np.full(10, 0.51), 0.5, 0.0, 10.0).prediction is True
    assert window_metrics(t, np.full(10, 0.49), 0.5, 0.0, 10.0).prediction is False


def test_empty_window_is_indeterminate():
    t = np.array([0.0, 30.0])
    w = window_metrics(t, [0.2, 0.2], 0.5, 5.0, 25.0)
    assert math.isnan(w.mean) and math.isnan(w.entropy) and w.crossings == 0
    assert w.sign_type == "indeterminate" and w.action == "human review"


def test_sliding_windows_count_and_bounds():
    t = np.arange(300) / 10.0  # 0 .. 29.9 s
    ws = sliding_windows(t, np.full(300, 0.2), 0.5)
    assert len(ws) == 10  # starts 0..9 s; 10 + 20 > 29.9
    assert [w.t0 for w in ws] == [float(k) for k in range(10)]
    assert all(w.t1 == w.t0 + 20.0 for w in ws)
    # A sample exactly at a window's end completes that window.
    t = np.arange(0.0, 30.5, 0.5)  # 0 .. 30.0 s
    assert len(sliding_windows(t, np.full(t.size, 0.2), 0.5)) == 11


def test_sliding_windows_follow_time_stamps_with_variable_frame_rate():
    rng = np.random.default_rng(6)
    t = np.cumsum(rng.uniform(0.01, 0.2, size=600))
    p = np.clip(0.5 + 0.4 * np.sin(t / 2) + rng.normal(0, 0.05, t.size), 0, 1)
    ws = sliding_windows(t, p, 0.5, length=10.0, step=2.5)
    assert len(ws) == int((t[-1] - t[0] - 10.0) // 2.5) + 1
    for w in ws:
        sel = p[(t >= w.t0) & (t < w.t1)]
        assert w.mean == pytest.approx(sel.mean(), abs=1e-12)
        assert w.entropy == pytest.approx(entropy_shannon(sel), abs=1e-12)
        assert w.crossings == _crossings_reference(sel, 0.5)
        assert w.prediction == (sel.mean() > 0.5)


def test_short_record_gives_one_whole_record_window():
    t = np.arange(600) / 30.0  # one 20-s clip: last sample at 19.967 s
    p = np.full(600, 0.85)
    (w,) = sliding_windows(t, p, 0.5)
    assert w == whole_record_metrics(t, p, 0.5)
    assert w.t0 == 0.0 and w.t1 == pytest.approx(20.0)
    assert (w.sign_type, w.action) == ("stable", "act")


def test_sliding_windows_empty_record_and_bad_input():
    assert sliding_windows([], [], 0.5) == []
    with pytest.raises(ValueError, match="non-decreasing"):
        sliding_windows([0.0, 2.0, 1.0], [0.1, 0.2, 0.3], 0.5)
    with pytest.raises(ValueError, match="length"):
        sliding_windows([0.0, 1.0], [0.1, 0.2], 0.5, length=0.0)
    with pytest.raises(ValueError, match="differ"):
        sliding_windows([0.0, 1.0], [0.1], 0.5)


def test_window_uses_given_classifier_and_duration():
    seen = []

    class Spy:
        def classify(self, entropy, crossings, duration_s=20.0):
            seen.append((entropy, crossings, duration_s))
            return "irregular"

    t = np.arange(100) / 10.0
    p = np.where(np.arange(100) % 50 < 30, 0.3, 0.7)  # 60 % low: mean 0.46, no pain
    w = window_metrics(t, p, 0.5, 0.0, 10.0, classifier=Spy())
    h = -(0.6 * math.log2(0.6) + 0.4 * math.log2(0.4))
    assert seen == [(pytest.approx(h), 3, 10.0)]
    assert (w.sign_type, w.action) == ("irregular", "no action")


def test_default_classifier_is_nearest_centroid():
    t = np.arange(200) / 10.0
    p = np.full(200, 0.1)
    assert window_metrics(t, p, 0.5, 0.0, 20.0) == window_metrics(
        t, p, 0.5, 0.0, 20.0, classifier=NearestCentroidSignTypes()
    )
