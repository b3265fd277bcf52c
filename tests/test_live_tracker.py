"""The per-scorer live sign tracker (painsign.signal.live_tracker), on hand-computed sequences.

At fps=2 the live value is the mean of the last two measured raw values, so every number
below can be checked by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from painsign.signal import crossing_indices, threshold_side
from painsign.signal.live_tracker import PROVISIONAL_MIN_S, LiveSignTracker

NAN = math.nan


def feed(tracker, samples, face=True):
    """Push ``(t, p_raw)`` pairs; return the live values."""
    return [tracker.push(t, p, face).p for t, p in samples]


def test_live_value_and_crossings_follow_the_one_side_rule():
    tr = LiveSignTracker(0.5, fps=2)
    raw = [(0.0, 0.2), (0.5, 0.4), (1.0, 0.6), (1.5, 0.8), (2.0, 0.2), (2.5, 0.2)]
    live, above = [], []
    for t, p in raw:
        live.append(tr.push(t, p, True).p)
        above.append(tr.above)
    # means of the last two raw values; 0.5 exactly is on the threshold: no side
    assert live == pytest.approx([0.2, 0.3, 0.5, 0.7, 0.5, 0.2])
    assert above == [False, False, False, True, False, False]
    np.testing.assert_allclose(list(tr.crossings), [(1.5, 0.7), (2.5, 0.2)])
    # the same crossings as the offline count on the same values
    assert list(crossing_indices(live, 0.5)) == [3, 5]
    assert [threshold_side(p, 0.5) for p in live] == [-1, -1, 0, 1, 0, -1]
    assert tr.current == pytest.approx(0.2) and tr.last_valid_t == 2.5


def test_a_frame_without_a_face_breaks_the_value_and_no_crossing_spans_it():
    tr = LiveSignTracker(0.5, fps=2)
    assert tr.push(0.0, 0.8, True).p == pytest.approx(0.8)
    assert math.isnan(tr.push(0.5, 0.9, False).p)  # no face: its raw value is not used
    assert math.isnan(tr.current) and tr.last_valid_t == 0.0 and not tr.above
    # after the gap only the new value counts (not the mean with 0.8), and the change of
    # side across the gap is no crossing
    assert tr.push(1.0, 0.2, True).p == pytest.approx(0.2)
    assert list(tr.crossings) == []
    t, p = np.array(tr.span).T
    assert list(t) == [0.0, 0.5, 1.0] and np.isnan(p[1])


def test_an_outage_adds_a_break_to_the_span_and_the_trend():
    tr = LiveSignTracker(0.5, fps=2)
    feed(tr, [(0.0, 0.2), (0.5, 0.4), (1.0, 0.6), (1.5, 0.8)])
    # 1.5 -> 3.0: no frame at all in second 2
    assert tr.push(3.0, 0.8, True).p == pytest.approx(0.8)
    tr.gap(3.2)
    assert math.isnan(tr.span[-1][1]) and tr.span[-1][0] == 3.2
    assert tr.push(5.0, 0.4, True).p == pytest.approx(0.4)  # the 0.8 before the gap is gone
    t, p = tr.trend.arrays()
    assert list(t) == [0.0, 1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(p, [0.25, 0.6, NAN, 0.8, NAN])
    assert not t.flags.writeable and tr.trend.arrays()[0] is t  # cached until a new point


def test_surge_needs_the_value_above_the_threshold():
    tr = LiveSignTracker(0.5, fps=2, surge_rise=0.3, surge_within_s=3.0)
    for k in range(6):
        assert tr.push(0.5 * k, 0.1, True).events == []
    jump = tr.push(3.0, 0.9, True)  # mean 0.5: on the threshold, not above: no surge
    assert jump.p == pytest.approx(0.5) and jump.events == []
    (event,) = tr.push(3.5, 0.9, True).events
    assert (event.t, event.kind) == (3.5, "surge")
    assert event.value == pytest.approx(0.9) and event.delta == pytest.approx(0.8)


def test_provisional_type_until_the_first_full_window():
    tr = LiveSignTracker(0.5, fps=2, window_s=10.0, step_s=1.0)
    seen = []
    t = 0.0
    while tr.window is None:
        tr.push(t, 0.8, True)
        seen.append((t, tr.provisional is not None))
        t += 0.5
    first = next(t for t, provisional in seen if provisional)
    assert first == PROVISIONAL_MIN_S  # five seconds of measured sign
    assert all(provisional for t, provisional in seen if first <= t < seen[-1][0])
    assert tr.provisional is None and tr.sign is tr.window
    assert (tr.window.t0, tr.window.t1) == (0.0, 10.0)
    assert (str(tr.window.sign_type), str(tr.window.action)) == ("stable", "act")


def test_span_and_crossings_keep_only_the_last_span_seconds():
    tr = LiveSignTracker(0.5, fps=2, span_s=2.0)
    feed(tr, [(0.0, 0.9), (0.5, 0.9), (1.0, 0.1), (1.5, 0.1)])  # crossing at 1.5 (0.1)
    feed(tr, [(2.0, 0.1), (2.5, 0.1), (3.0, 0.1), (3.5, 0.1)])
    assert tr.span[0][0] == 1.5
    np.testing.assert_allclose(list(tr.crossings), [(1.5, 0.1)])
    tr.push(4.0, 0.1, True)
    assert tr.span[0][0] == 2.0 and list(tr.crossings) == []
