"""NAB scoring on small hand-computed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bench.nab import PROFILES, label_rows, probation_rows, scaled_sigmoid, score_at, split_report, sweep

STD = PROFILES["standard"]
SIG_M1 = 2 / (1 + math.exp(-5)) - 1  # sigma(-1) = 0.98661...


def _scores(n: int, rows: dict[int, float]) -> np.ndarray:
    s = np.zeros(n)
    for r, v in rows.items():
        s[r] = v
    return s


def test_probation_rule() -> None:
    assert probation_rows(100) == 15
    assert probation_rows(15902) == 750


def test_sigmoid_values() -> None:
    assert float(scaled_sigmoid(0.0)) == pytest.approx(0.0)
    assert float(scaled_sigmoid(-1.0)) == pytest.approx(SIG_M1)
    assert float(scaled_sigmoid(3.5)) == -1.0


def test_left_edge_detection_is_perfect() -> None:
    lab = label_rows(100, [(40, 49)])
    best = sweep([_scores(100, {40: 1.0})], [lab], STD)
    assert best["score"] == pytest.approx(1.0)
    assert best["normalised"] == pytest.approx(100.0)


def test_right_edge_detection_weight() -> None:
    lab = label_rows(100, [(40, 49)])
    best = sweep([_scores(100, {49: 1.0})], [lab], STD)
    expected = (2 / (1 + math.exp(5 * -0.1)) - 1) / SIG_M1  # y = -(49-49+1)/10
    assert best["score"] == pytest.approx(expected)
    assert best["normalised"] == pytest.approx(100 * (expected + 1) / 2)


def test_only_earliest_detection_in_window_counts() -> None:
    lab = label_rows(100, [(40, 49)])
    best = sweep([_scores(100, {42: 0.9, 45: 1.0})], [lab], STD)
    y42 = -(49 - 42 + 1) / 10
    assert best["score"] == pytest.approx((2 / (1 + math.exp(5 * y42)) - 1) / SIG_M1)
    assert best["tp"] == 1 and best["fp"] == 0


def test_false_positive_costs_before_and_after_window_probation_free() -> None:
    lab = label_rows(100, [(40, 49)])
    # one TP at the left edge, one FP before the window, one in probation, one after
    s = _scores(100, {40: 1.0, 20: 1.0, 5: 1.0, 54: 1.0})
    best = sweep([s], [lab], {"tp": 1.0, "fn": 1.0, "fp": 0.11})
    after = 2 / (1 + math.exp(5 * (5 / 9))) - 1  # distance 5 over width-1 = 9
    expected_all = 1.0 - 0.11 + 0.11 * after
    # the sweep may prefer a higher threshold; with all at 1.0 it must take them together
    assert best["score"] == pytest.approx(max(expected_all, -1.0))
    assert best["fp"] == 2  # the probation row is not counted


def test_missed_window_and_threshold_choice() -> None:
    lab = label_rows(100, [(40, 49), (70, 79)])
    # high score on a window start, lower score on an FP: best threshold excludes the FP
    s = _scores(100, {40: 0.9, 20: 0.5})
    best = sweep([s], [lab], STD)
    assert best["score"] == pytest.approx(1.0 - 1.0)  # one TP, one missed window
    assert best["threshold"] == pytest.approx(0.9)
    assert best["normalised"] == pytest.approx(50.0)


def test_one_threshold_across_files() -> None:
    a = label_rows(100, [(40, 49)])
    b = label_rows(100, [(40, 49)])
    # file a needs threshold 0.3 to hit; file b has FPs at 0.35: corpus optimum trades off
    sa = _scores(100, {40: 0.3})
    sb = _scores(100, {40: 0.9, 20: 0.35, 21: 0.35})
    best = sweep([sa, sb], [a, b], STD)
    # at 0.3: 2 TP, 2 FP (-0.22) = 1.78 ; at 0.9: 1 TP, 1 FN = 0
    assert best["score"] == pytest.approx(1.78)
    assert best["threshold"] == pytest.approx(0.3)


def test_low_fn_profile_doubles_miss_cost() -> None:
    lab = label_rows(100, [(40, 49)])
    best = sweep([np.zeros(100)], [lab], PROFILES["reward_low_FN_rate"])
    assert best["score"] == pytest.approx(-2.0)
    assert best["normalised"] == pytest.approx(0.0)


def test_score_at_matches_the_sweep_at_its_own_threshold() -> None:
    labs = [label_rows(100, [(40, 49)]), label_rows(100, [(60, 69)])]
    scores = [_scores(100, {20: 3.0, 45: 5.0}), _scores(100, {30: 4.0, 65: 2.0})]
    best = sweep(scores, labs, STD)
    fixed = score_at(scores, labs, STD, best["threshold"])
    assert fixed["score"] == pytest.approx(best["score"])
    assert (fixed["tp"], fixed["fp"], fixed["fn"]) == (best["tp"], best["fp"], best["fn"])


def test_score_at_a_threshold_nothing_passes_misses_every_window() -> None:
    labs = [label_rows(100, [(40, 49)])]
    r = score_at([_scores(100, {45: 5.0})], labs, STD, 6.0)
    assert (r["tp"], r["fp"], r["fn"], r["normalised"]) == (0, 0, 1, pytest.approx(0.0))


def test_split_carries_the_fit_threshold_to_the_judge_files() -> None:
    # fit files: a window detected at 5, a false positive at 2 -> threshold 5; judge file: its window at 4
    labs = [label_rows(100, [(40, 49)]) for _ in range(6)]
    scores = [_scores(100, {40: 5.0, 20: 2.0}) for _ in range(5)] + [_scores(100, {40: 4.0})]
    sp = split_report(scores, labs)
    assert sp["fit"]["threshold"] == 5.0 and sp["fit"]["normalised"] == pytest.approx(100.0)
    assert sp["judge_at_fit_threshold"]["tp"] == 0          # 4 < 5: missed at the carried threshold
    assert sp["judge_own_threshold"]["normalised"] == pytest.approx(100.0)   # re-swept it would be found
