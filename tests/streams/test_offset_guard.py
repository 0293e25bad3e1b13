"""The offset guard: a partition is read without holes, re-deliveries are dropped, gone records are skipped once."""
from streams.offset_guard import OffsetGuard, Verdict

TP = ("ew.hotline_complaint", 0)


def test_a_partition_read_in_order_is_taken_whole():
    guard = OffsetGuard()
    assert guard.check(TP, 5) is Verdict.UNKNOWN
    guard.start(TP, 5)
    assert [guard.check(TP, o) for o in range(5, 9)] == [Verdict.TAKE] * 4
    assert guard.expected(TP) == 9 and guard.open_holes() == {}


def test_records_after_a_hole_are_dropped_until_the_hole_comes_again():
    """Faust dropped offsets 3-4 during a rebalance and delivered 5 and 6: neither may be scored or acknowledged
    before 3 and 4, and the seek back brings all of them again in order."""
    guard = OffsetGuard()
    guard.start(TP, 0)
    assert [guard.check(TP, o) for o in range(3)] == [Verdict.TAKE] * 3
    assert guard.check(TP, 5) is Verdict.HOLE
    assert guard.check(TP, 6) is Verdict.HOLE
    assert guard.open_holes() == {TP: 3}
    assert guard.seek_due(now=10.0) == {TP: 3}
    assert guard.seek_due(now=10.5) == {}  # one seek at a time
    # the seek races with a fetch already under way: a record beyond the hole and a re-delivered one come first
    assert guard.check(TP, 7) is Verdict.HOLE
    assert guard.check(TP, 1) is Verdict.SEEN
    assert [guard.check(TP, o) for o in range(3, 8)] == [Verdict.TAKE] * 5
    assert guard.open_holes() == {} and guard.holes_found == 1 and guard.holes_closed == 1


def test_a_hole_not_filled_is_sought_again():
    guard = OffsetGuard(reseek_after=2.0)
    guard.start(TP, 10)
    guard.check(TP, 12)
    assert guard.seek_due(now=0.0) == {TP: 10}
    assert guard.seek_due(now=1.0) == {}
    assert guard.seek_due(now=2.5) == {TP: 10}


def test_only_the_broker_saying_the_records_are_gone_skips_them():
    guard = OffsetGuard()
    guard.start(TP, 10)
    assert guard.check(TP, 40) is Verdict.HOLE
    assert guard.log_starts_at(TP, 4) == 0  # the broker still holds 10: no skipping
    assert guard.open_holes() == {TP: 10}
    assert guard.log_starts_at(TP, 30) == 20  # retention removed 10-29
    assert guard.expected(TP) == 30 and guard.open_holes() == {} and guard.records_skipped == 20
    assert guard.check(TP, 30) is Verdict.TAKE


def test_a_partition_taken_away_starts_again_from_its_commit():
    guard = OffsetGuard()
    guard.start(TP, 0)
    guard.check(TP, 0)
    guard.check(TP, 3)
    guard.forget(TP)
    assert guard.open_holes() == {} and not guard.known(TP)
    assert guard.check(TP, 1) is Verdict.UNKNOWN
