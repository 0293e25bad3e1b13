"""The area trackers survive a restart: rebuilt from what they wrote to their table, they go on exactly as if
nothing had happened (issue #19: kill -9 lost the complaint-surge baselines and a gathering's growth)."""
import json

import numpy as np
import pytest

from detectors.engine import DecodedEvent
from detectors.features import IndustryContext
from streams import area_state
from streams.complaint_surge import ComplaintSurgeTracker
from streams.group_incidents import GroupIncidentWatch
from tests.streams.test_complaint_surge import complaints
from tests.streams.test_group_incidents import reports


def district_days(seed: int) -> list[list[DecodedEvent]]:
    """Two streets' wage and other complaints for 60 days, a surge on day 45, gatherings on days 44–46."""
    rng = np.random.default_rng(seed)
    days = []
    for d in range(60):
        batch = (complaints(d, int(rng.poisson(4))) + complaints(d, int(rng.poisson(2)), topic="noise", prefix="n")
                 + complaints(d, int(rng.poisson(3)), area="330110002001001", prefix="o"))
        if d == 45:
            batch += complaints(d, 30, prefix="s")
        if d in (44, 46):
            batch += reports(f"g{d}", d, [30, 33, 95, 180], area="330110001002003")
        batch.sort(key=lambda e: e.t)
        days.append(batch)
    return days


def fresh():
    surges = ComplaintSurgeTracker()
    groups = GroupIncidentWatch(surges)
    return surges, groups, None, {"surge": surges, "gathering": groups}


def feed(surges, groups, context, batch: list[DecodedEvent]) -> list[dict]:
    return surges.process(batch) + groups.process(batch)


@pytest.mark.parametrize("cut", [1, 20, 44, 45, 46, 50])
def test_a_worker_rebuilt_from_its_table_raises_exactly_what_an_uninterrupted_one_does(cut):
    days = district_days(11)
    surges, groups, context, parts = fresh()
    want = [a for day in days for a in feed(surges, groups, context, day)]
    assert any(a["kind"] == "complaint_surge" for a in want) and any(a["kind"] == "group_incident" for a in want)

    surges, groups, context, parts = fresh()
    table: dict[str, object] = {}
    got = []
    for day in days[:cut]:
        got += feed(surges, groups, context, day)
        area_state.save(table, parts)
    stored = json.loads(json.dumps(table))   # what a changelog holds is JSON, nothing else
    surges, groups, context, parts = fresh()  # kill -9: memory is gone, the table is not
    assert area_state.restore(stored, parts) == len(stored)
    for day in days[cut:]:
        got += feed(surges, groups, context, day)
        area_state.save(table, parts)
    assert got == want


def test_the_industry_context_rebuilt_from_the_enterprise_states_is_the_one_the_engine_counted():
    """The context is a sum over firms, so a worker rebuilds it from the states it recovers and can never
    count a late report that the states do not (nor miss one they do)."""
    from earlywarn.settings import DEFAULT_RULES
    from detectors.engine import WageArrearsEngine
    from detectors.features import CONTEXT_MIN_FIRMS, industry_key
    from rules.loader import load_rules

    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    states: dict[str, object] = {}
    day0 = 1_767_196_800.0
    firms = [f"91330110MA{k:08d}" for k in range(CONTEXT_MIN_FIRMS + 5)]
    batches = [[DecodedEvent("enterprise_registry", {"event_id": f"r{k}", "enterprise_id": e, "industry": "retail",
                                                     "area_code": "330110001002003", "employees": 10}, day0)
                for k, e in enumerate(firms)]]
    for month in range(1, 4):
        batches.append([DecodedEvent("social_insurance_arrears", {
            "event_id": f"si{month}-{k}", "enterprise_id": e, "months_unpaid": 1 + (k % 3),
            "unpaid_headcount": 3, "insured_headcount": 10, "overdue_amount": 5000.0}, day0 + month * 30 * 86400.0)
            for k, e in enumerate(firms) if k % (month + 1) == 0])
    for batch in batches:
        out = engine.run(batch, lambda e: EnterpriseState_from(states.get(e)))
        states.update({e: s.to_dict() for e, s in out.touched.items()})
    rebuilt = IndustryContext.rebuilt(json.loads(json.dumps(list(states.values()))))
    key = industry_key("330110001002003", "retail")
    assert rebuilt.firms == engine.context.firms and rebuilt.firms[key] == len(firms)
    assert sum(sum(v) for v in engine.context.daily[key].values()) > 0
    for day in range(int(day0 // 86400), int(day0 // 86400) + 120):
        assert rebuilt.rates(key, day) == engine.context.rates(key, day)


def EnterpriseState_from(d):
    from detectors.enterprise import EnterpriseState

    return EnterpriseState.from_dict(d) if d else None


def test_the_surge_tracker_is_one_value_written_only_when_a_batch_changed_it():
    """One value: a changelog cut anywhere holds either all of a day's series updates or none of them."""
    surges, groups, context, parts = fresh()
    table: dict[str, object] = {}
    for day in district_days(3)[:10]:
        surges.process(day)
        area_state.save(table, parts)
    assert [k for k in table if k.startswith("surge:")] == ["surge:all"]
    assert surges.changes() == {}
    surges.process(reports("g1", 11, [30, 40]))  # no complaint in it: nothing of the tracker changes
    assert surges.changes() == {}


def test_values_too_large_for_the_changelog_are_named_with_their_size():
    from streams.area_state import too_large

    writes = {"small": {"a": 1}, "gone": None, "big": {"seen": ["x" * 100] * 100}}
    assert too_large(writes, 5_000) == {"big": len(json.dumps(writes["big"]))}
    assert too_large(writes, 20_000) == {}
