"""Complaint surges per street and topic, as the stream worker sees them."""
import numpy as np

from detectors.engine import DecodedEvent
from streams.complaint_surge import ComplaintSurgeTracker

DAY = 86400.0
T0 = 1_767_196_800.0  # 2026-01-01T00:00:00+08:00 is 2025-12-31T16:00Z; any day start will do


def complaints(day: int, n: int, area="330110001002003", topic="wage", prefix="c"):
    return [DecodedEvent("hotline_complaint", {"event_id": f"{prefix}{day}-{i}", "area_code": area, "topic": topic},
                         T0 + day * DAY + 3600 * (1 + i % 10)) for i in range(n)]


def run(days):
    tracker, alerts = ComplaintSurgeTracker(), []
    for batch in days:
        alerts += tracker.process(batch)
    return tracker, alerts


def test_a_surge_on_one_street_alerts_with_the_expected_count():
    rng = np.random.default_rng(3)
    days = [complaints(d, int(rng.poisson(4))) + complaints(d, int(rng.poisson(4)), area="330110002001001", prefix="o")
            for d in range(40)]
    days.append(complaints(40, 30))           # 331 complaints a month at one compound ≈ 11/day; here 30 in a day
    days.append(complaints(43, 1, prefix="x"))  # moves the watermark past the lateness so day 40 closes
    _, alerts = run(days)
    surge = [a for a in alerts if a["changed_at"].startswith("2026-02-0")]
    assert surge, alerts
    assert {a["area_code"] for a in surge} == {"330110001"}
    detail = surge[0]["reasons"][0]["detail"]
    assert detail.startswith("30 on") and "expected" in detail
    expected = float(detail.split("against ")[1].split()[0])
    assert 2.0 < expected < 7.0


def test_steady_load_raises_few_alarms():
    rng = np.random.default_rng(5)
    _, alerts = run([complaints(d, int(rng.poisson(6))) for d in range(120)])
    assert len(alerts) <= 2  # alpha 0.001 over ~120 daily decisions


def test_duplicates_and_late_events_within_lateness_count_once_in_their_bucket():
    tracker = ComplaintSurgeTracker()
    day0 = complaints(0, 5)
    tracker.process(day0 + day0)                                   # redelivered batch
    tracker.process(complaints(1, 2) + [complaints(0, 6)[-1]])      # one late event for day 0
    closed = tracker.windows.advance(T0 + 4 * DAY)
    counts = {b.start: b.count(("330110001", "wage")) for b in closed}
    assert sorted(counts.values())[-2:] == [2, 6]
    assert tracker.windows.stats.duplicates == 5


def test_a_silent_source_is_missing_not_a_drop():
    tracker, alerts = run([complaints(d, 6) for d in range(30)] + [complaints(45, 6)])
    assert not alerts, "a fortnight of silence must not alarm, in either direction"
    assert tracker.windows.stats.missing >= 10


def test_a_count_against_a_flat_baseline_gives_a_finite_contribution():
    """Issue #19: two complaints a day for weeks, then more: the baseline's sd is 0, p is 0, and the
    contribution was Infinity, which PostgreSQL's JSON refuses (the sink stalled on it)."""
    import json
    import math

    days = [complaints(d, 2) for d in range(20)] + [complaints(20, 9), complaints(23, 2, prefix="x")]
    _, alerts = run(days)
    assert alerts
    for a in alerts:
        json.dumps(a, allow_nan=False)  # raises on Infinity or NaN anywhere in the payload
        assert all(math.isfinite(r["contribution"]) for r in a["reasons"])
    # issue #22: the predictive p of 9 against a flat 2 a day is small but not 0 (it was 0, then capped at 300)
    assert 3.0 < max(r["contribution"] for a in alerts for r in a["reasons"]) < 300.0
    days = [complaints(d, 2) for d in range(20)] + [complaints(20, 1000), complaints(23, 2, prefix="x")]
    _, alerts = run(days)
    assert max(r["contribution"] for a in alerts for r in a["reasons"]) == 300.0   # capped, still the rarest
    assert alerts[0]["level"] == "red"
