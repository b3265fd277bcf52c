"""The default score's formula, with stand-in parts (no model needed)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from painsign.scoring.base import Score
from painsign.scoring.default import DefaultPainScorer


class Part:
    def __init__(self, p, **details):
        self.p, self.details, self.calls = p, details, 0
        self.calm_check = None

    def score(self, frame):
        self.calls += 1
        return Score(self.p, dict(self.details))

    def reset(self):
        pass


def _score(p_expr, happy, p_nfcs, smile=0.0):
    expr = Part(p_expr, happy=happy)
    nfcs = Part(p_nfcs, smile=smile, calibrated=1.0)
    return DefaultPainScorer(expr, nfcs).score(SimpleNamespace(t=0.0))


def test_mean_of_the_two_parts_scaled_by_one_minus_happy():
    assert _score(0.9, 0.0, 0.7).p == pytest.approx(0.8)
    assert _score(0.9, 0.5, 0.7).p == pytest.approx(0.4)
    s = _score(0.6, 0.1, 0.2)
    assert s.details["p_expression"] == 0.6 and s.details["p_nfcs"] == 0.2
    assert s.details["happy"] == 0.1 and s.details["calibrated"] == 1.0


def test_a_sure_smile_never_counts_as_pain():
    assert _score(1.0, 1.0, 1.0).p == 0.0


def test_one_part_alone_cannot_cross_the_threshold():
    scorer = DefaultPainScorer(Part(1.0, happy=0.0), Part(0.0, smile=0.0))
    assert scorer.score(SimpleNamespace(t=0.0)).p <= scorer.threshold
    scorer = DefaultPainScorer(Part(0.0, happy=0.0), Part(1.0, smile=0.0))
    assert scorer.score(SimpleNamespace(t=0.0)).p <= scorer.threshold


def test_a_covered_face_leaves_the_frame_unscored():
    assert math.isnan(_score(0.4, 0.0, float("nan")).p)


def test_the_nfcs_calm_check_is_the_larger_of_pain_like_and_happy():
    expr, nfcs = Part(0.3, happy=0.6), Part(0.1, smile=0.0)
    DefaultPainScorer(expr, nfcs)
    assert nfcs.calm_check(SimpleNamespace(t=0.0)) == pytest.approx(0.6)
