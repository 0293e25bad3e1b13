"""Year-over-year change: the 72.51% case, small-count caution, batch = point."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from detectors.yoy import yoy_batch, yoy_change


def test_design_case_7251_percent_alarms_at_threshold() -> None:
    r = yoy_change(current=1723, previous=999, min_change=0.70)
    assert r.statistic == pytest.approx(0.72472, abs=1e-5)
    assert r.alarm
    assert not yoy_change(current=1723, previous=999, min_change=0.75).alarm


def test_pvalue_matches_exact_binomial_test() -> None:
    r = yoy_change(current=30, previous=15)
    p = binomtest(30, 45, 0.5, alternative="greater").pvalue
    assert 1 - r.score == pytest.approx(p)


def test_small_counts_need_evidence() -> None:
    assert not yoy_change(4, 2).alarm
    assert not yoy_change(1, 0).alarm
    assert yoy_change(40, 10).alarm


def test_missing_year_is_no_decision() -> None:
    r = yoy_change(10, math.nan)
    assert math.isnan(r.score) and not r.alarm


def test_exposure_ratio_for_unequal_periods() -> None:
    # 29 days this February vs 28 last: same daily rate is no rise
    r = yoy_change(29, 28, exposure_ratio=29 / 28)
    assert r.statistic == pytest.approx(0.0)


def test_negative_counts_rejected() -> None:
    with pytest.raises(ValueError, match="counts"):
        yoy_change(-1, 3)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 50))
def test_batch_equals_point_and_monotone(cur: int, prev: int, bump: int) -> None:
    b = yoy_batch(np.array([cur, cur + bump]), np.array([prev, prev]))
    r = yoy_change(cur, prev)
    assert b.alarm[0] == r.alarm
    assert b.score[0] == pytest.approx(r.score)
    assert 0.0 <= b.score[0] <= 1.0
    assert b.score[1] >= b.score[0] - 1e-12
    assert b.alarm[1] >= b.alarm[0]
