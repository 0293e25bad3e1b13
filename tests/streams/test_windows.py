"""Windowed counts: lateness, duplicates, gaps and silent sources."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.windows import AddOutcome, WindowedCounts

H = 3600.0
K = ("91330110MA27XXXX0X", "wages")


def test_counts_per_subject_and_topic() -> None:
    w = WindowedCounts(bucket="hour")
    w.add("a", "e1", "wages", 10 * H + 1)
    w.add("b", "e1", "wages", 10 * H + 2)
    w.add("c", "e1", "noise", 10 * H + 3)
    w.add("d", "e2", "wages", 10 * H + 4)
    (c,) = w.advance(11 * H)
    assert c.count(("e1", "wages")) == 2
    assert c.count(("e1", "noise")) == 1
    assert c.count(("e2", "wages")) == 1
    assert c.count(("e3", "wages")) == 0  # source active, this key quiet: a true zero


def test_duplicates_by_event_id_count_once() -> None:
    w = WindowedCounts(bucket="hour")
    outcomes = [w.add("same", *K, 10 * H + i) for i in range(3)]
    assert outcomes == [AddOutcome.COUNTED, AddOutcome.DUPLICATE, AddOutcome.DUPLICATE]
    (c,) = w.advance(11 * H)
    assert c.count(K) == 1
    assert w.stats.duplicates == 2


def test_late_event_within_lateness_updates_its_bucket() -> None:
    w = WindowedCounts(bucket="hour", allowed_lateness=15 * 60)
    w.add("a", *K, 10 * H + 5)
    w.add("b", *K, 11 * H + 5)
    assert w.advance(11 * H + 10 * 60) == []  # bucket 10 still open: within lateness
    assert w.add("late", *K, 10 * H + 50 * 60) is AddOutcome.COUNTED
    (c,) = w.advance(11 * H + 15 * 60)
    assert (c.start, c.count(K)) == (10 * H, 2)


def test_event_after_lateness_is_reported_not_counted() -> None:
    w = WindowedCounts(bucket="hour", allowed_lateness=60)
    w.add("a", *K, 10 * H)
    w.advance(12 * H)
    assert w.add("z", *K, 10 * H + 30) is AddOutcome.TOO_LATE
    assert w.stats.too_late == 1
    assert w.stats.counted == 1


def test_silent_source_is_missing_not_zero() -> None:
    w = WindowedCounts(bucket="hour", keep_history=10)
    w.add("a", *K, 10 * H)
    w.add("b", "other", "wages", 13 * H)
    closed = w.advance(14 * H)
    assert [c.count(K) for c in closed] == [1, None, None, 0]
    assert [c.missing for c in closed] == [False, True, True, False]
    assert w.stats.missing == 2
    assert w.series(K) == [(10 * H, 1), (11 * H, None), (12 * H, None), (13 * H, 0)]


def test_seen_ids_are_dropped_when_bucket_closes() -> None:
    w = WindowedCounts(bucket="hour")
    for day in range(50):
        for i in range(20):
            w.add(f"{day}-{i}", *K, day * H + i)
        w.advance((day + 1) * H)
    assert len(w.open_buckets()) == 0
    assert sum(len(b.seen) for b in w._open.values()) == 0


def test_early_out_of_order_event_before_first_close_is_counted() -> None:
    w = WindowedCounts(bucket="hour", allowed_lateness=2 * H)
    w.add("b", *K, 10 * H)
    w.advance(10 * H + 30)  # nothing can close yet
    assert w.add("a", *K, 9 * H) is AddOutcome.COUNTED
    closed = w.advance(13 * H)
    assert [(c.start, c.count(K)) for c in closed] == [(9 * H, 1), (10 * H, 1)]


def test_watermark_going_back_is_ignored() -> None:
    w = WindowedCounts(bucket="hour")
    w.add("a", *K, 10 * H)
    assert len(w.advance(12 * H)) == 2
    assert w.advance(11 * H) == []
    assert w.watermark == 12 * H


def test_day_buckets_on_local_midnight_and_weeks_on_monday() -> None:
    cst = timezone(timedelta(hours=8))
    w = WindowedCounts(bucket="day", utc_offset=8 * H)
    t = datetime(2024, 3, 5, 0, 30, tzinfo=cst)  # 16:30 UTC on the 4th
    assert w.bucket_start(t) == datetime(2024, 3, 5, tzinfo=cst).timestamp()
    wk = WindowedCounts(bucket="week")
    t = datetime(2024, 3, 7, 12, tzinfo=timezone.utc)  # a Thursday
    assert wk.bucket_start(t) == datetime(2024, 3, 4, tzinfo=timezone.utc).timestamp()


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="bucket"):
        WindowedCounts(bucket="fortnight")
    w = WindowedCounts()
    with pytest.raises(ValueError, match="timezone-aware"):
        w.add("a", *K, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="finite"):
        w.add("a", *K, float("nan"))


events = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from(["s1", "s2"]), st.integers(0, 20 * 3600)),
    min_size=1, max_size=80,
)


@settings(max_examples=80, deadline=None)
@given(events, st.integers(0, 2 * 3600))
def test_counts_match_a_set_of_unique_ids(evs: list[tuple[int, str, int]], lateness: int) -> None:
    """In-order delivery (with redeliveries) counts each id once, in its bucket."""
    w = WindowedCounts(bucket="hour", allowed_lateness=lateness)
    first: dict[int, tuple[str, int]] = {}
    for eid, subj, t in evs:
        first.setdefault(eid, (subj, t))
    closed = []
    for eid, (subj, t) in sorted(first.items(), key=lambda kv: kv[1][1]):
        w.add(eid, subj, "wages", t)
        w.add(eid, subj, "wages", t)  # redelivery
        closed += w.advance(t)
    closed += w.advance(10**7)
    total = sum(sum(c.counts.values()) for c in closed)
    assert total + w.stats.too_late == len(first)
    assert w.stats.too_late == 0
