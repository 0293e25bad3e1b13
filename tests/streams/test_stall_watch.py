"""A partition whose records wait on the broker and reach no agent is found, once per ``after`` seconds."""
from __future__ import annotations

from streams.stall_watch import StallWatch


def test_records_waiting_beyond_an_unmoved_offset_for_after_seconds_is_a_stall_and_again_after_as_long():
    watch = StallWatch(after=30)
    assert not watch.observe("p", 5, 7, now=0)
    assert not watch.observe("p", 5, 7, now=29.9)
    assert watch.observe("p", 5, 7, now=30)
    assert not watch.observe("p", 5, 7, now=45)   # just kicked: not on every call
    assert watch.observe("p", 5, 8, now=60)       # still stuck after another 30 s
    assert watch.stalls == 2


def test_a_partition_that_moves_or_has_nothing_waiting_is_never_a_stall():
    watch = StallWatch(after=30)
    for t in range(0, 300, 10):                   # a busy partition: its offset moves every 10 s
        assert not watch.observe("busy", t, t + 1000, now=t)
    for t in range(0, 300, 10):                   # read to its end: nothing waits
        assert not watch.observe("quiet", 9, 9, now=t)
    assert not watch.observe("unknown", 0, None, now=0)   # the broker did not say
    assert watch.stalls == 0


def test_the_clock_starts_when_records_arrive_not_when_the_offset_last_moved():
    watch = StallWatch(after=30)
    assert not watch.observe("p", 9, 9, now=0)    # caught up for a long time
    assert not watch.observe("p", 9, 10, now=100)  # a record arrives
    assert not watch.observe("p", 9, 10, now=110)
    assert watch.observe("p", 9, 10, now=130)


def test_a_rebalance_or_a_revoked_partition_starts_the_clock_again():
    watch = StallWatch(after=30)
    watch.observe("p", 5, 7, now=0)
    watch.observe("q", 5, 7, now=0)
    watch.forget("p")
    assert not watch.observe("p", 5, 7, now=31)   # a new owner's clock
    watch.reset()
    assert not watch.observe("q", 5, 7, now=32)
    assert not watch.observe("p", 5, 7, now=40)
    assert watch.observe("q", 5, 7, now=62)


def test_the_await_chain_of_a_waiting_task_reaches_the_innermost_wait():
    import asyncio

    from streams.stall_watch import await_chain

    async def innermost(gate: asyncio.Event) -> None:
        await gate.wait()

    async def agent(gate: asyncio.Event) -> None:
        await innermost(gate)

    async def main() -> list[str]:
        gate = asyncio.Event()
        task = asyncio.create_task(agent(gate))
        await asyncio.sleep(0)
        chain = await_chain(task.get_coro())
        gate.set()
        await task
        return chain

    chain = asyncio.run(main())
    names = [line.rsplit(" ", 1)[1] for line in chain]
    assert names[:3] == ["agent", "innermost", "wait"], chain
