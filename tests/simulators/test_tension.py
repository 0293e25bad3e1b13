"""Building tension before some group incidents: days of rising complaints and petitions in their grid, none before
others, and a world without it drawn exactly as before."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from simulators.world.generate import generate
from simulators.world.scenario import load_scenario

SMALL = {"enterprises": 3000, "days": 240, "warmup_days": 30, "hotline_per_day": 80,
         "arrears.distress_rate": 0.2, "gatherings.unrelated_per_month": 3.0, "faults.malformed_share": 0.0,
         "faults.duplicate_share": 0.0, "faults.late_share": 0.0, "faults.outages": 0}
"""faults off, so the two worlds can be compared line for line"""


@pytest.fixture(scope="module")
def worlds():
    plain = generate(load_scenario("yuhang", seed=31, **SMALL))
    tense = generate(load_scenario("yuhang", seed=31, **SMALL, **{"gatherings.tension_share": 1.0}))
    return plain, tense


def voices_by_day(gen, area: str) -> Counter:
    """Complaints and petitions in ``area`` per scenario day."""
    out: Counter = Counter()
    for line in gen.lines:
        if area not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("class") in ("hotline_complaint", "petition") and rec["event"].get("area_code") == area:
            out[rec["event"]["occurred_at"][:10]] += 1
    return out


def test_the_truth_is_the_same_world_with_tension_marked(worlds):
    plain, tense = worlds
    assert [(g.gathering_id, g.start, g.area_code) for g in plain.truth.incidents] == \
           [(g.gathering_id, g.start, g.area_code) for g in tense.truth.incidents]
    assert plain.truth.arrears == tense.truth.arrears
    assert all(g.tension_days == 0 for g in plain.truth.incidents)
    marked = [g for g in tense.truth.incidents if g.tension_days]
    assert all(4 <= g.tension_days <= 14 for g in marked)
    wage = [g for g in tense.truth.incidents if g.wage_related]
    assert wage and all(g.tension_days for g in wage), "share 1.0: every wage gathering builds up"
    other = [g for g in tense.truth.incidents if not g.wage_related]
    assert any(g.tension_days == 0 for g in other), "others at half the share: some come with no warning"
    assert "tension_days" not in plain.truth.to_json() and "tension_days" in tense.truth.to_json()


def test_complaints_rise_in_the_grid_in_the_days_before_and_only_there(worlds):
    plain, tense = worlds
    from datetime import timedelta
    rises = 0
    incidents = [g for g in tense.truth.incidents if g.tension_days and 0 <= g.start < tense.scenario.days][:6]
    assert incidents
    for g in incidents:
        start = tense.truth.start + timedelta(days=int(g.start))
        window = [(start - timedelta(days=k)).isoformat() for k in range(1, g.tension_days + 1)]
        before, after = voices_by_day(plain, g.area_code), voices_by_day(tense, g.area_code)
        extra = [after[d] - before[d] for d in window]
        assert all(x >= 0 for x in extra)
        last, first = sum(extra[: len(extra) // 2]), sum(extra[len(extra) // 2:])   # window runs backwards
        rises += last > first
        assert sum(extra) >= g.tension_days // 2
    assert rises >= len(incidents) - 1, "the count rises towards the day of the gathering"
    by_class = lambda gen: Counter(json.loads(x).get("class") for x in gen.lines if x.startswith("{"))
    p, t = by_class(plain), by_class(tense)
    assert t["gathering_report"] == p["gathering_report"] and t["water_arrears"] == p["water_arrears"]
    assert t["hotline_complaint"] > p["hotline_complaint"] and t["petition"] > p["petition"]
