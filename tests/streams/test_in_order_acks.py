"""Records reach Faust's commit only as a prefix of what was processed (issue #19: a poison record acknowledged
while the 400 records before it were held let Faust commit past them, and a kill -9 lost them)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.in_order_acks import InOrderAcks


class Message:
    """As Faust's: a reference count, acknowledged for good when it reaches 0."""

    def __init__(self, tp: str, offset: int) -> None:
        self.tp, self.offset, self.refcount, self.acked = tp, offset, 1, False

    def incref(self) -> None:
        self.refcount += 1

    def ack(self, consumer) -> None:
        if not self.acked:
            self.refcount = max(self.refcount - 1, 0)
            if self.refcount == 0:
                self.acked = True
                consumer.append((self.tp, self.offset))


def test_a_dead_letter_after_held_records_waits_for_them():
    committed: list = []
    acks = InOrderAcks(committed)
    held = [Message("registry", k) for k in range(3)]
    poison = Message("registry", 3)
    for m in held:
        acks.read("registry", m, 1)
        m.ack(committed)            # take_events' own ack
    acks.read("registry", poison, 0)
    poison.ack(committed)
    assert committed == []          # offset 3 is done, 0–2 are not: nothing may be committed
    acks.done(held[1])
    assert committed == []
    acks.done(held[0])
    assert committed == [("registry", 0), ("registry", 1)]
    acks.done(held[2])
    assert committed == [("registry", k) for k in range(4)]
    assert acks.outstanding("registry") == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3)), min_size=1, max_size=30),
       st.randoms(use_true_random=False))
def test_what_is_acknowledged_is_always_a_prefix_of_what_is_done(records, rnd):
    committed: list = []
    acks = InOrderAcks(committed)
    offsets = {"a": 0, "b": 0}
    pending = []
    done = set()
    for tp, work in records:
        m = Message(tp, offsets[tp])
        offsets[tp] += 1
        acks.read(tp, m, work)
        m.ack(committed)
        pending += [m] * work
        if work == 0:
            done.add((tp, m.offset))
    rnd.shuffle(pending)
    left = {}
    for m in pending:
        left[id(m)] = left.get(id(m), 0) + 1
    for m in pending:
        acks.done(m)
        left[id(m)] -= 1
        if left[id(m)] == 0:
            done.add((m.tp, m.offset))
        for tp in ("a", "b"):
            acked = [o for t, o in committed if t == tp]
            assert acked == list(range(len(acked)))                       # in offset order, from the start
            assert all((tp, o) in done for o in acked)                     # and only what was processed
    assert sorted(committed) == sorted(done)


def test_a_forgotten_partition_acknowledges_nothing_more():
    committed: list = []
    acks = InOrderAcks(committed)
    m = Message("p", 0)
    acks.read("p", m, 1)
    acks.forget("p")
    acks.done(m)                     # scored after the partition was revoked: the new owner commits it
    assert committed == [] and acks.outstanding("p") == 0
