"""Event-time alignment: whatever pace each partition is read at, events come out in event-time order while the
lagging partitions are known, and a stalled partition cannot hold the worker forever."""
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.align import Aligner


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 50), max_size=30), min_size=1, max_size=4),
       st.lists(st.integers(0, 3), max_size=200))
def test_partitions_read_at_any_pace_come_out_in_time_order(partitions, schedule):
    """Each partition is in time order, as a source delivers; the schedule says which one is read next."""
    streams = [sorted(p) for p in partitions]
    pos = [0] * len(streams)
    aligner = Aligner(max_wait=1e9)
    out = []

    def behind():
        return [k for k, s in enumerate(streams) if pos[k] < len(s)]

    for k in schedule + [k for k, s in enumerate(streams) for _ in s]:  # then read everything left
        k %= len(streams)
        if pos[k] < len(streams[k]):
            t = streams[k][pos[k]]
            aligner.read(k, pos[k])
            aligner.hold(k, float(t), (k, pos[k]), (k, pos[k]))
            pos[k] += 1
        out += [h.t for h in aligner.release(behind())]
    assert out == sorted(t for s in streams for t in s)
    assert len(aligner) == 0 and aligner.forced == 0


def test_a_lagging_partition_holds_later_events_back_until_it_passes_them():
    a = Aligner()
    a.hold("fast", 10.0, ("fast", 0), "f10")
    a.hold("fast", 30.0, ("fast", 1), "f30")
    a.hold("slow", 12.0, ("slow", 0), "s12")
    assert [h.event for h in a.release(["slow"])] == ["f10"]
    a.hold("slow", 40.0, ("slow", 1), "s40")
    assert [h.event for h in a.release(["slow"])] == ["s12", "f30"]
    assert [h.event for h in a.release([])] == ["s40"]


def test_a_lagging_partition_that_gave_nothing_yet_holds_everything():
    a = Aligner()
    a.hold("fast", 10.0, ("fast", 0), "f10")
    assert a.release(["silent"]) == []
    assert [h.event for h in a.release([])] == ["f10"]


def test_a_stalled_partition_is_waited_for_at_most_max_wait_seconds_and_the_release_is_counted():
    now = [0.0]
    a = Aligner(max_wait=5.0, clock=lambda: now[0])
    a.hold("fast", 10.0, ("fast", 0), "f10")
    out = a.release(["stalled"])
    while not out and now[0] < 20:   # the worker polls about once a second (its release timer)
        now[0] += 1.0
        out = a.release(["stalled"])
    assert [h.event for h in out] == ["f10"] and now[0] == 6.0
    assert a.forced == 1


def test_at_most_max_held_events_are_held_the_oldest_go_first():
    a = Aligner(max_held=3)
    for i in range(5):
        a.hold("fast", float(i), ("fast", i), i)
    assert [h.event for h in a.release(["slow"])] == [0, 1]
    assert len(a) == 3 and a.forced == 2


def test_a_slow_partition_that_keeps_giving_records_is_waited_for_however_long():
    now = [0.0]
    a = Aligner(max_wait=5.0, clock=lambda: now[0])
    a.hold("fast", 100.0, ("fast", 0), "f100")
    for i in range(20):       # a minute of catch-up, a record every 3 s, all still before the fast one
        now[0] += 3.0
        a.read("slow", i)
        a.hold("slow", float(i), ("slow", i), i)
        assert all(h.t < 100.0 for h in a.release(["slow"]))
    assert [h.event for h in a.release([])] == [19, "f100"] and a.forced == 0


def test_a_partition_read_moments_ago_may_still_bring_an_earlier_event_within_idle():
    now = [0.0]
    a = Aligner(idle=0.5, clock=lambda: now[0])
    a.read("quiet", 0)
    a.hold("quiet", 5.0, ("quiet", 0), "q5")
    a.read("busy", 0)
    a.hold("busy", 9.0, ("busy", 0), "b9")
    assert a.release([]) == []        # both look caught up, but a record may be in flight
    now[0] = 0.3
    a.read("quiet", 1)
    a.hold("quiet", 7.0, ("quiet", 1), "q7")   # it was
    assert [h.event for h in a.release([])] == ["q5"]
    now[0] = 0.9
    assert [h.event for h in a.release([])] == ["q7", "b9"] and a.forced == 0


