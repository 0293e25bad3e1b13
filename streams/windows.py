"""Windowed event counts per (subject, topic), closed by a watermark.

Why this exists apart from the Faust agent: the surge detectors need one
count per bucket per (subject, topic) and they need to know the difference
between "nobody complained" (0) and "the hotline feed was down" (missing).
Keeping the counting here — pure Python, no Kafka, no clock — lets the
stream agent and the offline backtest produce identical bucket series.

Rules:

* Buckets are fixed-width (``hour``, ``day``, ``week`` or seconds), aligned on
  ``origin`` (weeks start on Monday 00:00 by default; pass ``utc_offset`` to
  align on local midnight, e.g. ``8 * 3600`` for China Standard Time).
* A bucket ``[start, end)`` closes when the watermark reaches
  ``end + allowed_lateness``. Until then a late event still updates it; after
  that the event is reported as too late and counted, never silently dropped.
* Duplicates (same ``event_id`` in an open bucket) count once. The seen-id set
  lives with its bucket and is dropped when the bucket closes, so memory is
  bounded by the events of the open buckets. A redelivery after its bucket
  closed is indistinguishable from a late event and is reported as too late.
* A bucket in which the whole source sent nothing is closed as *missing*:
  every series gets ``None`` for it, never a zero that would look like a drop
  (or, after it, like a surge).

Example
-------
>>> w = WindowedCounts(bucket="hour", allowed_lateness=600)
>>> w.add("e1", "ent-1", "wages", 3600 * 10 + 5)
<AddOutcome.COUNTED: 'counted'>
>>> w.add("e1", "ent-1", "wages", 3600 * 10 + 5)
<AddOutcome.DUPLICATE: 'duplicate'>
>>> closed = w.advance(watermark=3600 * 13)
>>> [(int(b.start // 3600), b.count(("ent-1", "wages"))) for b in closed]
[(10, 1), (11, None)]
>>> w.add("e2", "ent-1", "wages", 3600 * 10 + 9)
<AddOutcome.TOO_LATE: 'too_late'>
"""
from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Hashable, Iterable, Iterator

Key = tuple[Hashable, Hashable]  # (subject, topic)

BUCKET_SECONDS = {"hour": 3600.0, "day": 86400.0, "week": 7 * 86400.0}
_MONDAY = 4 * 86400.0  # 1970-01-01 was a Thursday


class AddOutcome(str, enum.Enum):
    """What happened to one event."""

    COUNTED = "counted"
    DUPLICATE = "duplicate"
    TOO_LATE = "too_late"


@dataclass(frozen=True)
class ClosedBucket:
    """A final bucket: counts per key, or ``missing`` if the source was silent."""

    start: float
    end: float
    counts: dict[Key, int]
    missing: bool

    def count(self, key: Key) -> int | None:
        """The count for one key: ``None`` when the source was silent."""
        if self.missing:
            return None
        return self.counts.get(key, 0)


@dataclass
class _OpenBucket:
    counts: dict[Key, int] = field(default_factory=dict)
    seen: set[Hashable] = field(default_factory=set)


@dataclass
class WindowStats:
    """Counters an operator can alert on (exported as metrics by the agent)."""

    counted: int = 0
    duplicates: int = 0
    too_late: int = 0
    closed: int = 0
    missing: int = 0


def _to_seconds(t: float | datetime) -> float:
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError(f"event_time must be timezone-aware, got naive {t!r}")
        return t.timestamp()
    v = float(t)
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"event_time must be finite, got {t!r}")
    return v


