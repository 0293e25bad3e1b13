"""EARS C1–C3: exact agreement with R surveillance::earsC, plus robustness."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from detectors.ears import EarsState, ears_batch, ears_update
from tests.detectors.refdata import reference_alarms, salmonella


@pytest.mark.parametrize("method", ["C1", "C2", "C3"])
def test_batch_reproduces_r_alarms_exactly(method: str) -> None:
    x, start = salmonella()
    ours = ears_batch(x, method, baseline=7, alpha=0.001, min_sigma=0).alarm[start:].astype(int)
    ref = reference_alarms(f"Ears{method}")
    mismatch = np.nonzero(ours != ref)[0]
    assert len(mismatch) == 0, f"{method}: weeks differing from R: {mismatch.tolist()}"
    assert ref.sum() > 0  # the reference does alarm, so agreement is not trivial


@pytest.mark.parametrize("method", ["C1", "C2", "C3"])
def test_streaming_reproduces_r_alarms_exactly(method: str) -> None:
    x, start = salmonella()
    state = EarsState()
    alarms = []
    for v in x:
        state, res = ears_update(state, v, method)
        alarms.append(int(res.alarm))
    assert alarms[start:] == reference_alarms(f"Ears{method}").tolist()


def test_c1_upper_bound_matches_r_package_test() -> None:
    """R's own test: C1, alpha=0.05, first four 2011 upper bounds."""
    x, start = salmonella()
    r = ears_batch(x, "C1", alpha=0.05)
    win = np.array([x[start + i - 7: start + i] for i in range(4)])
    upper = win.mean(axis=1) + norm.ppf(0.95) * win.std(axis=1, ddof=1)
    np.testing.assert_allclose(upper, [3.278854, 3.278854, 3.436517, 3.855617], atol=1e-6)
    np.testing.assert_allclose(r.expected[start: start + 4], win.mean(axis=1))
    ours = r.expected[start: start + 4] + norm.ppf(0.95) * (
        (x[start: start + 4] - r.expected[start: start + 4]) / r.statistic[start: start + 4])
    np.testing.assert_allclose(ours, upper, atol=1e-9)


def test_c3_r_variant_alarms_after_the_jump_hutwagner_at_it() -> None:
    base = [2.0, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3]
    x = np.array(base + [30.0, 3.0, 3.0])
    r = ears_batch(x, "C3", variant="r")
    h = ears_batch(x, "C3", variant="hutwagner")
    jump = len(base)
    assert not r.alarm[jump] and r.alarm[jump + 1]
    assert h.alarm[jump]


def test_zeros_flat_baseline_no_nan_alarm() -> None:
    x = np.zeros(20)
    r = ears_batch(x, "C2")
    assert not r.alarm.any()
    assert np.all(r.score[~np.isnan(r.score)] == 0.5)
    x[-1] = 1.0  # any case over an all-zero baseline is an aberration
    assert ears_batch(x, "C1").alarm[-1]


def test_gaps_are_skipped_not_zero() -> None:
    x = np.array([5.0, 6, 5, np.nan, 6, 5, 6, 5, 6])
    r = ears_batch(x, "C1")
    assert r.expected[-1] == pytest.approx(np.nanmean(x[1:8]))
    x2 = x.copy()
    x2[-1] = np.nan
    r2 = ears_batch(x2, "C1")
    assert math.isnan(r2.score[-1]) and not r2.alarm[-1]


def test_too_few_present_values_give_no_decision() -> None:
    x = np.array([np.nan] * 6 + [1.0, 2.0, 50.0])
    assert not ears_batch(x, "C1").alarm[-1]


def test_bad_parameters_raise() -> None:
    with pytest.raises(ValueError, match="C1, C2 or C3"):
        ears_batch(np.ones(10), "C4")
    with pytest.raises(ValueError, match="baseline"):
        ears_batch(np.ones(10), "C1", baseline=2)


counts = st.lists(st.integers(min_value=0, max_value=60), min_size=12, max_size=40)


@settings(max_examples=60, deadline=None)
@given(counts, st.sampled_from(["C1", "C2", "C3"]))
def test_stream_equals_batch_and_score_bounded(xs: list[int], method: str) -> None:
    x = np.array(xs, dtype=float)
    b = ears_batch(x, method)
    state = EarsState()
    for i, v in enumerate(x):
        state, res = ears_update(state, v, method)
        assert res.alarm == bool(b.alarm[i])
        if math.isnan(b.score[i]):
            assert math.isnan(res.score)
        else:
            assert 0.0 <= res.score <= 1.0
            assert res.score == pytest.approx(b.score[i])


@settings(max_examples=60, deadline=None)
@given(counts, st.sampled_from(["C1", "C2", "C3"]), st.integers(min_value=0, max_value=40))
def test_alarm_and_score_monotone_in_current_count(xs: list[int], method: str, bump: int) -> None:
    x = np.array(xs, dtype=float)
    y = x.copy()
    y[-1] += bump
    a, b = ears_batch(x, method), ears_batch(y, method)
    assert b.alarm[-1] >= a.alarm[-1]
    if not math.isnan(a.score[-1]):
        assert b.score[-1] >= a.score[-1]
