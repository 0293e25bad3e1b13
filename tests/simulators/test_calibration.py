"""The lists' probabilities mean what they say, on draws the rules were not fitted on, in two worlds.

The shipped rules were fitted on yuhang and yuhang-hard with seed 777, so one
probability map serves both worlds. Inspect-now probabilities agree with what
was observed bin by bin in each world. Early-warning probabilities are small
and the map is a compromise between the worlds: within a factor of about two
of each world's rate (a district that fits on its own history with
``earlywarn fit --events`` gets its own map).
"""
from __future__ import annotations

import math

import pytest

from detectors.calibrate import reliability_table
from detectors.models import calibrated
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules
from simulators.evaluation.fit import world_from_scenario
from simulators.evaluation.tune import row_levels


@pytest.fixture(scope="module", params=["yuhang", "yuhang-hard"])
def world(request):
    """Every scored instant of 8,000 enterprises of another seed."""
    rules = load_rules(DEFAULT_RULES)
    return rules, world_from_scenario(request.param, rules, seed=31, enterprises=8000, hotline_per_day=250)


def table(world, name):
    """Probabilities and outcomes of the rows a list judges (early warning: not in arrears, not on inspect-now)."""
    rules, w = world
    rows = w.candidate[name].copy()
    if name == "early_warning":
        now = rules.lists["inspect_now"]
        p_now = calibrated(now.scorer().raw(w.X), now.knots())
        rows &= row_levels(w.enterprise, p_now, now.thresholds.as_tuple(), now.hysteresis) == 0
    lst = rules.lists[name]
    p = calibrated(lst.scorer().raw(w.X[rows]), lst.knots())
    y = w.y[name][rows]
    return p, y, [r for r in reliability_table(p, y) if r["n"] >= 75]


def test_inspect_now_frequencies_agree_bin_by_bin(world):
    _, _, rows = table(world, "inspect_now")
    for r in rows:
        q = r["predicted"]
        assert abs(r["observed"] - q) <= 3 * math.sqrt(q * (1 - q) / r["n"]) + 0.05, r
    assert len(rows) >= 6, rows
    observed = [r["observed"] for r in rows]
    assert observed[-1] > 0.5 > observed[0]
    assert all(b > a - 0.08 for a, b in zip(observed, observed[1:])), observed


def test_early_warning_probabilities_within_a_factor_of_two_and_a_half(world):
    p, y, rows = table(world, "early_warning")
    assert len(rows) >= 3, rows
    for r in rows:
        assert r["predicted"] / 2.5 <= r["observed"] + 3 * math.sqrt(r["predicted"] / r["n"]), r
        assert r["observed"] <= 2.5 * r["predicted"] + 3 * math.sqrt(r["predicted"] / r["n"]), r
    assert 0.5 <= y.mean() / p.mean() <= 2.0
