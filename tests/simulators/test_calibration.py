"""The wage-arrears probability means what it says, on a simulated draw the rules were not fitted on."""
from __future__ import annotations

import math

import numpy as np
import pytest

from detectors.engine import SIGNALS
from detectors.wage_score import ScoreParams, probability
from earlywarn.settings import DEFAULT_RULES
from detectors.calibrate import reliability_table
from rules.loader import load_rules
from simulators.evaluation.fit import snapshots


@pytest.fixture(scope="module")
def table():
    """Weekly snapshots of 5,000 enterprises of another seed (the rules were fitted on seed 777)."""
    X, y, industries, _ = snapshots("yuhang", DEFAULT_RULES, progress=False, seed=31, enterprises=5000)
    rules = load_rules(DEFAULT_RULES)
    p = probability(X, np.array([rules.industry_prior.get(i, 0.0) for i in industries]),
                    ScoreParams.from_rules(rules, SIGNALS))
    return p, y, reliability_table(p, y)


def test_predicted_and_observed_frequencies_agree_bin_by_bin(table):
    _, _, rows = table
    checked = 0
    for r in rows:
        if r["n"] < 75:
            continue
        q = r["predicted"]
        tolerance = 3 * math.sqrt(q * (1 - q) / r["n"]) + 0.02
        assert abs(r["observed"] - q) <= tolerance, r
        checked += 1
    assert checked >= 6, rows


def test_the_average_probability_is_the_arrears_rate(table):
    p, y, _ = table
    assert p.mean() == pytest.approx(y.mean(), rel=0.25)


def test_higher_probability_bins_hold_more_arrears(table):
    _, _, rows = table
    observed = [r["observed"] for r in rows if r["n"] >= 75]
    assert observed[-1] > 0.5 > observed[0]
    assert all(b > a - 0.05 for a, b in zip(observed, observed[1:])), observed