def test_time_the_worker_itself_spent_busy_does_not_count_as_a_partition_stalling():
    """A first batch that takes long (a compile, a big catch-up) must not make the lagging partitions look
    silent: only time spent waiting for them counts."""
    now = [0.0]
    a = Aligner(max_wait=5.0, clock=lambda: now[0])
    a.hold("fast", 10.0, ("fast", 0), "f10")
    assert a.release(["slow"]) == []
    now[0] = 8.0                      # the worker was busy 8 s; the slow partition gave nothing meanwhile
    assert a.release(["slow"]) == [] and a.forced == 0
    now[0] = 14.0                     # now it really has been silent while we waited... but we also were away 6 s
    assert a.release(["slow"]) == []
    out = []
    while not out:                    # waited, polling every second: after max_wait of real waiting, released
        now[0] += 1.0
        out = a.release(["slow"])
    assert [h.event for h in out] == ["f10"] and now[0] == 20.0 and a.forced == 1


def test_a_revoked_partition_holds_nothing_back_and_its_events_are_dropped():
    """A rebalance gives a partition to another worker: its held events go (the new owner reads them again
    from the last commit), and it no longer holds the others back."""
    a = Aligner(clock=lambda: 0.0)
    a.read("p0", 0)
    a.hold("p0", 5.0, ("t", 0, 0, 0), "e0")
    a.read("p1", 0)
    a.hold("p1", 9.0, ("t", 1, 0, 0), "e1")
    assert a.release(["p0"]) == []          # p0 is behind: nothing after its last event may go
    assert a.forget("p0") == 1
    assert [h.event for h in a.release([])] == ["e1"]
    assert len(a) == 0 and a.forget("p0") == 0


def test_an_event_due_on_the_idle_rule_alone_is_said_so_for_the_caller_to_ask_the_broker():
    """Only then: an event every partition has passed goes without asking, one that waited less than idle
    is not due yet."""
    now = [0.0]
    a = Aligner(idle=0.5, clock=lambda: now[0])
    assert not a.idle_due()
    a.read("quiet", 0)
    a.hold("quiet", 5.0, ("quiet", 0), "q5")
    a.read("busy", 0)
    a.hold("busy", 9.0, ("busy", 0), "b9")
    a.read("busy", 1)
    a.hold("busy", 3.0, ("busy", 1), "b3")
    assert not a.idle_due()                       # b3: both partitions have passed it
    assert [h.event for h in a.release([])] == ["b3"]
    assert not a.idle_due()                       # q5 has waited 0 s of 0.5
    now[0] = 0.6
    assert a.idle_due()
    assert a.release(["quiet"]) == []             # the broker said quiet has more: q5 waits for it
    a.read("quiet", 1)
    a.hold("quiet", 4.0, ("quiet", 1), "q4")      # it had: an earlier event, not overtaken
    assert [h.event for h in a.release([])] == ["q4", "q5", "b9"]  # b9 waited its idle too


def test_a_silent_partition_is_named_once_before_it_stops_holding_the_others_and_a_grant_waits_once_more():
    """The worker seeks a silent partition and grants it one more max_wait before releasing the others past it."""
    now = [0.0]
    a = Aligner(max_wait=5.0, clock=lambda: now[0])
    a.hold("fast", 10.0, ("fast", 0), "f10")
    named = []
    out: list = []
    while not out and now[0] < 30:
        now[0] += 1.0
        for tp in a.silent(["stuck"]):
            named.append((now[0], tp))
            a.grant(tp)
        out = a.release(["stuck"])
    assert named == [(7.0, "stuck")], "named once, when the release would have let the others pass"
    assert [h.event for h in out] == ["f10"] and now[0] == 13.0, "then held max_wait more"
    assert a.forced == 1


def test_a_record_from_the_granted_partition_ends_its_silence_and_the_order_holds():
    now = [0.0]
    a = Aligner(max_wait=5.0, clock=lambda: now[0])
    a.hold("fast", 10.0, ("fast", 0), "f10")
    a.hold("fast", 20.0, ("fast", 1), "f20")
    for _ in range(6):
        now[0] += 1.0
        for tp in a.silent(["stuck"]):
            a.grant(tp)
        assert a.release(["stuck"]) == []
    now[0] += 1.0
    a.read("stuck", 0)               # the seek brought its record
    a.hold("stuck", 15.0, ("stuck", 0), "s15")
    assert [h.event for h in a.release([])] == ["f10", "s15", "f20"]
    assert a.forced == 0 and a.silent(["stuck"]) == []


def test_a_drain_lets_everything_held_go_in_time_order_and_counts_what_a_lagging_partition_might_have_preceded():
    a = Aligner()
    a.hold("fast", 30.0, ("fast", 1), "f30")
    a.hold("fast", 10.0, ("fast", 0), "f10")
    a.hold("slow", 20.0, ("slow", 0), "s20")
    assert [h.event for h in a.release(["slow"], drain=True)] == ["f10", "s20", "f30"]
    assert a.forced == 2, "f30 and s20 came at or after the slow partition's last event"
    assert len(a) == 0
