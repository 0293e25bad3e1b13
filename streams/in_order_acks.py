"""Acknowledge a partition's records to Faust only in offset order.

Why: Faust commits the first run of consecutive acknowledged offsets it
holds, and checks that the run starts where the last commit ended only when
that commit was above 0 — and even then lets one offset slip (faust-streaming
0.15, ``Consumer._new_offset``). The worker holds records back for event-time
order (streams/align.py) while the records after them may be acknowledged at
once: a dead letter, a record of a partition that caught up. Measured in the
fault suite: a poison record at offset 400 of the registry topic was
acknowledged while offsets 0–399 waited, Faust committed 401, the worker was
killed, and its successor never saw the registry — every firm lost its
industry and 21 of 26 alert ids changed (issue #19).

So each record read is held (one reference) until it and every record read
before it on its partition are done; only then is it acknowledged, so what
Faust may commit is always a prefix of what was processed. No Faust import:
``message`` is anything with ``incref()`` and ``ack(consumer)``.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any


class InOrderAcks:
    """Outstanding work per record read, acknowledged in the order the records were read."""

    def __init__(self, consumer: Any = None) -> None:
        self.consumer = consumer
        self._queues: dict[Hashable, deque[list[Any]]] = {}
        """partition → [message, outstanding work] in read order"""
        self._entry: dict[int, list[Any]] = {}
        """id(message) → its entry"""

    def read(self, tp: Hashable, message: Any, work: int) -> None:
        """A record was read and ``work`` events of it are held (0: nothing held, e.g. a dead letter)."""
        entry = self._entry.get(id(message))
        if entry is None:
            message.incref()
            entry = [message, 0, tp]
            self._entry[id(message)] = entry
            self._queues.setdefault(tp, deque()).append(entry)
        entry[1] += work
        self._drain(tp)

    def done(self, message: Any) -> None:
        """One held event of ``message`` was processed."""
        entry = self._entry.get(id(message))
        if entry is None:
            return
        entry[1] -= 1
        self._drain(entry[2])

    def forget(self, tp: Hashable) -> None:
        """The partition was taken away (a rebalance): its records will be read again by whoever gets it."""
        for entry in self._queues.pop(tp, ()):
            self._entry.pop(id(entry[0]), None)

    def outstanding(self, tp: Hashable) -> int:
        """Records of ``tp`` read but not yet acknowledged."""
        return len(self._queues.get(tp, ()))

    def _drain(self, tp: Hashable) -> None:
        queue = self._queues.get(tp)
        while queue and queue[0][1] <= 0:
            message = queue.popleft()[0]
            del self._entry[id(message)]
            message.ack(self.consumer)
