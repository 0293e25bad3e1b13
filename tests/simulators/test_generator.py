"""The simulated district has the properties it claims (with tolerances), and nothing flatters a detector."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from simulators.world.generate import build_truth, generate
from simulators.world.scenario import ScenarioError, load_scenario, parse_scenario, scenario_names
from simulators.world.truth import spring_festival_days
from streams.records import RECORD_BY_CLASS
from streams.topics import FEEDBACK_TOPICS


@pytest.fixture(scope="module")
def big_truth():
    s = load_scenario("yuhang", enterprises=20000, seed=5)
    return (s, *build_truth(s))


@pytest.fixture(scope="module")
def small():
    s = load_scenario("yuhang", enterprises=2000, seed=3, hotline_per_day=100,
                      **{"faults.malformed_share": 0.01, "faults.duplicate_share": 0.02})
    return s, generate(s)


def in_window(s, episodes):
    return [e for e in episodes if 0 <= e.start < s.days]


def test_yearly_arrears_rate_near_one_percent(big_truth):
    s, d, lat, truth = big_truth
    eps = in_window(s, truth.arrears)
    rate = len({e.enterprise_id for e in eps}) / s.enterprises * 365 / s.days
    assert 0.007 <= rate <= 0.016, rate


def test_arrears_concentrate_in_construction_and_labour_manufacturing(big_truth):
    s, d, lat, truth = big_truth
    eps = in_window(s, truth.arrears)
    ind = Counter(d.industry_name(e.index) for e in eps)
    share = (ind["construction"] + ind["manufacturing_labour"]) / len(eps)
    population = np.isin(d.industry, [0, 1]).mean()
    assert share >= 0.5 and share > 2.5 * population, (share, population)


def test_sudden_share_a_fifth_to_a_quarter(big_truth):
    s, d, lat, truth = big_truth
    eps = in_window(s, truth.arrears)
    share = np.mean([e.sudden for e in eps])
    assert 0.15 <= share <= 0.32, share


def test_most_distressed_enterprises_recover(big_truth):
    s, d, lat, truth = big_truth
    distressed = {x.enterprise_id for x in truth.distress if 0 <= x.start < s.days}
    gone_bad = {e.enterprise_id for e in truth.arrears if 0 <= e.start < s.days + s.lookahead_days}
    recovered = len(distressed - gone_bad) / len(distressed)
    assert 0.5 <= recovered <= 0.9, recovered


def test_lead_from_distress_to_arrears_varies(big_truth):
    """Gradual episodes: distress is visible to an inspector for weeks to months first, at varying speed."""
    s, d, lat, truth = big_truth
    first = {}
    for x in truth.distress:
        first.setdefault(x.enterprise_id, []).append(x.start)
    leads = []
    for e in truth.arrears:
        if e.sudden or not 0 <= e.start < s.days:
            continue
        before = [a for a in first.get(e.enterprise_id, []) if a <= e.start]
        leads.append(e.start - max(before))
    p10, p50, p90 = np.percentile(leads, [10, 50, 90])
    assert 10 <= p50 <= 150, (p10, p50, p90)
    assert p90 > 3 * max(p10, 1), (p10, p50, p90)
    sudden = [e for e in truth.arrears if e.sudden]
    assert all(any(abs(x.start - e.start) < 1 for x in truth.distress if x.enterprise_id == e.enterprise_id)
               for e in sudden[:50]), "a sudden episode's distress starts with it"


def test_arrears_peak_before_spring_festival(big_truth):
    s, d, lat, truth = big_truth
    starts = np.array([e.start for e in in_window(s, truth.arrears)])
    sf = spring_festival_days(s.start, 0, s.days)
    assert sf
    before = ((starts >= sf[0] - 45) & (starts < sf[0])).sum() / 45
    overall = len(starts) / s.days
    assert before > 1.5 * overall, (before, overall)


def test_truth_does_not_depend_on_noise_or_missing_data():
    base = load_scenario("yuhang", enterprises=1500, seed=9, hotline_per_day=50)
    a = generate(base.with_overrides(signal_noise=0.0, missing_data=0.0))
    b = generate(base.with_overrides(signal_noise=1.0, missing_data=0.6,
                                     **{"faults.late_share": 0.2, "faults.outages": 6}))
    assert a.truth.to_json() == b.truth.to_json()
    assert a.lines != b.lines


def test_same_seed_gives_byte_identical_files(tmp_path, small):
    s, gen = small
    again = generate(s)
    p1, p2 = gen.write(tmp_path / "a"), again.write(tmp_path / "b")
    for k in p1:
        assert p1[k].read_bytes() == p2[k].read_bytes(), k
    other = generate(s.with_overrides(seed=s.seed + 1))
    assert other.lines != gen.lines


def test_every_event_is_a_valid_record_and_registry_comes_first(small):
    s, gen = small
    lines = [json.loads(x) for x in gen.lines]
    n_reg = s.enterprises
    assert all(x["class"] == "enterprise_registry" for x in lines[:n_reg])
    assert not any(x["class"] == "enterprise_registry" for x in lines[n_reg:])
    bad = 0
    for x in lines:
        if "event" in x:
            model = RECORD_BY_CLASS[x["class"]]
            rec = model.model_validate(x["event"])
            assert rec.model_dump(mode="json", by_alias=True) == x["event"]
            assert rec.topic() == f"ew.{x['class']}"
        else:
            bad += 1
            try:
                obj = json.loads(x["raw"])
            except json.JSONDecodeError:
                continue
            with pytest.raises(Exception):
                RECORD_BY_CLASS[x["class"]].model_validate(obj)
    assert bad == gen.faults["malformed"] > 0
    ids = Counter(x["event"]["event_id"] for x in lines if "event" in x)
    assert sum(v - 1 for v in ids.values()) == gen.faults["duplicates"] > 0
    at = [x["at"] for x in lines[n_reg:]]
    assert at == sorted(at), "lines are in delivery order"
    occurred = [x["event"]["occurred_at"] for x in lines[n_reg:] if "event" in x]
    assert occurred != sorted(occurred), "some deliveries are late and out of order"


def test_every_source_class_appears(small):
    s, gen = small
    classes = Counter(json.loads(x)["class"] for x in gen.lines)
    outside = {c for c, r in RECORD_BY_CLASS.items() if r.topic() not in FEEDBACK_TOPICS}   # not the API's own
    assert set(classes) == outside, outside - set(classes)
    per_day = classes["hotline_complaint"] / s.days
    assert 0.85 * s.hotline_per_day <= per_day <= 1.15 * s.hotline_per_day


def test_healthy_enterprises_send_misleading_signals(small):
    s, gen = small
    bad = {e.enterprise_id for e in gen.truth.arrears} | {x.enterprise_id for x in gen.truth.distress}
    healthy_signals = Counter()
    for x in gen.lines:
        ev = json.loads(x).get("event") or {}
        ent = ev.get("enterprise_id")
        if ent and ent not in bad and json.loads(x)["class"] != "enterprise_registry":
            healthy_signals[json.loads(x)["class"]] += 1
    for cls in ("water_arrears", "electricity_arrears", "litigation", "hotline_complaint", "market_penalty",
                "social_insurance_arrears"):
        assert healthy_signals[cls] > 0, cls


def test_quiet_has_no_incidents():
    s = load_scenario("quiet", enterprises=1000)
    _, _, truth = build_truth(s)
    assert truth.arrears == [] and truth.distress == [] and truth.incidents == []


def test_seed_case_gathering_grows_tenfold_in_half_an_hour():
    s = load_scenario("liangzhu-gathering")
    d, lat, truth = build_truth(s)
    developers = {d.uscc[i] for i, _ in lat.developer_defaults}
    dev = [g for g in truth.incidents if g.enterprise_id in developers]
    assert dev, "the developer default escalates"
    g = dev[0]
    assert 30 <= g.initial_headcount <= 40 and 300 <= g.peak_headcount <= 400
    assert abs((g.peak_at - g.start) * 1440 - 30) < 1e-6
    assert abs((g.end - g.start) * 24 - 5) < 1e-6


def test_hotline_surge_topic_up_72_percent_and_compound_331():
    from simulators.world.observe import background_hotline
    from simulators.world.district import build_district
    from simulators.world.generate import streams
    s = load_scenario("hotline-surge")
    rd, _, ro, _ = streams(s.seed)
    d = build_district(s, rd)
    day, grid, topic = background_hotline(s, d, ro)
    sg = s.surges[0]
    prop = topic == 3
    now = (prop & (day >= sg.start_day) & (day < sg.start_day + sg.days)).sum()
    before = (prop & (day >= sg.start_day - 365) & (day < sg.start_day - 365 + sg.days)).sum()
    c = s.compound_surge
    at_compound = np.bincount(grid[prop & (day >= c.start_day) & (day < c.start_day + c.days)]).max()
    assert at_compound >= 331
    extra = c.complaints
    ratio = (now - extra) / before
    assert abs(ratio - 1.7251) < 0.12, ratio


def test_shipped_scenarios_load_and_bad_files_name_the_field():
    assert {"yuhang", "quiet", "liangzhu-gathering", "hotline-surge"} <= set(scenario_names())
    for name in scenario_names():
        load_scenario(name)
    with pytest.raises(ScenarioError, match=r"arrears.sudden_share.*1.5"):
        parse_scenario("name: x\narrears: {sudden_share: 1.5}\n")
    with pytest.raises(ScenarioError, match=r"signal_nois"):
        parse_scenario("name: x\nsignal_nois: 0.2\n")
    with pytest.raises(ScenarioError, match=r"industry_mix: Value error, unknown industry 'mining'"):
        parse_scenario("name: x\nindustry_mix: {mining: 1}\n")
    with pytest.raises(ScenarioError, match="no scenario named"):
        load_scenario("atlantis")


def _world_signals(s):
    """(share of non-sudden episodes with a named wage complaint in the 90 days before onset,
    late social-insurance reports per healthy firm-year)."""
    from datetime import datetime
    from simulators.world.truth import epoch0
    gen = generate(s)
    t0 = epoch0(s.start)
    complaints, si_late = {}, Counter()
    for line in gen.lines:
        d = json.loads(line)
        ev = d.get("event") or {}
        ent = ev.get("enterprise_id")
        if not ent:
            continue
        day = (datetime.fromisoformat(ev["occurred_at"]).timestamp() - t0) / 86400
        if d["class"] == "hotline_complaint" and ev["topic"] in ("wage", "construction_payment"):
            complaints.setdefault(ent, []).append(day)
        if d["class"] == "social_insurance_arrears" and ev["months_unpaid"] >= 1:
            si_late[ent] += 1
    episodes = [e for e in gen.truth.arrears if not e.sudden and s.warmup_days <= e.start < s.days]
    before = sum(any(e.start - 90 <= t < e.start for t in complaints.get(e.enterprise_id, [])) for e in episodes)
    troubled = {x.enterprise_id for x in gen.truth.distress} | {e.enterprise_id for e in gen.truth.arrears}
    healthy = sum(n for ent, n in si_late.items() if ent not in troubled)
    return before / len(episodes), healthy / (s.enterprises - len(troubled)) * 365 / s.days


def test_worlds_differ_in_when_sources_react_and_how_common_late_payers_are():
    """yuhang-hard is another world, not another seed: complaints follow the arrears, late payment is a habit."""
    easy = _world_signals(load_scenario("yuhang", enterprises=8000, seed=21, hotline_per_day=50))
    hard = _world_signals(load_scenario("yuhang-hard", enterprises=8000, seed=21, hotline_per_day=50))
    assert easy[0] > 0.2 and hard[0] < 0.1
    assert easy[1] < 0.05 and 0.3 < hard[1] < 0.8


def test_how_sources_report_never_changes_the_truth():
    """Complaint timing, report lags, chronic late payers and industry shocks are observation, not fate."""
    base = load_scenario("yuhang", enterprises=1500, seed=9, hotline_per_day=50)
    other = base.with_overrides(sources={**base.sources.model_dump(), "voices_before_onset": 0.0,
                                         "voices_delay_days": (5, 30), "si_report_lag_days": (40, 80),
                                         "chronic_late_share": 0.3, "industry_shocks_per_year": 4,
                                         "healthy_wage_complaints": 3.0})
    a, b = generate(base), generate(other)
    assert a.truth.to_json() == b.truth.to_json()
    assert a.lines != b.lines
