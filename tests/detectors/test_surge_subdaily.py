"""Sub-daily counts (issue #22, NAB): the time-of-day cycle is no surge, a spike at a quiet hour is, and
the combined p is read against the series' own record of surprises (``detectors.surge.recalibrated``)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from detectors.surge import (RECAL_T0, SurgeConfig, SurgeState, advance, onset_filter, push_record,
                             recalibrated, recalibration_halflife, refractory_buckets, run_method, update_surge)

STEP = 300.0  # 5-minute buckets
PER_DAY = 288


def _daily_cycle(rng: np.random.Generator, days: int, peak: float = 40.0, trough: float = 2.0) -> np.ndarray:
    """Poisson counts whose rate follows the clock: ``trough`` at 03:00, ``peak`` at 15:00."""
    phase = np.arange(days * PER_DAY) % PER_DAY / PER_DAY
    rate = trough + (peak - trough) * 0.5 * (1.0 - np.cos(2 * np.pi * (phase - 0.125)))
    return rng.poisson(rate).astype(float)


def test_a_daily_cycle_alone_raises_no_alarm_episode() -> None:
    rng = np.random.default_rng(5)
    x = _daily_cycle(rng, 8)
    res = run_method("combined", x, np.arange(len(x)) * STEP)
    scored = ~np.isnan(res.statistic)
    assert scored[PER_DAY:].all()
    assert int(np.sum(res.alarm)) <= 2          # alpha = 0.001 over 2,300 buckets: a couple at most by chance
    # the morning rise, every day, is not an episode start above p = 1e-4
    onsets = onset_filter(res.statistic, refractory_buckets(STEP))
    assert int(np.sum(onsets[PER_DAY:] > 4.0)) == 0


def test_a_spike_at_a_quiet_hour_alarms_and_tops_the_series() -> None:
    rng = np.random.default_rng(6)
    x = _daily_cycle(rng, 8)
    quiet = 6 * PER_DAY + 36          # 03:00 on day 7, rate 2 a bucket
    x[quiet] = 30.0                    # less than the afternoon's ordinary 40
    res = run_method("combined", x, np.arange(len(x)) * STEP)
    assert bool(res.alarm[quiet])
    assert int(np.nanargmax(res.statistic)) == quiet
    assert x[quiet] < np.max(x[: 6 * PER_DAY])   # a fixed level threshold could not have caught it


def test_recalibration_is_on_for_sub_daily_buckets_only() -> None:
    assert recalibration_halflife(STEP) == PER_DAY / 2
    assert recalibration_halflife(86400.0) is None and recalibration_halflife(None) is None
    rng = np.random.default_rng(7)
    x = rng.poisson(5.0, 120).astype(float)
    days = np.arange(len(x)) * 86400.0
    plain = run_method("combined", x, days, SurgeConfig(period=7, bucket_seconds=86400.0))
    auto = run_method("combined", x, days)
    np.testing.assert_array_equal(plain.statistic, auto.statistic)   # daily series: the model's own p


def test_recalibrated_keeps_a_calibrated_series_and_shrinks_a_bursty_one() -> None:
    calibrated = (10_000.0, 1_000.0, 1_000.0 / np.log(10))
    assert recalibrated(9.0, calibrated) == pytest.approx(9.0, rel=1e-3)
    bursty = (10_000.0, 1_000.0, 5 * 1_000.0 / np.log(10))    # surprises five times as deep as the model says
    assert recalibrated(9.0, bursty) == pytest.approx(1.0 + 8.0 / 5, rel=1e-2)
    rare = (10_000.0, 100.0, 100.0 / np.log(10))              # a tenth as many surprises as claimed
    assert recalibrated(9.0, rare) > 9.0


def test_recalibrated_is_continuous_and_increasing() -> None:
    record = (500.0, 80.0, 300.0)
    ts = np.linspace(0.0, 40.0, 4001)
    out = np.array([recalibrated(float(t), record) for t in ts])
    assert np.all(np.diff(out) > 0)
    below = recalibrated(RECAL_T0 - 1e-9, record)
    above = recalibrated(RECAL_T0 + 1e-9, record)
    assert above - below == pytest.approx(0.0, abs=1e-6)
    assert recalibrated(float("inf"), record) == float("inf")


def test_push_record_discounts_by_its_half_life() -> None:
    r = (0.0, 0.0, 0.0)
    r = push_record(r, 5.0, 10.0)
    for _ in range(10):
        r = push_record(r, 0.0, 10.0)
    assert r[1] == pytest.approx(0.5) and r[2] == pytest.approx(2.0)   # one surprise, ten buckets ago: half
    assert push_record(r, float("nan"), 10.0) == r                       # no decision: nothing recorded


def test_a_bursty_history_makes_the_next_spike_less_surprising() -> None:
    rng = np.random.default_rng(8)
    calm = _daily_cycle(rng, 6, peak=20.0, trough=20.0)
    bursty = calm.copy()
    bursty[::97] += 60.0                   # a burst every eight hours
    ts = np.arange(len(calm)) * STEP
    spike = len(calm) - 5
    calm[spike] = bursty[spike] = 120.0
    s_calm = run_method("combined", calm, ts).statistic[spike]
    s_bursty = run_method("combined", bursty, ts).statistic[spike]
    assert s_bursty < s_calm


def test_state_with_a_record_round_trips_and_daily_states_keep_their_shape() -> None:
    cfg = SurgeConfig(period=PER_DAY, bucket_seconds=STEP, phase_exposure=False, recalibrate=144.0)
    state = SurgeState.new(cfg)
    rng = np.random.default_rng(9)
    for i, c in enumerate(rng.poisson(4.0, 400)):
        state, _ = update_surge(state, float(c), i * STEP)
    assert state.record[0] > 0
    d = state.to_dict()
    assert SurgeState.from_dict(cfg, d).record == pytest.approx(state.record)
    assert "record" not in SurgeState.new(SurgeConfig(period=7, bucket_seconds=86400.0)).to_dict()


def test_advance_with_a_record_equals_bucket_by_bucket() -> None:
    cfg = SurgeConfig(bucket_seconds=STEP, recalibrate=20.0)
    rng = np.random.default_rng(10)
    counts = rng.poisson(6.0, 120).astype(float)
    one = SurgeState.new(cfg)
    for i, c in enumerate(counts):
        one, _ = update_surge(one, float(c), i * STEP)
    bulk = advance(SurgeState.new(cfg), counts.tolist(), (len(counts) - 1) * STEP)
    assert bulk.record == pytest.approx(one.record)
    np.testing.assert_array_equal(bulk.ring, one.ring)


def test_recalibrate_must_be_a_positive_half_life() -> None:
    with pytest.raises(ValueError):
        replace(SurgeConfig(), recalibrate=0.0)
