"""NB-CUSUM: hand-checked log-likelihood ratios, resets, missing data."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import nbinom, poisson

from detectors.cusum import CusumState, dispersion, nb_cusum_batch, nb_cusum_update, nb_llr
from detectors.surge import local_cusum_batch
from tests.detectors.refdata import outbreak_flags, salmonella


def _nb_logpmf(x: float, mu: float, alpha: float) -> float:
    r = 1.0 / alpha
    return float(nbinom.logpmf(x, r, r / (r + mu)))


@pytest.mark.parametrize("x,mu0,alpha,kappa", [(0, 3.0, 0.2, 2.0), (7, 3.0, 0.2, 2.0), (12, 5.5, 1.0, 1.5)])
def test_llr_equals_scipy_log_pmf_difference(x: int, mu0: float, alpha: float, kappa: float) -> None:
    expected = _nb_logpmf(x, kappa * mu0, alpha) - _nb_logpmf(x, mu0, alpha)
    assert nb_llr(x, mu0, alpha, kappa) == pytest.approx(expected, rel=1e-10)


def test_poisson_limit() -> None:
    expected = poisson.logpmf(6, 8.0) - poisson.logpmf(6, 4.0)
    assert nb_llr(6, 4.0, 0.0, 2.0) == pytest.approx(expected)


def test_sustained_moderate_rise_alarms_where_single_buckets_do_not() -> None:
    x = np.array([4.0] * 10 + [7.0] * 6)
    r = nb_cusum_batch(x, mu0=np.full(16, 4.0), alpha=0.05, kappa=1.75, h=4.0)
    assert not r.alarm[:10].any()
    assert r.alarm[10:].any()


def test_resets_after_alarm_and_stream_equals_batch() -> None:
    x = np.array([2.0, 9, 9, 9, 9, 2, 2, 9, 9, 9, 9])
    mu = np.full(len(x), 2.0)
    b = nb_cusum_batch(x, mu, alpha=0.1, kappa=2.0, h=3.0)
    state = CusumState()
    for i, v in enumerate(x):
        state, res = nb_cusum_update(state, v, 2.0, alpha=0.1, kappa=2.0, h=3.0)
        assert res.alarm == b.alarm[i]
        assert res.statistic == pytest.approx(b.statistic[i])
        if res.alarm:
            assert state.s == 0.0
    assert b.alarm.sum() >= 2


def test_missing_bucket_leaves_chart_unchanged() -> None:
    state = CusumState(2.5)
    new, res = nb_cusum_update(state, math.nan, 3.0, alpha=0.1)
    assert new == state and not res.alarm and math.isnan(res.score)


def test_zero_baseline_is_floored_not_infinite() -> None:
    r = nb_cusum_batch(np.array([0.0, 0, 1]), mu0=np.zeros(3), alpha=0.0)
    assert np.all(np.isfinite(r.statistic))


def test_dispersion_moment_estimate() -> None:
    assert dispersion(4.0, 4.0) == 0.0
    assert dispersion(4.0, 12.0) == pytest.approx(0.5)
    assert dispersion(0.0, 0.0) == 0.0


def test_salmonella_outbreak_found_without_false_alarms() -> None:
    x, start = salmonella()
    ob = outbreak_flags()
    a = local_cusum_batch(x).alarm[start:]
    assert a[ob].any()
    assert a[~ob].mean() <= 0.02


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=30), st.floats(0.5, 20), st.floats(0, 2))
def test_score_bounded_and_monotone_in_current_count(xs: list[int], mu: float, alpha: float) -> None:
    x = np.array(xs, dtype=float)
    r = nb_cusum_batch(x, np.full(len(x), mu), alpha=alpha, h=1e9)
    assert np.all((r.score >= 0) & (r.score <= 1))
    y = x.copy()
    y[-1] += 5
    r2 = nb_cusum_batch(y, np.full(len(x), mu), alpha=alpha, h=1e9)
    assert r2.score[-1] >= r.score[-1]
