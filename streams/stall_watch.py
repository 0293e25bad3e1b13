"""Notice a source partition that has records on the broker but brings none to the agent.

Why: a worker restarted after kill -9 once recovered its table, logged "Worker ready" and then read nothing
for two minutes while a record waited on the broker (CI, test_seed_gathering, twice). Faust has stuck
fetchers of its own on record (faust-streaming issue #21), and a partition Faust set aside while its buffer
was full is only taken back when that buffer drains. Whatever the cause, an officer must not wait on a
worker that looks healthy and reads nothing: the app asks the broker for the partition ends now and then,
and a partition whose next offset has not moved for ``after`` seconds while the broker holds more is
kicked (sought to that offset, and fetched again if Faust had set it aside). The offset guard
(streams/offset_guard.py) drops what a seek brings twice, so a kick is safe even when it was not needed.
No Faust import; the app does the asking and the kicking.

Seen in a standby takeover of the fault suite (stop 32): the new owner fetched every partition but
``ew.wage_account``, whose 16 records waited 40 s; the aligner's bound (``EW_ALIGN_MAX_WAIT``, 10 s) let 4,683
held events go ahead of them. So ``after`` is 5 s, below that bound, and the app judges only while its agent
is between batches (a busy agent is not a stuck fetcher).
"""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass
class StallWatch:
    """Per partition: the next offset the agent needs and since when it has not moved while records wait."""

    after: float = 5.0
    """seconds a partition may have records waiting on the broker without any reaching the agent"""
    stalls: int = 0
    """kicks so far"""
    _waiting: dict[Hashable, tuple[int, float]] = field(default_factory=dict)
    """partition -> (next offset, monotonic time since which it has been that with records beyond it)"""

    def observe(self, tp: Hashable, next_offset: int, end: int | None, now: float) -> bool:
        """``tp`` will be read from ``next_offset`` and the broker's log ends at ``end``: is it stalled?

        True once records have waited beyond an unmoved ``next_offset`` for ``after`` seconds; the clock then
        starts again, so a partition still stuck is kicked again ``after`` seconds later, not on every call.
        """
        if end is None or end <= next_offset:
            self._waiting.pop(tp, None)
            return False
        seen = self._waiting.get(tp)
        if seen is None or seen[0] != next_offset:
            self._waiting[tp] = (next_offset, now)
            return False
        if now - seen[1] < self.after:
            return False
        self._waiting[tp] = (next_offset, now)
        self.stalls += 1
        return True

    def forget(self, tp: Hashable) -> None:
        """The partition was taken away (its new owner watches it), or is not stalled after all."""
        self._waiting.pop(tp, None)

    def reset(self) -> None:
        """A rebalance or a recovery is under way: nothing is read meanwhile by design; start again after it."""
        self._waiting.clear()


def await_chain(coro: object) -> list[str]:
    """Where a coroutine waits, outermost first ("file:line function"), following what each part awaits.

    ``Task.get_stack`` gives only the outermost frame of a suspended coroutine; a stall report needs the
    innermost (inside Faust's ``take_events``, or an aiokafka call that never answers).
    """
    out = []
    seen = 0
    while coro is not None and seen < 100:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            out.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        coro = (getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
                or getattr(coro, "ag_await", None))
        seen += 1
    return out
