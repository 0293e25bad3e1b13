"""Fitting the lists: no feature reads the future, the exported trees are scikit-learn's, a district's own
history is split in time."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from detectors.features import FEATURES, MONOTONE
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules
from simulators.evaluation.fit import collect, evidence_only, fit_rules, fit_trees
from simulators.evaluation.backtest import DecodeStats
from simulators.evaluation.logfiles import iter_lines
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario

DAY = 86400.0


@pytest.fixture(scope="module")
def small_log():
    s = load_scenario("yuhang-hard", enterprises=2500, seed=12, hotline_per_day=60)
    return s, generate(s).lines


def rows_of(lines):
    stats = DecodeStats()
    instants, raised, _ = collect(iter_lines(lines, "<log>", stats.problems), load_rules(DEFAULT_RULES), stats)
    return {(x.enterprise_id, x.t, r): x.row for x, r in zip(instants, raised)}


def test_no_feature_reads_an_event_delivered_after_its_instant(small_log):
    """Leakage: every row decided before day T is the same whether the deliveries from T on are there, gone,
    or delivered a month later still. (Rows are dated when their delivery day was complete.)"""
    from datetime import datetime, timedelta
    s, lines = small_log
    at = [datetime.fromisoformat(json.loads(line)["at"]) for line in lines]
    cut = datetime.combine(s.start + timedelta(days=s.days // 2), datetime.min.time(), tzinfo=at[0].tzinfo)
    before = [line for line, a in zip(lines, at) if a < cut]
    moved = before + [line.replace(f'"at":"{a.isoformat()}"', f'"at":"{(a + timedelta(days=30)).isoformat()}"')
                      for line, a in zip(lines, at) if a >= cut]
    assert len(moved) == len(lines) and moved != lines
    full, truncated, later = rows_of(lines), rows_of(before), rows_of(moved)
    edge = cut.timestamp()
    early = {k: v for k, v in full.items() if k[2] < edge}
    assert len(early) > 1000 and any(k[2] >= edge for k in full)
    for other in (truncated, later):
        shared = {k: v for k, v in other.items() if k[2] < edge}
        assert shared.keys() == early.keys()
        assert all(np.array_equal(early[k], shared[k]) for k in early)


@pytest.fixture(scope="module")
def small_trees():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 3, size=(6000, len(FEATURES)))
    up = [FEATURES.index(f) for f, sign in MONOTONE.items() if sign > 0][:4]
    logit = -3 + X[:, up].sum(axis=1) - 1.5 * X[:, FEATURES.index("si_late_spells_year")]
    y = rng.uniform(size=len(X)) < 1 / (1 + np.exp(-logit))
    return fit_trees(X, y, seed=0, max_iter=40), X


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 5999), st.sampled_from(sorted(MONOTONE)), st.floats(0.0, 3.0))
def test_trees_keep_their_monotone_constraints(small_trees, row, feature, bump):
    """More evidence never lowers a score; more industry-wide lateness or more spells never raise it."""
    model, X = small_trees
    x = X[row].copy()
    y = x.copy()
    k = FEATURES.index(feature)
    y[k] += bump
    a, b = model.raw(x[None, :])[0], model.raw(y[None, :])[0]
    assert (b >= a - 1e-9) if MONOTONE[feature] > 0 else (b <= a + 1e-9)


def test_fit_on_a_district_log_is_split_in_time(small_log, tmp_path):
    """Fitted on the earlier months only; the report judges the lists on the later months."""
    s, lines = small_log
    from simulators.commands import write_scenario
    gen = generate(s)
    paths = write_scenario(gen, tmp_path / "log")
    out = tmp_path / "district.yaml"
    report = fit_rules(out, "district-test", events=paths["events"], truth=paths["truth"], progress=False)
    rules = load_rules(out)
    assert rules.version == "district-test" and "--train-until" in rules.description
    later = report["later_months"]
    assert later["from"] > s.start.isoformat()
    for name in ("inspect_now", "early_warning"):
        part = later[name]
        assert sum(part["categories"].values()) == part["alerts"]
        assert part["auc"] is None or 0.5 < part["auc"] <= 1.0


def test_evidence_only_reads_the_channels_of_any_rule_file(tmp_path):
    """A fit needs only the evidence channels, so a rule file of an older engine still serves as a base."""
    import yaml
    data = yaml.safe_load(Path(DEFAULT_RULES).read_text())
    data["features"] = ["something_older"]
    for ch in data["signals"].values():
        ch["weight"] = 1.0
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(data))
    base = evidence_only(path)
    assert set(base.signals) == set(data["signals"])
