"""Gap filling and the trailing moving average of the pain sign."""

from __future__ import annotations

import doctest
import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from painsign.signal import interpolate_gaps, moving_average, smooth_sign, smoothing_window


def _interp_reference(p):
    """Independent loop: linear over index inside gaps, nearest value at the ends."""
    p = list(p)
    valid = [i for i, v in enumerate(p) if not np.isnan(v)]
    if not valid:
        return p
    out = []
    for i, v in enumerate(p):
        if not np.isnan(v):
            out.append(v)
        elif i < valid[0]:
            out.append(p[valid[0]])
        elif i > valid[-1]:
            out.append(p[valid[-1]])
        else:
            lo = max(j for j in valid if j < i)
            hi = min(j for j in valid if j > i)
            out.append(p[lo] + (p[hi] - p[lo]) * (i - lo) / (hi - lo))
    return out


def test_interpolate_interior_gap():
    out = interpolate_gaps([0.0, np.nan, np.nan, 0.3])
    np.testing.assert_allclose(out, [0.0, 0.1, 0.2, 0.3], atol=1e-15)
    assert out.dtype == np.float64


def test_interpolate_holds_leading_and_trailing_gaps():
    out = interpolate_gaps([np.nan, np.nan, 0.4, 0.6, np.nan, np.nan])
    np.testing.assert_array_equal(out, [0.4, 0.4, 0.4, 0.6, 0.6, 0.6])


def test_interpolate_all_nan_and_empty():
    out = interpolate_gaps([np.nan, np.nan, np.nan])
    assert out.shape == (3,) and np.isnan(out).all()
    assert interpolate_gaps([]).shape == (0,)


def test_interpolate_does_not_touch_input_or_valid_samples():
    p = np.array([0.1, np.nan, 0.7, 0.2])
    out = interpolate_gaps(p)
    assert np.isnan(p[1])
    np.testing.assert_array_equal(out[[0, 2, 3]], [0.1, 0.7, 0.2])
    assert out[1] == pytest.approx(0.4)


def test_interpolate_matches_reference_on_random_gaps():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=500)
    p[rng.uniform(size=500) < 0.4] = np.nan
    p[:7] = np.nan
    p[-5:] = np.nan
    np.testing.assert_allclose(interpolate_gaps(p), _interp_reference(p), atol=1e-15)


def test_smoothing_window():
    assert smoothing_window(30.0) == 30
    assert smoothing_window(29.97) == 30
    assert smoothing_window(15.0) == 15
    assert smoothing_window(30.0, seconds=2.0) == 60
    assert smoothing_window(0.2) == 1
    for bad in (0.0, -30.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="fps"):
            smoothing_window(bad)


def test_moving_average_hand_example_and_first_samples():
    out = moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 2)
    np.testing.assert_array_equal(out, [1.0, 1.5, 2.5, 3.5, 4.5])
    # A window longer than the record is the running mean of what exists.
    np.testing.assert_allclose(moving_average([3.0, 1.0, 2.0], 30), [3.0, 2.0, 2.0])
    # Differences of running sums: exact up to rounding of the sums.
    np.testing.assert_allclose(moving_average([0.2, 0.9, 0.4], 1), [0.2, 0.9, 0.4], atol=1e-15)


def test_moving_average_is_trailing():
    x = np.zeros(10)
    x[5] = 1.0
    out = moving_average(x, 3)
    np.testing.assert_allclose(out[:5], 0.0)
    np.testing.assert_allclose(out[5:8], 1 / 3)
    np.testing.assert_allclose(out[8:], 0.0, atol=1e-15)


def test_moving_average_matches_slice_means():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=2000)
    for w in (1, 7, 30):
        ref = [np.mean(x[max(0, i - w + 1) : i + 1]) for i in range(x.size)]
        np.testing.assert_allclose(moving_average(x, w), ref, rtol=0, atol=1e-12)


def test_moving_average_leaves_nan_out():
    out = moving_average([1.0, np.nan, 3.0, np.nan, np.nan, np.nan], 2)
    np.testing.assert_array_equal(out, [1.0, 1.0, 3.0, 3.0, np.nan, np.nan])


def test_moving_average_rejects_bad_window():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="window"):
            moving_average([1.0, 2.0], bad)


def test_smooth_sign_is_interpolate_then_average():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=300)
    p[40:90] = np.nan
    p_interp, p_smooth = smooth_sign(p, fps=25.0)
    np.testing.assert_array_equal(p_interp, interpolate_gaps(p))
    np.testing.assert_array_equal(p_smooth, moving_average(interpolate_gaps(p), 25))


@pytest.mark.parametrize("module", ["smoothing", "metrics", "signtypes", "stream", "events"])
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"painsign.signal.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_signal_package_imports_no_camera_gui_or_runtime():
    code = (
        "import sys, painsign.signal\n"
        "bad = [m for m in ('cv2', 'PyQt5', 'PyQt6', 'PySide6', 'pyqtgraph', 'onnxruntime')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root)
