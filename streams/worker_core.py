"""What the worker does with one micro-batch of events and its state table, without Faust.

Why apart from the agent: a crash-restart must decide exactly as an
uninterrupted run does (issue #19). The agent (streams/app.py) owns the
Kafka parts — reading, holding for event-time order, sending, acking — and
hands released events here; this core owns the decisions and what must be
written to the state table for them. A test can then run the same core over
a log in any batching, restart it from any table snapshot, replay the events
after an earlier commit, and compare the alerts, in seconds and without a
broker (tests/streams/test_restart_equivalence.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from detectors.engine import DecodedEvent, WageArrearsEngine
from detectors.enterprise import EnterpriseState
from detectors.features import IndustryContext
from streams import area_state
from streams.alert_outbox import AlertOutbox
from streams.area_tension import AreaTensionTracker
from streams.complaint_surge import ComplaintSurgeTracker
from streams.credit_book import CreditBook
from streams.group_incidents import GroupIncidentWatch
from streams.poison import Failure, non_finite, score_batch
from streams.score_feed import material

@dataclass
class BatchResult:
    alerts: list[dict[str, Any]] = field(default_factory=list)
    """alerts to send (finite numbers only)"""
    broken: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    """alerts held back: a non-finite number at the given path (a detector bug)"""
    feed: list[dict[str, Any]] = field(default_factory=list)
    """material score changes, one per enterprise"""
    failed: list[Failure] = field(default_factory=list)
    """events a stage failed on alone, with the reason"""
    writes: dict[str, Any] = field(default_factory=dict)
    """state-table key → new value (None deletes), in the order they must be written: the outbox first, then the
    tension tracker's, the enterprise states, the other area trackers'"""
    reruns: int = 0
    duplicates: int = 0


class WorkerCore:
    """The engine and the area trackers over released events; the state they keep goes in one table."""

    def __init__(self, engine: WageArrearsEngine, surges: ComplaintSurgeTracker | None = None,
                 groups: GroupIncidentWatch | None = None, score_feed_min_change: float = 0.05) -> None:
        self.engine = engine
        self.surges = surges or ComplaintSurgeTracker()
        self.groups = groups or GroupIncidentWatch(self.surges, tension=AreaTensionTracker())
        self.credits = CreditBook()
        self.parts = {"surge": self.surges, "gathering": self.groups, "credit": self.credits}
        self.first_parts: dict[str, area_state.Persistent] = {
            "levels": self.groups.levels, **({"tension": self.groups.tension} if self.groups.tension is not None else {})}
        """parts written before the enterprise states: their state follows from the engine's alerts, which a
        replay raises again only while the enterprise states of the batch are not written"""
        self.outbox = AlertOutbox()
        """the alerts of the last batches, kept in the state table and resent after a restart"""
        self.min_change = score_feed_min_change

    def restore(self, items: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take up the state a table holds; the outbox's alerts, which a restarted worker sends again (their
        state may have landed without them: the sink upserts)."""
        area_state.restore(items, {**self.first_parts, **self.parts})
        self.engine.context = IndustryContext.rebuilt(v for k, v in items.items() if ":" not in str(k) and v)
        return self.outbox.restore(items)

    def score(self, events: list[DecodedEvent], table: Mapping[str, Any]) -> BatchResult:
        """One micro-batch of events in event-time order against the states in ``table``."""
        def load(enterprise_id: str) -> EnterpriseState | None:
            stored = table.get(enterprise_id)
            return EnterpriseState.from_dict(stored, self.engine.dedup) if stored else None

        area_alerts, out, failed, reruns = score_batch(
            [("credit record", self.credits.process), ("complaint-surge counter", self.surges.process),
             ("gathering watch", self.groups.process)],
            self.engine, events, load)
        self.credits.annotate(out.alerts)
        result = BatchResult(failed=failed, reruns=reruns, duplicates=out.duplicates)
        latest = {u["enterprise_id"]: u for u in out.score_updates}  # one update per enterprise per batch
        result.feed = [u for eid, u in latest.items() if material(out.touched[eid], u, self.min_change)]
        self.groups.note_alerts(out.alerts)  # gatherings in later batches weigh the enterprise's wage-arrears level
        area_alerts += self.groups.close_days()  # days that ended in this batch, with the levels as of their end
        for alert in out.alerts + area_alerts:
            where = non_finite(alert)
            if where is None:
                result.alerts.append(alert)
            else:
                result.broken.append((alert, where))
        if result.alerts:
            result.writes.update(self.outbox.add(result.alerts))
        result.writes.update(area_state.changes(self.first_parts))
        for enterprise_id, state in out.touched.items():
            result.writes[enterprise_id] = state.to_dict()
        result.writes.update(area_state.changes(self.parts))
        return result
