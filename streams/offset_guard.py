"""Read each source partition without holes: a record that never reached the agent is fetched again.

Why: faust-streaming 0.15 hands a fetched record to the agent with
``wait_first(callback(message), suspend_flow.wait())`` and then marks it read
whether or not the callback finished. When a rebalance starts while a fetched
batch is being handed over, every record left in it is dropped and counted as
read (``Consumer._drain_messages``); Faust also treats a jump in offsets as a
range already acknowledged (``_add_gap``) and lets one unacknowledged offset
slip at the head of a commit (``_new_offset``). So the records after the hole
were scored and acknowledged, the commit moved past the hole, and the records
in it were never scored by any worker life. Measured in the fault suite before
this guard: one hotline complaint in 1 of 7 SQLite kill runs, 21 consecutive
ones in 1 of 8 PostgreSQL kill runs (issue #19).

The guard knows, per partition, the next offset the agent must see. A record
at that offset is taken; one below it was taken before (a re-delivery after a
seek) and is dropped; one above it means a hole: it is dropped too and the
consumer is sought back to the hole, so the missing records and the ones after
them come again in order. A hole is accepted only when the broker says the
records are gone (the log now starts after it: retention). No Faust import;
the app does the seeking.
"""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    TAKE = "take"
    """the next record of its partition: process it"""
    SEEN = "seen"
    """read before (a re-delivery after a seek): drop it, its first copy is being processed"""
    HOLE = "hole"
    """records before it were never delivered: drop it and seek back (``OffsetGuard.seek_due``)"""
    UNKNOWN = "unknown"
    """the partition's start is not known yet: ``start`` it, then check again"""


@dataclass
class _Hole:
    at: int
    """the first offset not delivered"""
    sought_at: float | None = None
    """monotonic time of the last seek back to it"""


@dataclass
class OffsetGuard:
    """The next offset expected per partition, and the holes waiting for a seek back."""

    reseek_after: float = 2.0
    """seconds before seeking again to a hole still open (a seek can race with a fetch already under way)"""
    _next: dict[Hashable, int] = field(default_factory=dict)
    _holes: dict[Hashable, _Hole] = field(default_factory=dict)
    holes_found: int = 0
    holes_closed: int = 0
    records_skipped: int = 0
    """offsets the broker no longer holds, accepted as gone"""

    def known(self, tp: Hashable) -> bool:
        return tp in self._next

    def start(self, tp: Hashable, offset: int) -> None:
        """The partition was assigned and will be read from ``offset`` (its committed offset, or the log start)."""
        self._next[tp] = offset
        self._holes.pop(tp, None)

    def forget(self, tp: Hashable) -> None:
        """The partition was taken away; whoever gets it next starts from its committed offset."""
        self._next.pop(tp, None)
        self._holes.pop(tp, None)

    def check(self, tp: Hashable, offset: int) -> Verdict:
        """What to do with the record at ``offset`` of ``tp``; a TAKE advances the expected offset."""
        expected = self._next.get(tp)
        if expected is None:
            return Verdict.UNKNOWN
        if offset == expected:
            self._next[tp] = offset + 1
            if self._holes.pop(tp, None) is not None:
                self.holes_closed += 1
            return Verdict.TAKE
        if offset < expected:
            return Verdict.SEEN
        hole = self._holes.get(tp)
        if hole is None or hole.at != expected:
            hole = self._holes[tp] = _Hole(at=expected)
            self.holes_found += 1
        return Verdict.HOLE

    def expected(self, tp: Hashable) -> int | None:
        return self._next.get(tp)

    def seek_due(self, now: float) -> dict[Hashable, int]:
        """Partitions to seek back now, with the offset to seek to; marks them sought."""
        due = {}
        for tp, hole in self._holes.items():
            if hole.sought_at is None or now - hole.sought_at >= self.reseek_after:
                hole.sought_at = now
                due[tp] = hole.at
        return due

    def open_holes(self) -> dict[Hashable, int]:
        """Partitions waiting for a hole to be re-delivered, with its offset."""
        return {tp: hole.at for tp, hole in self._holes.items()}

    def log_starts_at(self, tp: Hashable, log_start: int) -> int:
        """The broker's log for ``tp`` now starts at ``log_start``: offsets before it are gone for good.

        Moves the expected offset up to it if it was lower (closing a hole there) and returns how many
        offsets were given up, so the caller can say so and let the commit pass them.
        """
        expected = self._next.get(tp)
        if expected is None or log_start <= expected:
            return 0
        self._next[tp] = log_start
        hole = self._holes.get(tp)
        if hole is not None and hole.at < log_start:
            del self._holes[tp]
        self.records_skipped += log_start - expected
        return log_start - expected
