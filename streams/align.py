"""Event-time alignment across the partitions one worker reads.

Why: the worker reads one topic per data class, and Kafka gives no order
across topics. While the sources are live every partition is caught up and
the order hardly matters, but after a restart, a rebalance or during a replay
the worker catches up on a backlog, and it reads the topics at different
paces: a wage complaint of day 10 would reach an enterprise after its utility
report of day 30, and the decisions (and so the alert ids) would depend on
which topic happened to be read first (issue #19: two clean runs of one log
differed in 16 of 89 alert ids, a kill -9 lost 43–48).

So, as Kafka Streams does with its record timestamps, an event is held back
while a partition that still has records waiting on the broker might bring an
earlier one: every held event older than the last event read from each
partition that is behind is released, in event-time order. A partition that
is caught up holds nothing back, so live latency is unchanged. Two bounds keep
the worker live when a partition stalls: at most ``max_held`` events and
``max_wait`` seconds of holding, then everything held is released (and
counted, so an operator sees it).

No Faust import: the agent says what it read and which partitions are behind;
the handles it passes are given back with the events (it acks them then, so a
held event's offset is never committed before the event is processed).
"""
from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(order=True)
class Held:
    t: float
    order: tuple[Any, ...]
    """(topic, partition, offset, index in the message): ties broken the same way on every run"""
    event: Any = field(compare=False)
    handle: Any = field(compare=False)
    since: float = field(compare=False, default=0.0)
    tp: Any = field(compare=False, default=None)


@dataclass
class Aligner:
    max_held: int = 200_000
    max_wait: float = 10.0
    """seconds a partition that is behind may give nothing before it stops holding the others back"""
    idle: float = 0.0
    """seconds an event waits for a partition that looks caught up but has not yet passed it: the broker's
    high-water mark is known only as of the last fetch, so a record may be in flight (Kafka Streams'
    max.task.idle.ms). An event every partition has passed goes at once."""
    clock: Callable[[], float] = time.monotonic
    forced: int = 0
    """events released before a stalled partition (or the memory bound) allowed: perhaps out of order"""
    _heap: list[Held] = field(default_factory=list)
    _last_t: dict[Hashable, float] = field(default_factory=dict)
    _next_offset: dict[Hashable, int] = field(default_factory=dict)
    _last_read: dict[Hashable, float] = field(default_factory=dict)
    _behind_since: dict[Hashable, float] = field(default_factory=dict)
    _last_release: float | None = None
    _granted: set[Hashable] = field(default_factory=set)
    """partitions given one more ``max_wait`` in their present silence (:meth:`grant`)"""
    _tie: itertools.count = field(default_factory=itertools.count)

    def __len__(self) -> int:
        return len(self._heap)

    def read(self, tp: Hashable, offset: int) -> None:
        """A record was read from ``tp`` (whatever became of it: a dead letter still moves the partition on)."""
        self._next_offset[tp] = max(self._next_offset.get(tp, 0), offset + 1)
        self._last_read[tp] = self.clock()
        self._granted.discard(tp)

    def next_offset(self, tp: Hashable) -> int | None:
        return self._next_offset.get(tp)

    def hold(self, tp: Hashable, t: float, order: tuple[Any, ...], event: Any, handle: Any = None) -> None:
        if math.isfinite(t):
            self._last_t[tp] = max(self._last_t.get(tp, -math.inf), t)
        heapq.heappush(self._heap, Held(t, order + (next(self._tie),), event, handle, self.clock(), tp))

    def forget(self, tp: Hashable) -> int:
        """The partition was taken away (a rebalance): drop what it holds, its new owner reads it again from the
        last commit. How many held events were dropped."""
        kept = [h for h in self._heap if h.tp != tp]
        dropped = len(self._heap) - len(kept)
        heapq.heapify(kept)
        self._heap = kept
        for d in (self._last_t, self._next_offset, self._last_read, self._behind_since):
            d.pop(tp, None)
        self._granted.discard(tp)
        return dropped

    def silent(self, behind: Iterable[Hashable]) -> list[Hashable]:
        """Partitions in ``behind`` that the next :meth:`release` would judge stalled (silent ``max_wait``) and
        that have not had a second chance in this silence.

        Why: every stall seen in the fault suite was records waiting on the broker that the consumer had
        fetched past or never fetched, and a seek brought them (streams/app.py); releasing the others first
        put their events ahead of earlier ones. The caller seeks these partitions and :meth:`grant`\ s each one
        more ``max_wait``; a partition still silent after that holds nothing back, as before.
        """
        now = self.clock()
        if self._last_release is None or now - self._last_release > self.max_wait / 2:
            return []  # the next release forgets who was silent: we were busy, not the partitions
        return [tp for tp in behind if tp in self._behind_since and tp not in self._granted
                and self._silent_for(tp, now) > self.max_wait]

    def _silent_for(self, tp: Hashable, now: float) -> float:
        """Seconds since ``tp`` was last read or first seen behind, whichever is later."""
        return now - max(self._last_read.get(tp, -math.inf), self._behind_since[tp])

    def grant(self, tp: Hashable) -> None:
        """One more ``max_wait`` for ``tp``'s present silence (once: it ends when ``tp`` gives a record)."""
        self._behind_since[tp] = self.clock()
        self._granted.add(tp)

    def idle_due(self) -> bool:
        """Whether the oldest held event would now go on the ``idle`` rule alone: some partition has not passed
        it, and it has waited ``idle`` seconds. The caller should then ask the broker itself whether those
        partitions are caught up (the fetcher's high-water marks are as of its last fetch, and Faust stops
        fetching a partition while its buffer is full) and pass the ones that are not as ``behind``."""
        if not self._heap:
            return False
        head = self._heap[0]
        return head.t >= min(self._last_t.values(), default=math.inf) and self.clock() - head.since >= self.idle

    def release(self, behind: Iterable[Hashable], drain: bool = False) -> list[Held]:
        """The held events that no partition in ``behind`` can still precede, oldest first.

        A partition behind that has not given an event yet holds back everything. One that is behind but
        has given nothing for ``max_wait`` seconds is stalled: it holds nothing back (a slow partition that
        keeps giving records is waited for, however long the catch-up). ``drain``: everything held goes now,
        oldest first (counted in ``forced`` where a partition behind might still have preceded it): for a
        rebalance, which fetches nothing and waits for the held events to be acknowledged, so waiting out
        ``max_wait`` would release the same events in the same order, only later.
        """
        now = self.clock()
        behind = list(behind)
        if self._last_release is not None and now - self._last_release > self.max_wait / 2:
            self._behind_since.clear()  # we were busy (a long batch, a compile), not the partitions silent
        self._last_release = now
        for tp in behind:  # a partition's silence is timed from when it was first seen behind, or last read
            self._behind_since.setdefault(tp, now)
        for tp in [tp for tp in self._behind_since if tp not in behind]:
            del self._behind_since[tp]
            self._granted.discard(tp)
        live = [tp for tp in behind if self._silent_for(tp, now) <= self.max_wait]
        limit = min((self._last_t.get(tp, -math.inf) for tp in live), default=math.inf)
        ordered = min((self._last_t.get(tp, -math.inf) for tp in behind), default=math.inf)
        passed = min(self._last_t.values(), default=math.inf)
        """every partition read so far has given an event later than this"""
        out: list[Held] = []
        heap = self._heap
        while heap and (drain or (heap[0].t < limit and (heap[0].t < passed or now - heap[0].since >= self.idle))
                        or len(heap) > self.max_held):
            h = heapq.heappop(heap)
            self.forced += h.t >= ordered
            out.append(h)
        return out
