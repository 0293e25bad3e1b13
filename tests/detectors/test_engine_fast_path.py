"""The engine's fast path (compiled levels and episodes, cached industry context) against the plain reference.

Random histories over a few enterprises — registry records, arrears, complaints, suits, blacklistings,
duplicates, events sharing an instant, late events — cut into random batches: both paths must give the
same alerts, the same score updates and the same stored states, bit for bit.
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, event, given, settings, strategies as st

from detectors.engine import DecodedEvent, WageArrearsEngine
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules

DAY = 86400.0
FIRMS = ("91330110MA0000001X", "91330110MA0000002X", "91330110MA0000003X")
RULES = load_rules(DEFAULT_RULES)


def _event(i: int, kind: int, firm: int, day: int, size: int) -> DecodedEvent:
    f = {"event_id": f"e{i}", "enterprise_id": FIRMS[firm]}
    t = day * DAY
    if kind == 0:
        return DecodedEvent("enterprise_registry", {**f, "industry": ("construction", "retail")[size % 2],
                                                    "area_code": "330110001002003", "employees": 10 + 40 * size,
                                                    "name": f"firm {firm}"}, t)
    if kind == 1:
        return DecodedEvent("water_arrears", {**f, "months_overdue": size, "overdue_amount": 900.0 * size,
                                              "usual_monthly_bill": 1000.0, "disconnected": size > 3}, t)
    if kind == 2:
        return DecodedEvent("social_insurance_arrears", {**f, "months_unpaid": size, "amount_owed": 5e3 * size,
                                                         "insured_headcount": 40, "paid_headcount": 40 - 5 * size}, t)
    if kind == 3:
        return DecodedEvent("hotline_complaint", {**f, "area_code": "330110001", "topic": "wage",
                                                  "callers": 1 + size}, t)
    if kind == 4:
        return DecodedEvent("litigation", {**f, "role": "defendant", "amount": 2e4 * (1 + size),
                                           "status": ("filed", "judged_against")[size % 2], "case_type": "labour"}, t)
    if kind == 5:
        return DecodedEvent("court_blacklist", {**f, "action": ("listed", "removed")[size % 2]}, t)
    return DecodedEvent("wage_account", {**f, "project_id": f"p{size % 2}", "payroll_due": 1e5,
                                         "payroll_paid": 1e5 * (1 - size / 5), "period": "2026-01"}, t)


histories = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 240), st.integers(0, 5)),
                     min_size=1, max_size=60)


def _run(fast: bool, events: list[DecodedEvent], cuts: list[int]) -> tuple[list, list, dict]:
    engine, store = WageArrearsEngine(RULES, fast=fast), {}
    engine.fast_min = 0                        # the kernel on every batch, however small
    alerts, updates = [], []
    edges = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for a, b in zip(edges, edges[1:]):
        out = engine.run(events[a:b], store.get)
        store.update(out.touched)
        alerts += out.alerts
        updates += out.score_updates
    return alerts, updates, {k: json.dumps(v.to_dict(), sort_keys=True) for k, v in store.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.lists(st.integers(0, 80), max_size=6), st.randoms(use_true_random=False))
def test_fast_path_gives_the_reference_alerts_updates_and_states(history, cuts, rnd):
    events = [_event(i, *h) for i, h in enumerate(history)]
    events.sort(key=lambda e: e.t)
    for _ in range(len(events) // 8):          # some late deliveries and some duplicates
        k = rnd.randrange(len(events))
        events.insert(rnd.randrange(len(events)), events[k])
    fast, ref = _run(True, events, cuts), _run(False, events, cuts)
    event(f"alerts: {min(len(ref[0]), 3)}")
    assert fast[0] == ref[0]
    assert fast[1] == ref[1]
    assert fast[2] == ref[2]


def test_the_fast_path_is_exercised_by_alerts():
    """A sliding firm raises alerts on both paths (so the property above compares real alerts, not empties)."""
    events = [_event(0, 0, 0, 0, 4)] + [_event(i, k, 0, 30 * m, m) for i, (k, m) in
                                        enumerate(((k, m) for m in range(1, 6) for k in (1, 2, 3)), 1)]
    fast, ref = _run(True, events, [7]), _run(False, events, [7])
    assert fast[0] and fast[0] == ref[0]
    assert any(a["list"] == "inspect_now" for a in fast[0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories, st.lists(st.integers(0, 80), max_size=6))
def test_without_score_updates_the_alerts_and_states_are_the_same(history, cuts):
    events = sorted((_event(i, *h) for i, h in enumerate(history)), key=lambda e: e.t)
    for fast in (True, False):
        engine, store, alerts = WageArrearsEngine(RULES, fast=fast), {}, []
        engine.fast_min, engine.emit_updates = 0, False
        edges = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
        for a, b in zip(edges, edges[1:]):
            out = engine.run(events[a:b], store.get)
            assert out.score_updates == []
            store.update(out.touched)
            alerts += out.alerts
        ref = _run(fast, events, cuts)
        assert alerts == ref[0]
        assert {k: json.dumps(v.to_dict(), sort_keys=True) for k, v in store.items()} == ref[2]
