"""The wage-arrears engine: dedup, escalation-only announcements, hysteresis, ids, order."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from detectors.engine import DecodedEvent, WageArrearsEngine
from detectors.evidence import EXTRACTORS, extract
from detectors.levels import next_level
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules

E = "91350100M000100Y43"
DAY = 86400.0


@pytest.fixture
def engine():
    return WageArrearsEngine(load_rules(DEFAULT_RULES))


def registry(t=0.0):
    return DecodedEvent("enterprise_registry", {"event_id": "reg", "enterprise_id": E, "industry": "construction",
                                                "area_code": "330110001002003", "employees": 200, "name": "Acme"}, t)


def slide(month: int, prefix="") -> list[DecodedEvent]:
    """Month ``month`` of an enterprise sliding into arrears."""
    t = month * 30 * DAY
    return [
        DecodedEvent("water_arrears", {"event_id": f"{prefix}w{month}", "enterprise_id": E, "months_overdue": month,
                                       "overdue_amount": 2000.0 * month, "usual_monthly_bill": 2000.0}, t),
        DecodedEvent("social_insurance_arrears", {"event_id": f"{prefix}s{month}", "enterprise_id": E,
                                                  "months_unpaid": month, "amount_owed": 1e4 * month,
                                                  "insured_headcount": 200, "paid_headcount": 200 - 30 * month}, t),
        DecodedEvent("hotline_complaint", {"event_id": f"{prefix}c{month}", "enterprise_id": E, "area_code": "330110001",
                                           "topic": "wage", "callers": 1}, t),
    ]


def run_all(engine, events):
    store: dict = {}
    out = engine.run(events, store.get)
    return out, out.touched.get(E)


def test_sliding_enterprise_is_alerted_once_per_level_with_reasons(engine):
    events = [registry()] + [e for m in range(1, 6) for e in slide(m)]
    out, state = run_all(engine, events)
    now = [a for a in out.alerts if a["list"] == "inspect_now"]
    levels = [a["level"] for a in now]
    assert "closed" not in levels, "a firm sliding deeper every month stays on the list"
    assert levels == sorted(levels, key=["blue", "yellow", "red"].index), levels
    assert len(levels) == len(set(levels)) >= 2
    assert len({a["alert_id"] for a in now}) == 1, "one open alert per enterprise, updated on escalation"
    assert not [a for a in out.alerts if a["list"] == "early_warning" and a["status"] == "open"
                and a["episode_start"] >= now[0]["episode_start"]], "not put on both lists at once"
    last = now[-1]
    assert last["rules_version"] == engine.rules.version
    assert last["expected_harm"] == pytest.approx(last["score"] * 200, rel=1e-3)
    ids = {e.event_id for e in events}
    named = [r for r in last["reasons"] if r["event_id"]]
    assert named and all(r["event_id"] in ids for r in named), "reasons name the firm's own events"
    assert {r["signal"] for r in named} & {"social_insurance", "utility_arrears", "complaints", "complaint_surge"}
    contributions = [r["contribution"] for r in last["reasons"]]
    assert contributions == sorted(contributions, reverse=True), "strongest reason first"
    assert all(np.isfinite(c) and c > 0 for c in contributions)


def test_duplicates_are_counted_once(engine):
    events = [registry()] + [e for m in range(1, 4) for e in slide(m)]
    once, _ = run_all(engine, events)
    twice, _ = run_all(engine, events + events)
    assert twice.duplicates == len(events)
    assert [u["score"] for u in twice.score_updates] == [u["score"] for u in once.score_updates]


def test_replay_gives_the_same_alert_ids(engine):
    events = [registry()] + [e for m in range(1, 6) for e in slide(m)]
    a, _ = run_all(engine, events)
    b, _ = run_all(WageArrearsEngine(load_rules(DEFAULT_RULES)), list(reversed(events)))
    assert [x["alert_id"] for x in a.alerts] == [x["alert_id"] for x in b.alerts]


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(range(6))))
def test_order_of_events_in_one_instant_does_not_matter(perm):
    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    same_instant = slide(3) + slide(3, prefix="x") + [registry(3 * 30 * DAY)]
    shuffled = [same_instant[i] for i in perm] + same_instant[6:]
    a, _ = run_all(engine, same_instant)
    b, _ = run_all(engine, shuffled)
    assert a.score_updates == b.score_updates


def test_score_decays_without_new_evidence(engine):
    events = [registry()] + [e for m in range(1, 4) for e in slide(m)]
    store: dict = {}
    out = engine.run(events, store.get)
    store.update(out.touched)
    before = out.score_updates[-1]["score"]
    later = engine.run([DecodedEvent("market_penalty", {"event_id": "n1", "enterprise_id": E, "kind": "removed_from_abnormal"},
                                     400 * DAY)], store.get)
    assert later.score_updates[-1]["score"] < before
    assert later.alerts and later.alerts[-1]["status"] == "closed"


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(EXTRACTORS)), st.integers(0, 12), st.integers(0, 12))
def test_more_months_overdue_is_never_less_evidence(cls, a, b):
    lo, hi = sorted((a, b))
    def strength(months):
        f = {"enterprise_id": E, "months_overdue": months, "overdue_amount": 1000.0 * months, "usual_monthly_bill": 1000.0,
             "months_unpaid": months, "insured_headcount": 50, "paid_headcount": 50}
        return sum(e.strength for e in extract(cls, f))
    assert strength(lo) <= strength(hi)


@given(st.floats(0, 1), st.floats(0, 1))
def test_hysteresis_needs_a_real_drop_to_leave_a_level(start, wobble):
    thr = (0.3, 0.5, 0.7)
    lvl = int(next_level(0, 0.55, thr, 0.05))
    assert lvl == 2
    # a score hovering within the hysteresis band stays at yellow
    for s in (0.49, 0.51, 0.46, 0.5, 0.455):
        lvl = int(next_level(lvl, s, thr, 0.05))
        assert lvl == 2
    assert int(next_level(lvl, 0.44, thr, 0.05)) == 1
    assert 0 <= int(next_level(0, start, thr, wobble * 0.29)) <= 3


def test_batch_arrays_give_the_stream_scores():
    """The evidence's array form over many enterprises equals one-at-a-time, and so does each list's model."""
    from detectors.decay import EvidenceParams, apply_evidence
    from detectors.engine import SIGNALS
    from detectors.features import FEATURES
    rules = load_rules(DEFAULT_RULES)
    p = EvidenceParams.from_rules(rules, SIGNALS)
    rng = np.random.default_rng(1)
    ev = rng.uniform(0, 2, size=(50, len(SIGNALS)))
    rows = rng.integers(0, 50, 200)
    sig = rng.integers(0, len(SIGNALS), 200)
    strength = rng.uniform(0, 1, 200)
    batch = apply_evidence(ev, sig, strength, p, rows=rows)
    single = np.array([apply_evidence(ev[r], sig[rows == r], strength[rows == r], p) for r in range(50)])
    assert np.allclose(batch, single)
    X = rng.uniform(0, 3, size=(300, len(FEATURES)))
    for lst in rules.lists.values():
        model = lst.scorer()
        assert np.allclose(model.raw(X), [model.raw(x[None, :])[0] for x in X])
        # the compiled walk and the numpy walk reach the same leaves
        assert np.allclose(model.raw(X), model.base + model.value[model.leaves(X)].sum(axis=1), atol=1e-12)
        for x in X[:20]:          # what an alert's reasons add up to: the score's log-odds above the base
            assert model.contributions(x).sum() == pytest.approx(model.raw(x[None, :])[0] - model.expected, abs=1e-9)


def _report(i: int, kind: int, day: float) -> DecodedEvent:
    f = {"event_id": f"r{i}", "enterprise_id": E}
    if kind == 0:
        return DecodedEvent("water_arrears", {**f, "months_overdue": 1, "overdue_amount": 900.0,
                                              "usual_monthly_bill": 1000.0}, day * DAY)
    if kind == 1:
        return DecodedEvent("social_insurance_arrears", {**f, "months_unpaid": 1, "amount_owed": 5e3,
                                                         "insured_headcount": 40, "paid_headcount": 36}, day * DAY)
    return DecodedEvent("litigation", {**f, "role": "defendant", "amount": 2e4, "status": "filed"}, day * DAY)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 180)), min_size=1, max_size=5, unique_by=lambda x: x[1]),
       st.randoms(use_true_random=False))
def test_late_deliveries_change_the_path_not_where_the_evidence_ends(reports, rnd):
    """A late record is aged into the state rather than rewinding it. Decay is linear and commutes with max,
    so (caps not binding) the evidence, and so the score, after the last record does not depend on the
    order of delivery; only the levels passed through on the way may differ (README, stream vs backtest)."""
    events = [_report(i, kind, day) for i, (kind, day) in enumerate(reports)]
    arrival = events[:]
    rnd.shuffle(arrival)

    def deliver(order):
        engine, store = WageArrearsEngine(load_rules(DEFAULT_RULES)), {}
        for ev in order:  # one record per micro-batch, the worst case for a late one
            store.update(engine.run([ev], store.get).touched)
        return store[E]

    in_order, late = deliver(sorted(events, key=lambda e: e.t)), deliver(arrival)
    assert in_order.t == late.t
    assert np.allclose(in_order.evidence, late.evidence, rtol=1e-9, atol=1e-12)
