"""The backtest scores alerts against the truth as documented, and the baseline is a real competitor."""
from __future__ import annotations

from pathlib import Path

import pytest

from simulators.evaluation.backtest import TruthIndex
from simulators.evaluation.baseline import BaselineError, load_baseline, parse_baseline
from simulators.commands import backtest
from simulators.world.truth import ArrearsEpisode, DistressInterval, Truth, epoch0

DAY = 86400.0


def make_truth():
    from datetime import date
    t = Truth("t", date(2025, 3, 1), 365, 0, 3,
              arrears=[ArrearsEpisode("A", 100.0, 130.0, 10, False, "gradual")],
              distress=[DistressInterval("A", 60.0, 130.0, False), DistressInterval("B", 10.0, 40.0, True)])
    return TruthIndex(t)


def test_on_site_outcomes():
    ti = make_truth()
    t0 = epoch0(ti.truth.start)
    assert ti.outcome("A", t0 + 110 * DAY) == ("arrears_confirmed", True)
    assert ti.outcome("A", t0 + 70 * DAY) == ("hidden_risk", True)        # in distress, arrears within 90 days
    assert ti.outcome("A", t0 + 20 * DAY) == ("hidden_risk", True)        # not yet distressed, arrears within 90 d
    assert ti.outcome("A", t0 + 5 * DAY) == ("no_risk", False)
    assert ti.outcome("B", t0 + 20 * DAY) == ("hidden_risk", False)       # distress that recovers: not strict
    assert ti.outcome("C", t0 + 20 * DAY) == ("no_risk", False)


def test_baseline_file_loads_and_refuses_bad_fields():
    table = load_baseline()
    assert table.conditions and table.threshold >= 1
    with pytest.raises(BaselineError, match=r"conditions.0.points"):
        parse_baseline("version: b\nthreshold: 2\nconditions: [{name: x, classes: [petition], points: 0, valid_days: 3}]")


@pytest.fixture(scope="module")
def report():
    return backtest("yuhang", progress=False, seed=4, overrides={"enterprises": 3000, "hotline_per_day": 60})


