"""Combined surge score: streaming API, missing data, bounds, method names."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.surge import (METHODS, SurgeConfig, SurgeState, combined_batch, onset_filter,
                             run_method, update_surge)
from tests.detectors.refdata import outbreak_flags, salmonella

DAY = 86400.0


def _run(values, cfg=None, step=DAY):
    state = SurgeState.new(cfg or SurgeConfig(bucket_seconds=step))
    out = []
    for i, v in enumerate(values):
        state, r = update_surge(state, v, i * step)
        out.append(r)
    return state, out


def test_jump_alarms_with_reason() -> None:
    _, res = _run([3, 4, 2, 3, 5, 3, 4, 3, 2, 4, 3, 25])
    assert res[-1].alarm and res[-1].reasons
    assert not any(r.alarm for r in res[:-1])
    assert res[-1].expected == pytest.approx(np.mean([3, 4, 2, 3, 5, 3, 4, 3, 2, 4, 3][-7:]), rel=0.5)


def test_state_passed_in_is_not_changed() -> None:
    state = SurgeState.new()
    before = state.ring.copy()
    new, _ = update_surge(state, 5, 0.0)
    assert np.array_equal(state.ring, before, equal_nan=True)
    assert new is not state


def test_silent_source_is_missing_not_zero() -> None:
    vals = [5, 6, 5, 6, 5, 6, 5, 6, 5, 6]
    _, res = _run(vals + [None, None, None] + [6])
    assert all(math.isnan(r.score) and not r.alarm for r in res[10:13])
    assert not res[-1].alarm  # coming back after a gap is not a surge
    # and a drop to zero would have looked very different
    _, zres = _run(vals + [0, 0, 0] + [6])
    assert not any(math.isnan(r.score) for r in zres[10:13])


def test_skipped_buckets_from_timestamps_are_missing() -> None:
    cfg = SurgeConfig(bucket_seconds=DAY)
    s1 = SurgeState.new(cfg)
    s2 = SurgeState.new(cfg)
    for i, v in enumerate([5, 6, 5, 6, 5, 6, 5, 6]):
        s1, _ = update_surge(s1, v, i * DAY)
        s2, _ = update_surge(s2, v, i * DAY)
    s1, a = update_surge(s1, 7, 11 * DAY)  # three buckets skipped
    for d in (8, 9, 10):
        s2, _ = update_surge(s2, None, d * DAY)
    s2, b = update_surge(s2, 7, 11 * DAY)
    assert np.array_equal(s1.ring, s2.ring, equal_nan=True)
    assert a.score == pytest.approx(b.score)


def test_zeros_do_not_alarm() -> None:
    _, res = _run([0] * 40)
    assert not any(r.alarm for r in res)


def test_weekday_seasonal_baseline_ignores_the_monday_rush() -> None:
    week = [20, 8, 8, 8, 8, 3, 3]
    vals = week * 6
    cfg = SurgeConfig(period=7, cycles=4, half_width=0, bucket_seconds=DAY, components=("seasonal",))
    _, res = _run(vals, cfg)
    assert not any(r.alarm for r in res)
    _, res = _run(vals + [8, 30], cfg)
    assert res[-1].alarm


def test_state_round_trips_through_plain_data() -> None:
    state, _ = _run([3, 4, 5, 6])
    back = SurgeState.from_dict(state.config, state.to_dict())
    a = update_surge(state, 9, 4 * DAY)[1]
    b = update_surge(back, 9, 4 * DAY)[1]
    assert a.score == b.score


def test_combined_batch_equals_stream() -> None:
    x = np.array([3, 4, 2, 3, 5, 3, 4, 3, 2, 4, 3, 25, 4, 3], dtype=float)
    b = combined_batch(x, np.arange(len(x)) * DAY, SurgeConfig(bucket_seconds=DAY))
    _, res = _run(x)
    assert [r.alarm for r in res] == b.alarm.tolist()


@pytest.mark.parametrize("name", METHODS)
def test_run_method_names(name: str) -> None:
    x, start = salmonella()
    r = run_method(name, x, np.arange(len(x)) * 7 * DAY)
    assert len(r) == len(x)
    s = r.score[~np.isnan(r.score)]
    assert np.all((s >= 0) & (s <= 1))


def test_combined_finds_salmonella_outbreak_at_its_onset() -> None:
    x, start = salmonella()
    ob = outbreak_flags()
    a = run_method("combined", x).alarm[start:]
    first = int(np.flatnonzero(ob)[0])
    assert a[first]  # the outbreak is raised in its first week
    assert a[ob].mean() >= 0.5
    assert a[~ob].mean() <= 0.02  # the legacy minimum raised 4% of quiet weeks


def test_legacy_combined_is_still_available() -> None:
    x, start = salmonella()
    ob = outbreak_flags()
    a = run_method("combined-legacy", x).alarm[start:]
    assert a[ob].mean() >= 0.75
    assert a[~ob].mean() <= 0.10


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        run_method("prophet", np.ones(10))


def test_onset_filter_keeps_episode_starts() -> None:
    s = np.array([0.0, 9, 8, 9.5, 7, 1, 1, 1, 9])
    assert onset_filter(s, 3).tolist() == [0.0, 9, -np.inf, 9.5, -np.inf, -np.inf, -np.inf, -np.inf, 9]


counts = st.lists(st.integers(0, 80), min_size=1, max_size=40)


@settings(max_examples=50, deadline=None)
@given(counts, st.integers(0, 60))
def test_score_bounded_and_alarm_monotone_in_current_count(xs: list[int], bump: int) -> None:
    state, res = _run(xs[:-1])
    _, a = update_surge(state, xs[-1], len(xs) * DAY)
    _, b = update_surge(state, xs[-1] + bump, len(xs) * DAY)
    for r in (a, b):
        assert math.isnan(r.score) or 0.0 <= r.score <= 1.0
    assert b.alarm >= a.alarm
    if not math.isnan(a.score):
        assert b.score >= a.score - 1e-12
