"""Records Faust fetched and never handed on, found when its fetch ends and read again at once (issue #19).

Why: faust-streaming 0.15's ``Consumer.getmany`` takes a batch of records from
aiokafka, which moves its position past all of them, and hands them over one
by one; it stops early when the flow is suspended (a rebalance begins) or the
consumer generation changes, and the rest of the batch is dropped. The offset
guard (``streams/offset_guard.py``) finds such a hole when a later record of
the partition arrives. When none does (the partition's last records, then
quiet), nothing arrives at all: the stall watch found it seconds later, and in
the meantime the aligner's bound released held events ahead of the missing
ones (three standby runs of the fault suite, stop 32). Here the records a
fetch returned and getmany did not hand on are known the moment getmany ends.

:func:`not_handed_on` is the pure part; :func:`watch_getmany` wraps one
consumer's ``getmany`` and ``_wait_next_records`` (instance attributes, set
before Faust's fetcher starts, which looks ``getmany`` up once).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


GENERATION_CHANGED = "the consumer generation changed"


@dataclass(frozen=True)
class Dropped:
    """Records of one partition that a fetch returned and getmany did not hand on."""

    tp: Hashable
    first: int
    last: int
    count: int
    reason: str


def not_handed_on(fetched: Mapping[Hashable, Sequence[Any]], handed: Mapping[Hashable, int],
                  reason: str) -> list[Dropped]:
    """Per partition, the fetched records (each with an ``offset``) past the last offset handed on.

    >>> from types import SimpleNamespace as R
    >>> not_handed_on({"a": [R(offset=4), R(offset=5), R(offset=6)], "b": [R(offset=1)]}, {"a": 4, "b": 1}, "flow")
    [Dropped(tp='a', first=5, last=6, count=2, reason='flow')]
    """
    out = []
    for tp, records in fetched.items():
        last = handed.get(tp, -1)
        left = [r.offset for r in records if r.offset > last]
        if left:
            out.append(Dropped(tp, min(left), max(left), len(left), reason))
    return out


def watch_getmany(consumer: Any, on_dropped: Callable[[list[Dropped]], Awaitable[None]]) -> None:
    """Wrap ``consumer.getmany`` so records it fetched and did not hand on go to ``on_dropped`` (as a task: the
    fetch loop never waits on it)."""
    fetch = consumer._wait_next_records
    getmany = consumer.getmany
    last: list[Mapping[Hashable, Sequence[Any]] | None] = [None]
    pending: set[asyncio.Task] = set()

    async def wait_next_records(timeout: float) -> Any:
        records, active = await fetch(timeout)
        last[0] = records
        return records, active

    async def getmany_watched(timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        last[0] = None
        handed: dict[Hashable, int] = {}
        generation = consumer.app.consumer_generation_id
        async for tp, message in getmany(timeout=timeout):
            handed[tp] = message.offset
            yield tp, message
        fetched, last[0] = last[0], None
        if not fetched:
            return
        reason = (GENERATION_CHANGED if consumer.app.consumer_generation_id != generation else
                  "the flow was suspended" if not consumer.flow_active else "the partition was not active")
        dropped = not_handed_on(fetched, handed, reason)
        if dropped:
            task = asyncio.ensure_future(on_dropped(dropped))
            pending.add(task)
            task.add_done_callback(pending.discard)

    consumer._wait_next_records = wait_next_records
    consumer.getmany = getmany_watched
