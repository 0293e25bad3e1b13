"""What any detector could have seen: the ceiling on recall set by the sources alone.

Why: an engineer comparing thresholds needs to know how much recall is on the
table at all. An episode whose enterprise sent no evidence-bearing event in
the 90 days before it began cannot be warned of by any scorer over these
sources, however it is tuned. The ceilings are generous on purpose (one event
of any strength counts, at its event time, before any delivery delay), so a
detector's recall is always at or below them.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from detectors.engine import DecodedEvent
from detectors.evidence import extract
from simulators.evaluation.backtest import DAY, HORIZON_DAYS
from simulators.world.truth import Truth, epoch0


@dataclass
class EvidenceSeen:
    """Event times of every evidence-bearing event, per enterprise."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def observe(self, batch: list[DecodedEvent]) -> None:
        for ev in batch:
            if ev.enterprise_id and extract(ev.data_class, ev.fields):
                self.times[ev.enterprise_id].append(ev.t)

    def ceiling(self, truth: Truth) -> dict[str, Any]:
        """Shares of scored episodes with evidence before their start, by how much and how early."""
        t0 = epoch0(truth.start)
        counts = {"any_90d": 0, "two_or_more_90d": 0, "any_30_to_90d": 0}
        counts_ns = dict(counts)
        n = n_ns = 0
        for ts in self.times.values():
            ts.sort()
        for e in truth.arrears:
            if not truth.warmup_days <= e.start < truth.days:
                continue
            start = t0 + e.start * DAY
            ts = self.times.get(e.enterprise_id, [])
            window = bisect_right(ts, start) - bisect_left(ts, start - HORIZON_DAYS * DAY)
            early = bisect_right(ts, start - 30 * DAY) - bisect_left(ts, start - HORIZON_DAYS * DAY)
            hits = {"any_90d": window >= 1, "two_or_more_90d": window >= 2, "any_30_to_90d": early >= 1}
            n += 1
            n_ns += not e.sudden
            for k, hit in hits.items():
                counts[k] += hit
                counts_ns[k] += hit and not e.sudden
        return {"episodes": {k: round(v / n, 4) if n else None for k, v in counts.items()},
                "non_sudden": {k: round(v / n_ns, 4) if n_ns else None for k, v in counts_ns.items()}}
