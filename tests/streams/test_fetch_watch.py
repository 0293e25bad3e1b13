"""Records a fetch returned and Faust's getmany did not hand on are reported with the reason (streams/fetch_watch.py).

The consumer here is a stand-in with Faust's shape: ``getmany`` looks ``_wait_next_records`` up on the instance and
stops handing records over when the flow is suspended, as faust-streaming 0.15's does. What is tested is the
watch; the fault suite (tests/e2e/test_faults.py) runs it inside a real worker.
"""
import asyncio
from types import SimpleNamespace

from streams.fetch_watch import Dropped, watch_getmany


class StandIn:
    def __init__(self, records, suspend_after=None, new_generation_after=None):
        self.app = SimpleNamespace(consumer_generation_id=1)
        self.flow_active = True
        self.records = records
        self.suspend_after = suspend_after
        self.new_generation_after = new_generation_after

    async def _wait_next_records(self, timeout):
        return self.records, set(self.records)

    async def getmany(self, timeout):
        records, _ = await self._wait_next_records(timeout)
        gen = self.app.consumer_generation_id
        n = 0
        for tp, recs in records.items():
            for r in recs:
                if not self.flow_active or self.app.consumer_generation_id != gen:
                    return
                yield tp, r
                n += 1
                if n == self.suspend_after:
                    self.flow_active = False
                if n == self.new_generation_after:
                    self.app.consumer_generation_id += 1


def rec(offset):
    return SimpleNamespace(offset=offset)


def drain(consumer):
    seen, reported = [], []

    async def on_dropped(dropped):
        reported.extend(dropped)

    async def main():
        watch_getmany(consumer, on_dropped)
        async for tp, r in consumer.getmany(timeout=1.0):
            seen.append((tp, r.offset))
        await asyncio.sleep(0)  # the report runs as a task

    asyncio.run(main())
    return seen, reported


def test_records_left_when_the_flow_is_suspended_are_reported():
    consumer = StandIn({"a": [rec(10), rec(11), rec(12)], "b": [rec(3), rec(4)]}, suspend_after=2)
    seen, reported = drain(consumer)
    assert seen == [("a", 10), ("a", 11)]
    assert reported == [Dropped("a", 12, 12, 1, "the flow was suspended"), Dropped("b", 3, 4, 2, "the flow was suspended")]


def test_a_new_generation_is_named_as_the_reason():
    _, reported = drain(StandIn({"a": [rec(0), rec(1)]}, new_generation_after=1))
    assert reported == [Dropped("a", 1, 1, 1, "the consumer generation changed")]


def test_a_fetch_handed_on_whole_reports_nothing():
    seen, reported = drain(StandIn({"a": [rec(0), rec(1)], "b": [rec(7)]}))
    assert len(seen) == 3 and reported == []