class WindowedCounts:
    """Fixed-width bucket counts per (subject, topic) for one source."""

    def __init__(
        self,
        bucket: str | float = "day",
        allowed_lateness: float = 0.0,
        utc_offset: float = 0.0,
        origin: float | None = None,
        keep_history: int = 0,
    ) -> None:
        if isinstance(bucket, str):
            if bucket not in BUCKET_SECONDS:
                raise ValueError(f"bucket must be one of {sorted(BUCKET_SECONDS)} or seconds, got {bucket!r}")
            width = BUCKET_SECONDS[bucket]
            default_origin = _MONDAY if bucket == "week" else 0.0
        else:
            width = float(bucket)
            default_origin = 0.0
        if not width > 0:
            raise ValueError(f"bucket width must be > 0 seconds, got {bucket!r}")
        if allowed_lateness < 0:
            raise ValueError(f"allowed_lateness must be >= 0, got {allowed_lateness}")
        self.width = width
        self.allowed_lateness = float(allowed_lateness)
        self.origin = (default_origin if origin is None else float(origin)) - float(utc_offset)
        self.stats = WindowStats()
        self._open: dict[float, _OpenBucket] = {}
        self._closed_until: float | None = None  # end of the last closed bucket
        self._watermark = -math.inf
        self.history: deque[ClosedBucket] = deque(maxlen=keep_history or None)
        self._keep = keep_history

    # ------------------------------------------------------------------ input
    def bucket_start(self, t: float | datetime) -> float:
        """Start of the bucket holding time ``t``."""
        s = _to_seconds(t)
        return math.floor((s - self.origin) / self.width) * self.width + self.origin

    def add(self, event_id: Hashable, subject: Hashable, topic: Hashable,
            event_time: float | datetime) -> AddOutcome:
        """Count one event in its bucket (once per ``event_id``)."""
        start = self.bucket_start(event_time)
        if self._closed_until is not None and start < self._closed_until:
            self.stats.too_late += 1
            return AddOutcome.TOO_LATE
        b = self._open.get(start)
        if b is None:
            b = self._open[start] = _OpenBucket()
        if event_id in b.seen:
            self.stats.duplicates += 1
            return AddOutcome.DUPLICATE
        b.seen.add(event_id)
        key = (subject, topic)
        b.counts[key] = b.counts.get(key, 0) + 1
        self.stats.counted += 1
        return AddOutcome.COUNTED

    def add_many(self, events: Iterable[tuple[Hashable, Hashable, Hashable, float]]) -> dict[AddOutcome, int]:
        """Micro-batch form of :meth:`add`; returns how many of each outcome."""
        out = {o: 0 for o in AddOutcome}
        for ev in events:
            out[self.add(*ev)] += 1
        return out

    # ---------------------------------------------------------------- closing
    @property
    def watermark(self) -> float:
        return self._watermark

    def advance(self, watermark: float | datetime) -> list[ClosedBucket]:
        """Close every bucket whose end + lateness is at or before ``watermark``.

        Buckets between the first event and the watermark that never saw an
        event are closed as missing. A watermark that goes back is ignored.
        """
        wm = _to_seconds(watermark)
        if wm <= self._watermark:
            return []
        self._watermark = wm
        return list(self._close_until(wm - self.allowed_lateness))

    def _close_until(self, limit: float) -> Iterator[ClosedBucket]:
        while True:
            if self._closed_until is None:
                if not self._open:
                    return
                start = min(self._open)  # nothing closed yet: begin at the first event
            else:
                start = self._closed_until
            if start + self.width > limit:
                return
            b = self._open.pop(start, None)
            if b is None or not b.counts:
                c = ClosedBucket(start, start + self.width, {}, missing=True)
                self.stats.missing += 1
            else:
                c = ClosedBucket(start, start + self.width, b.counts, missing=False)
            self.stats.closed += 1
            self._closed_until = start + self.width
            if self._keep:
                self.history.append(c)
            yield c

    # ------------------------------------------------------------ persistence
    def snapshot_bucket(self, start: float) -> dict | None:
        """One open bucket as JSON (None once it closed), so a restarted worker can take it up again."""
        b = self._open.get(start)
        if b is None:
            return None
        return {"counts": [[s, t, n] for (s, t), n in b.counts.items()], "seen": sorted(map(str, b.seen))}

    def restore_bucket(self, start: float, d: dict) -> None:
        start = float(start)
        if self._closed_until is not None and start < self._closed_until:
            return
        self._open[start] = _OpenBucket({(s, t): int(n) for s, t, n in d["counts"]}, set(d["seen"]))

    def snapshot_meta(self) -> dict:
        return {"closed_until": self._closed_until,
                "watermark": self._watermark if math.isfinite(self._watermark) else None}

    def restore_meta(self, d: dict) -> None:
        self._closed_until = None if d["closed_until"] is None else float(d["closed_until"])
        self._watermark = -math.inf if d["watermark"] is None else float(d["watermark"])
        for start in [s for s in self._open if self._closed_until is not None and s < self._closed_until]:
            del self._open[start]

    # ----------------------------------------------------------------- views
    def open_buckets(self) -> list[float]:
        """Starts of buckets still accepting events (for metrics and tests)."""
        return sorted(self._open)

    def series(self, key: Key) -> list[tuple[float, int | None]]:
        """The kept closed history for one key: (bucket start, count or None)."""
        return [(c.start, c.count(key)) for c in self.history]
