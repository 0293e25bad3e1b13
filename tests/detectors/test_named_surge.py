"""Complaint surges per enterprise: this week's wage complaints against the enterprise's own history."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from detectors.engine import DecodedEvent, WageArrearsEngine
from detectors.enterprise import EnterpriseState
from detectors.named_surge import NamedSurge, observe
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules

DAY = 86400.0
E = "91350100M000100Y43"


def history(weekly: list[int]) -> NamedSurge | None:
    s = None
    for week, n in enumerate(weekly):
        if n:
            s, _ = observe(s, (week * 7 + 1) * DAY, n)
    return s


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=0, max_size=12), st.integers(1, 8), st.integers(0, 4))
def test_more_complaints_this_week_is_never_less_surprising(past, n, more):
    s = history(past)
    week = len(past) + 1
    _, a = observe(s, (week * 7 + 2) * DAY, n)
    _, b = observe(s, (week * 7 + 2) * DAY, n + more)
    assert b.statistic >= a.statistic - 1e-9


def test_a_usual_complaint_count_is_weaker_evidence_than_the_same_count_out_of_the_blue():
    noisy = history([2, 1, 2, 3, 1, 2, 2, 1, 2, 2])    # a shop that is always named
    quiet = history([0] * 9 + [1])
    _, r_noisy = observe(noisy, (11 * 7 + 1) * DAY, 2)
    _, r_quiet = observe(quiet, (11 * 7 + 1) * DAY, 2)
    assert r_noisy.expected > r_quiet.expected
    assert r_noisy.statistic < r_quiet.statistic
    assert not r_noisy.alarm


def test_quiet_weeks_count_as_zeros_and_the_state_round_trips():
    s = history([1, 0, 0, 0, 0, 0])
    again = NamedSurge.from_dict(s.to_dict())
    _, a = observe(s, (6 * 7 + 1) * DAY, 1)
    _, b = observe(again, (6 * 7 + 1) * DAY, 1)
    assert a == b
    assert a.expected == pytest.approx(1 / 7), "five quiet weeks (and the empty start) are zeros, not missing"


def test_a_late_complaint_counts_in_the_open_week():
    s, _ = observe(None, 30 * DAY, 1)
    s2, _ = observe(s, 3 * DAY, 1)       # four weeks late
    assert s2.week == s.week and s2.count == 2


def wage_complaint(i: int, t: float, topic: str = "wage") -> DecodedEvent:
    return DecodedEvent("hotline_complaint", {"event_id": f"c{i}", "enterprise_id": E, "area_code": "330110001",
                                              "topic": topic, "callers": 1}, t)


def test_a_burst_of_wage_complaints_is_a_reason_an_inspector_can_read():
    rules = load_rules(DEFAULT_RULES)
    engine = WageArrearsEngine(rules)
    store: dict = {}
    events = [wage_complaint(i, 200 * DAY + i * 3600.0) for i in range(4)]
    out = engine.run(events, store.get)
    state = out.touched[E]
    assert state.named is not None and state.named.count == 4
    i = engine.params.signals.index("complaint_surge")
    assert state.evidence[i] > 0
    text = state.behind["complaint_surge"][1]
    assert text.startswith("4 wage complaint(s) or petition(s) naming it this week, against 0.0")
    restored = EnterpriseState.from_dict(state.to_dict())
    assert restored.named is not None and restored.named.to_dict() == state.named.to_dict()


def test_complaints_on_other_topics_do_not_feed_the_surge_channel():
    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    out = engine.run([wage_complaint(i, 100 * DAY + i, topic="consumer") for i in range(5)], {}.get)
    assert out.touched[E].named is None
    assert "complaint_surge" not in out.touched[E].to_dict()["why"]


@pytest.mark.parametrize("split", [1, 2, 3])
def test_the_same_complaints_give_the_same_score_however_they_are_batched(split):
    rules = load_rules(DEFAULT_RULES)
    events = [wage_complaint(i, (100 + 2 * i) * DAY) for i in range(6)]
    one = WageArrearsEngine(rules).run(events, {}.get).score_updates
    store: dict = {}
    engine = WageArrearsEngine(rules)
    updates = []
    for k in range(0, 6, split):
        out = engine.run(events[k:k + split], store.get)
        store.update({e: EnterpriseState.from_dict(s.to_dict()) for e, s in out.touched.items()})
        updates += out.score_updates
    assert [u["score"] for u in updates] == pytest.approx([u["score"] for u in one], abs=1e-6)