def test_report_has_the_documented_keys(report):
    for k in ("effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "median_lead_days",
              "alerts", "enterprises", "rules_version", "outcomes", "baseline", "group_incidents"):
        assert k in report, k
    assert set(report["outcomes"]) == {"arrears_confirmed", "hidden_risk", "no_risk"}
    for k in ("effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "alerts", "outcomes"):
        assert k in report["baseline"], k
    assert set(report["group_incidents"]) >= {"hits", "misses", "false_alarms", "median_lead_minutes"}
    tension = report["area_tension"]
    assert set(tension) >= {"hits", "misses", "false_alarms", "median_lead_days", "false_alarms_per_area_month"}
    assert tension["hits"] + tension["misses"] == tension["incidents"] == report["truth"]["group_incidents"]
    assert tension["false_alarms"] <= tension["alert_episodes"] == sum(tension["by_level"].values())
    assert sum(report["outcomes"].values()) == report["alerts"]
    assert report["dead_letters"] >= report["faults"]["malformed"] > 0
    assert report["duplicates_skipped"] > 0


def test_strict_rate_never_exceeds_effective_rate(report):
    for r in (report, report["baseline"]):
        if r["alerts"]:
            assert r["strict_warning_rate"] <= r["effective_warning_rate"] + 1e-9


def test_no_detector_beats_the_recall_ceiling_of_its_sources(report):
    """An alert needs evidence before the episode: recall sits at or below the share of episodes that had any."""
    ceiling = report["recall_ceiling"]
    for r in (report, report["baseline"]):
        assert r["recall"] <= ceiling["episodes"]["any_evidence_90d"]
        assert r["recall_non_sudden"] <= ceiling["non_sudden"]["any_evidence_90d"]
    for part in ceiling.values():
        assert part["two_or_more_90d"] <= part["any_90d"] and part["any_30_to_90d"] <= part["any_90d"]
        assert part["any_90d"] <= part["any_evidence_90d"]
    assert ceiling["non_sudden"]["any_90d"] > 0


@pytest.mark.parametrize("name", ["inspect_now", "early_warning"])
def test_tune_replay_gives_the_engine_alerts_at_the_file_thresholds(name):
    import numpy as np
    from rules.loader import load_rules
    from earlywarn.settings import DEFAULT_RULES
    from simulators.evaluation.tune import replay
    rep = backtest("yuhang", progress=False, seed=6, keep_scores=True,
                   overrides={"enterprises": 3000, "hotline_per_day": 90})
    run = rep["_run"]
    rules = load_rules(DEFAULT_RULES)
    lst = rules.lists[name]
    d = rules.deadlines_days
    got = replay(run.scores[name], np.array([lst.thresholds.as_tuple()]), lst.hysteresis, (d.blue, d.yellow, d.red))[0]
    want = [(a.subject_id, a.raised, a.check, a.level) for a in run.by_list(name)]
    assert [(a.subject_id, a.raised, a.check, a.level) for a in got] == want
    assert want, "the small scenario raises some alerts"


def test_tune_writes_plot_and_valid_rule_file(tmp_path):
    from rules.loader import load_rules
    from simulators.evaluation.tune import Target, sweep
    res = sweep("yuhang", list_name="early_warning", objective="early_recall", target=Target(max_weekly=0.5),
                out_dir=tmp_path, progress=False, overrides={"enterprises": 1500, "hotline_per_day": 30})
    assert Path(res["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tuned = load_rules(res["rules_file"])
    assert tuned.lists["early_warning"].thresholds.as_tuple() == tuple(res["chosen"]["thresholds"])
    assert len(res["rows"]) > 10 and res["baseline_rows"]
    assert all({"early_recall", "before_onset_share"} <= set(r) for r in res["rows"])


def test_where_alerted_firms_stood_adds_up_to_the_alerts(report):
    """Every alert is in exactly one category, for the detector and for the points table."""
    for r in (report, report["baseline"]):
        assert set(r["categories"]) == {"already_in_arrears", "before_onset", "distress_only", "no_risk"}
        assert sum(r["categories"].values()) == r["alerts"]
        assert r["early_recall"] <= r["recall_non_sudden"]
        assert sum(r["recall_non_sudden_by_lead"].values()) == pytest.approx(r["recall_non_sudden"], abs=2e-4)
        assert sum(r["recall_by_lead"].values()) == pytest.approx(r["recall"], abs=2e-4)


def test_category_of_an_alert():
    ti = make_truth()
    t0 = epoch0(ti.truth.start)
    assert ti.category("A", t0 + 110 * DAY, t0 + 113 * DAY) == "already_in_arrears"
    assert ti.category("A", t0 + 20 * DAY, t0 + 23 * DAY) == "before_onset"
    assert ti.category("B", t0 + 20 * DAY, t0 + 23 * DAY) == "distress_only"
    assert ti.category("B", t0 + 5 * DAY, t0 + 12 * DAY) == "distress_only"      # distressed by the check
    assert ti.category("C", t0 + 20 * DAY, t0 + 23 * DAY) == "no_risk"


def test_baseline_alerts_are_dated_when_their_evidence_was_delivered():
    """A record delivered 20 days late cannot warn before it arrived (the table used to date it at event time)."""
    from simulators.evaluation.baseline import trace_points
    table = parse_baseline("version: b\nthreshold: 3\nconditions: [{name: si, classes: [social_insurance_arrears], "
                           "min: {months_unpaid: 2}, points: 3, valid_days: 60}]")
    ev = {"event_id": "s1", "enterprise_id": "E", "months_unpaid": 2}
    alerts = trace_points(table, [("social_insurance_arrears", ev, 100 * DAY, 120 * DAY)]).alerts(3, 90, 3)
    assert [(a["raised"], a["check"], a["reasons"]) for a in alerts] == [(120 * DAY, 123 * DAY, [{"condition": "si"}])]
    stale = trace_points(table, [("social_insurance_arrears", ev, 100 * DAY, 170 * DAY)]).alerts(3, 90, 3)
    assert stale == []                                  # expired (60 valid days) before it was delivered
