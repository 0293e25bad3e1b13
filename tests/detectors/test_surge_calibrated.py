"""Calibrated surge scores (issue #22): p-values that mean what they say, no ties, one alarm per shift."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from detectors.combine import log_cauchy
from detectors.surge import SurgeConfig, SurgeState, combined_batch, log10_p, run_method, update_surge

DAY = 86400.0
WEEK = np.array([1.25, 1.1, 1.0, 1.0, 1.0, 0.85, 0.8])


def _quiet(rng: np.random.Generator, days: int, level: float, phi: float) -> np.ndarray:
    mu = level * WEEK[np.arange(days) % 7] / WEEK.mean()
    size = mu / (phi - 1.0)
    return rng.negative_binomial(size, size / (size + mu)).astype(float)


def test_share_of_quiet_days_below_alpha_is_close_to_alpha() -> None:
    """Overdispersed quiet daily series with a weekday rhythm: p < 0.01 on about 1% of days (legacy: ~5%)."""
    rng = np.random.default_rng(11)
    ts = np.arange(300) * DAY
    stats = np.concatenate([log10_p("combined", run_method("combined", _quiet(rng, 300, 8.0, 1.5), ts))[60:]
                            for _ in range(30)])
    share = float(np.mean(stats[~np.isnan(stats)] > 2.0))
    assert 0.01 / 3 <= share <= 0.01 * 1.5


def test_one_to_three_complaints_after_an_empty_fortnight_do_not_alarm() -> None:
    cfg = SurgeConfig(bucket_seconds=DAY, period=7)
    for burst, alarms in ((1, False), (2, False), (3, False), (8, True)):
        state = SurgeState.new(cfg)
        for d in range(40):
            state, _ = update_surge(state, 0, d * DAY)
        state, r = update_surge(state, burst, 40 * DAY)
        assert r.alarm is alarms, (burst, r)
        assert r.expected >= cfg.min_rate * 0.5  # the floor is what the count was compared against


def test_scores_never_tie_even_far_in_the_tail() -> None:
    state = SurgeState.new(SurgeConfig(bucket_seconds=DAY))
    for d, c in enumerate([3, 4, 2, 3, 5, 3, 4, 3, 2, 4, 3, 4, 3, 2] * 3):
        state, _ = update_surge(state, c, d * DAY)
    stats = [update_surge(state, c, 42 * DAY)[1].statistic for c in (10, 20, 40, 80, 400, 4000)]
    assert all(b > a for a, b in zip(stats, stats[1:]))
    assert all(math.isfinite(s) for s in stats)


def test_sustained_shift_is_one_alarm_at_its_onset() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.poisson(5, 100), rng.poisson(12, 40)]).astype(float)
    old = np.flatnonzero(run_method("nb-cusum", x).alarm)
    new = np.flatnonzero(run_method("nb-cusum-reset", x).alarm)
    assert len(new) == 1 and 100 <= new[0] <= 106
    assert len(old) > 1  # the chart without re-learning alarms again and again on the same shift


def test_weekday_rush_is_not_a_surge_but_the_same_count_on_a_quiet_day_is() -> None:
    week = [20, 8, 8, 8, 8, 3, 3]
    cfg = SurgeConfig(bucket_seconds=DAY, period=7)
    res = combined_batch(np.array(week * 6, dtype=float), np.arange(42) * DAY, cfg)
    assert not res.alarm.any()
    spike = combined_batch(np.array(week * 6 + [8, 20], dtype=float), np.arange(44) * DAY, cfg)
    assert spike.alarm[-1]


def test_state_round_trips_through_json_exactly() -> None:
    cfg = SurgeConfig(bucket_seconds=DAY, period=7)
    state = SurgeState.new(cfg)
    rng = np.random.default_rng(5)
    for d, c in enumerate(np.concatenate([rng.poisson(4, 100), rng.poisson(15, 5)])):
        state, _ = update_surge(state, float(c), d * DAY)
    assert state.since_alarm >= 0  # the step above set the CUSUM re-learning
    d = json.loads(json.dumps(state.to_dict(), allow_nan=True))
    back = SurgeState.from_dict(cfg, d)
    assert back.to_dict() == state.to_dict()
    a = update_surge(state, 9.0, 105 * DAY)[1]
    b = update_surge(back, 9.0, 105 * DAY)[1]
    assert (a.statistic, a.alarm, a.expected) == (b.statistic, b.alarm, b.expected)


def test_state_written_before_since_alarm_existed_still_loads() -> None:
    cfg = SurgeConfig(bucket_seconds=DAY, period=7)
    state, _ = update_surge(SurgeState.new(cfg), 3, 0.0)
    d = state.to_dict()
    del d["since_alarm"]
    assert SurgeState.from_dict(cfg, d).since_alarm == -1


def test_cauchy_combination_of_independent_uniforms_is_calibrated() -> None:
    rng = np.random.default_rng(0)
    u = rng.uniform(size=(100_000, 3))
    p = np.array([math.exp(log_cauchy(np.log(row).tolist())) for row in u])
    assert 0.0085 <= np.mean(p < 0.01) <= 0.0115


def test_cauchy_combination_of_identical_pvalues_is_that_pvalue() -> None:
    for p in (0.2, 0.01, 1e-6, 1e-200):
        assert math.exp(log_cauchy([math.log(p)] * 4)) == pytest.approx(p, rel=1e-6)
    assert log_cauchy([-5000.0] * 3) == pytest.approx(-5000.0, rel=1e-9)


@pytest.mark.parametrize("bad", [{"pvalues": "t"}, {"combine": "min"}, {"min_rate": -1.0}, {"phi_min": 0.5}])
def test_bad_config_names_the_field(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        SurgeConfig(**bad)


def test_advance_leaves_the_state_update_surge_would() -> None:
    """Closing quiet buckets without scoring them must not change what the next bucket is judged against."""
    from detectors.surge import advance

    cfg = SurgeConfig(bucket_seconds=DAY, period=7)
    counts = np.random.default_rng(9).poisson(4, 80).astype(float)
    counts[50:53] += 20  # a CUSUM alarm and its re-learning happen inside the advanced stretch
    a = b = SurgeState.new(cfg)
    for d, c in enumerate(counts):
        a, _ = update_surge(a, c, d * DAY)
    b = advance(b, counts.tolist(), (len(counts) - 1) * DAY)
    assert a.to_dict() == b.to_dict()
