"""The wage-arrears engine: decoded events in → score updates and alerts out.

This is the one code path the stream agent and the backtest share. It groups
events by enterprise and instant, skips duplicate event ids, folds registry
records into the state, extracts evidence, steps the scorer and builds alert
payloads. Storage of states is the caller's (a Faust table, or a dict).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from detectors.enterprise import EnterpriseState, StepResult, reasons, step
from detectors.evidence import SIGNALS, WAGE_TOPICS, Evidence, extract
from detectors.levels import LEVEL_NAMES, alert_id
from detectors.named_surge import observe as observe_named
from detectors.wage_score import ScoreParams


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """A validated event as the engine sees it: its class, JSON fields and event time."""

    data_class: str
    fields: dict[str, Any]
    t: float
    """event time, epoch seconds"""
    at: float | None = None
    """delivery time, epoch seconds, when known (a recorded log); the stream leaves it None"""

    @property
    def event_id(self) -> str:
        return str(self.fields["event_id"])

    @property
    def enterprise_id(self) -> str | None:
        return self.fields.get("enterprise_id")


NAMED_CLASSES = frozenset({"hotline_complaint", "petition"})


def named_surge_evidence(state: EnterpriseState, t: float, event_ids: list[str]) -> list[tuple[Evidence, str]]:
    """Update the enterprise's weekly wage-complaint series; evidence when this week is above its history."""
    state.named, r = observe_named(state.named, t, len(event_ids))
    if not r.statistic > 0:
        return []
    n = state.named.count
    text = (f"{n} wage complaint(s) or petition(s) naming it this week, against {r.expected:.1f} "
            f"a week before (p={10 ** -r.statistic:.2g})")
    return [(Evidence("complaint_surge", r.statistic / 2.0, text), event_ids[-1])]


@dataclass
class EngineOutput:
    touched: dict[str, EnterpriseState] = field(default_factory=dict)
    score_updates: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0


@lru_cache(maxsize=4096)
def iso(t: float) -> str:
    """Event time as ISO 8601 UTC (cached: monthly reports share a handful of instants)."""
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat()


class WageArrearsEngine:
    """Scores enterprises from their events with the rules in force."""

    def __init__(self, rules: Any, dedup: int = 256) -> None:
        self.dedup = dedup
        self.set_rules(rules)

    def set_rules(self, rules: Any) -> None:
        self.rules = rules
        self.params = ScoreParams.from_rules(rules, SIGNALS)
        self.thresholds = rules.thresholds.as_tuple()

    def new_state(self) -> EnterpriseState:
        return EnterpriseState.new(len(SIGNALS), self.dedup)

    def run(self, events: Iterable[DecodedEvent],
            load: Callable[[str], EnterpriseState | None]) -> EngineOutput:
        """Process a batch; ``load`` returns an enterprise's stored state or None."""
        out = EngineOutput()
        by_enterprise: dict[str, list[DecodedEvent]] = defaultdict(list)
        for ev in events:
            if ev.enterprise_id:
                by_enterprise[ev.enterprise_id].append(ev)
        for enterprise_id, evs in by_enterprise.items():
            state = out.touched.get(enterprise_id) or load(enterprise_id) or self.new_state()
            evs.sort(key=lambda e: e.t)
            i = 0
            while i < len(evs):
                j = i
                while j < len(evs) and evs[j].t == evs[i].t:
                    j += 1
                self._instant(enterprise_id, state, evs[i:j], out)
                i = j
            out.touched[enterprise_id] = state
        return out

    def _instant(self, enterprise_id: str, state: EnterpriseState, evs: list[DecodedEvent],
                 out: EngineOutput) -> None:
        items: list[tuple[Evidence, str]] = []
        named: list[str] = []
        for ev in evs:
            if state.seen(ev.event_id):
                out.duplicates += 1
                continue
            if ev.data_class == "enterprise_registry":
                f = ev.fields
                state.industry, state.area_code = f.get("industry"), f.get("area_code")
                state.employees, state.name = int(f.get("employees", 0)), f.get("name", "")
                continue
            if state.area_code is None and ev.fields.get("area_code"):
                state.area_code = ev.fields["area_code"]
            items.extend((e, ev.event_id) for e in extract(ev.data_class, ev.fields))
            if ev.data_class in NAMED_CLASSES and ev.fields.get("topic") in WAGE_TOPICS:
                named.append(ev.event_id)
        t = evs[0].t
        if named:
            items.extend(named_surge_evidence(state, t, named))
        _, result = step(state, t, items, self.params, self.thresholds, self.rules.hysteresis)
        out.score_updates.append({
            "enterprise_id": enterprise_id, "score": round(result.score, 6),
            "level": LEVEL_NAMES[result.level], "at": iso(state.t or t), "evidence_at": iso(t),
            "rules_version": self.rules.version})
        if result.announce or result.closed:
            out.alerts.append(self.alert_payload(enterprise_id, state, result))

    def alert_payload(self, enterprise_id: str, state: EnterpriseState, r: StepResult) -> dict[str, Any]:
        """What an inspector sees: level, probability, why, by when, and the harm at stake."""
        assert r.episode_start is not None
        raised = state.t or r.episode_start
        deadline_days = getattr(self.rules.deadlines_days, LEVEL_NAMES[max(r.level, 1)])
        return {
            "alert_id": alert_id("wage_arrears", enterprise_id, iso(r.episode_start)),
            "kind": "wage_arrears",
            "subject_id": enterprise_id,
            "subject_name": state.name,
            "area_code": state.area_code or "",
            "level": "closed" if r.closed else LEVEL_NAMES[r.level],
            "level_rank": 0 if r.closed else r.level,
            "status": "closed" if r.closed else "open",
            "score": round(r.score, 6),
            "workers_at_risk": state.employees,
            "expected_harm": round(r.score * state.employees, 3),
            "reasons": reasons(state, r.contributions, self.params),
            "episode_start": iso(r.episode_start),
            "raised_at": iso(r.episode_start),
            "changed_at": iso(raised),
            "deadline": (datetime.fromtimestamp(raised, tz=timezone.utc) + timedelta(days=deadline_days)).isoformat(),
            "rules_version": self.rules.version,
        }
