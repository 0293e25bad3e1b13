"""What any detector could have seen: the ceiling on recall set by the sources alone.

Why: an engineer comparing thresholds needs to know how much recall is on the
table at all. An episode whose enterprise had no unusual evidence *delivered*
in the 90 days before it began cannot be warned of by any scorer over these
sources, however it is tuned. Evidence counts by its delivery time (a record
that arrives after the onset could not have warned of it), and only when it is
unusual for the firm: its first evidence of that kind in a year, or stronger
than any of that kind in the year before (a firm that has paid social
insurance one month late every quarter for years shows nothing new by doing so
again). Otherwise the ceilings are generous on purpose (one such event of any
strength counts), so a detector's recall is always at or below them.
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

HABIT_DAYS = 365.0
"""How far back a firm's own evidence makes a new event of the same kind usual."""


@dataclass
class EvidenceSeen:
    """Delivery times of every evidence-bearing event that was unusual for its firm, per enterprise."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    all_times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """delivery times of all evidence, usual or not: the hard bound (no alert without a delivery)"""
    past: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    """(enterprise, signal) → (event time, strength) of its evidence in the last year"""
    seen_ids: set[str] = field(default_factory=set)

    def observe(self, batch: list[DecodedEvent]) -> None:
        for ev in batch:
            if not ev.enterprise_id or ev.event_id in self.seen_ids:
                continue
            evidence = extract(ev.data_class, ev.fields)
            if not evidence:
                continue
            self.seen_ids.add(ev.event_id)
            unusual = False
            for e in evidence:
                hist = self.past.setdefault((ev.enterprise_id, e.signal), [])
                hist[:] = [(t, x) for t, x in hist if ev.t - t <= HABIT_DAYS * DAY]
                unusual |= e.strength > max((x for t, x in hist if t < ev.t), default=0.0)
                hist.append((ev.t, e.strength))
            delivered = ev.t if ev.at is None else max(ev.t, ev.at)
            self.all_times[ev.enterprise_id].append(delivered)
            if unusual:
                self.times[ev.enterprise_id].append(delivered)

    def ceiling(self, truth: Truth) -> dict[str, Any]:
        """Shares of scored episodes with unusual evidence delivered before their start, by how much and how early.

        ``any_evidence_90d`` counts any evidence delivered in the 90 days, usual or not: no alert can be
        raised without a delivery, so every recall is at or below it.
        """
        t0 = epoch0(truth.start)
        counts = {"any_90d": 0, "two_or_more_90d": 0, "any_30_to_90d": 0, "any_evidence_90d": 0}
        counts_ns = dict(counts)
        n = n_ns = 0
        for ts in (*self.times.values(), *self.all_times.values()):
            ts.sort()
        for e in truth.arrears:
            if not truth.warmup_days <= e.start < truth.days:
                continue
            start = t0 + e.start * DAY
            ts = self.times.get(e.enterprise_id, [])
            window = bisect_right(ts, start) - bisect_left(ts, start - HORIZON_DAYS * DAY)
            early = bisect_right(ts, start - 30 * DAY) - bisect_left(ts, start - HORIZON_DAYS * DAY)
            every = self.all_times.get(e.enterprise_id, [])
            hits = {"any_90d": window >= 1, "two_or_more_90d": window >= 2, "any_30_to_90d": early >= 1,
                    "any_evidence_90d": bisect_right(every, start) > bisect_left(every, start - HORIZON_DAYS * DAY)}
            n += 1
            n_ns += not e.sudden
            for k, hit in hits.items():
                counts[k] += hit
                counts_ns[k] += hit and not e.sudden
        return {"episodes": {k: round(v / n, 4) if n else None for k, v in counts.items()},
                "non_sudden": {k: round(v / n_ns, 4) if n_ns else None for k, v in counts_ns.items()}}
