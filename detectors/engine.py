"""The wage-arrears engine: decoded events in → score updates and alerts out, on two lists.

This is the one code path the stream agent and the backtest share. A batch
is handled in three passes:

1. registry records and late reports are counted per industry (the context a
   firm's lateness is judged against reads only *earlier* days, so it does not
   depend on the order enterprises of one batch are scored in);
2. per enterprise, per instant (event time): skip duplicate ids, fold the
   events into the evidence and the history, and build a feature row;
3. every row is scored by each list's model at once (numpy), and per
   enterprise, in time order, the levels and episodes of each list are decided
   and alert payloads built.

Storage of states is the caller's (a Faust table, or a dict).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import numpy as np

from detectors.decay import EvidenceParams
from detectors.enterprise import Decision, EnterpriseState, absorb, decide, reasons
from detectors.episodes import decide_batch
from detectors.evidence import SIGNALS, WAGE_TOPICS, Evidence, extract
from detectors.features import CONTEXT_DAYS, FEATURES, IndustryContext, feature_row, industry_key, late_kind, local_day
from detectors.levels import LEVEL_NAMES, alert_id
from detectors.models import calibrated
from detectors.named_surge import observe as observe_named


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


LIST_ORDER = ("inspect_now", "early_warning")
"""Inspect-now is decided first: a firm on it is not also put on the early-warning list."""
ALERT_KIND = {"inspect_now": "wage_arrears", "early_warning": "wage_arrears_early"}
"""Alert-id kind per list, so one enterprise's episodes on the two lists are two alerts."""


FAST_MIN_INSTANTS = 64
"""batches with fewer scored instants are decided by the plain loop: on day batches of about 14 instants the
kernel was measured no faster than the loop (its fixed cost per call is a few hundred µs); 64 is a margin"""


@dataclass
class Instant:
    """One enterprise at one event instant, as the models see it."""

    enterprise_id: str
    t: float
    now: float
    """the enterprise's time after this instant (later than ``t`` for a late event): what the row describes"""
    row: np.ndarray
    behind: dict[str, tuple[str, str, float]]


class WageArrearsEngine:
    """Scores enterprises from their events with the rules in force, on the inspect-now and early-warning lists."""

    def __init__(self, rules: Any, dedup: int = 256, context: IndustryContext | None = None,
                 fast: bool = True) -> None:
        self.dedup = dedup
        self.fast = fast
        """True: levels and episodes of a batch decided by the compiled kernel (:mod:`detectors.episodes`);
        False: the plain per-instant reference, kept for the tests that hold the two equal"""
        self.emit_updates = True
        """False: no score updates are built (a backtest that keeps no scores reads only the alerts; the
        stream's risk-score feed needs them)"""
        self.fast_min = FAST_MIN_INSTANTS
        """below this many instants a batch takes the plain path (same results): the kernel's fixed cost per
        call (arrays to build, a dispatch) is more than a few instants' worth of Python"""
        self.context = context or IndustryContext()
        """late reports per industry per day: the engine's only state that is not per enterprise"""
        self.record: Callable[[list[Instant]], None] | None = None
        """called with every batch's instants before they are scored (the fit collects its rows here)"""
        self.set_rules(rules)

    def set_rules(self, rules: Any) -> None:
        self.rules = rules
        self.params = EvidenceParams.from_rules(rules, SIGNALS)
        self.labels = {s: rules.signals[s].label for s in SIGNALS}
        self.lists = {name: (lst.scorer(), lst.knots(), lst.thresholds.as_tuple(), lst.hysteresis)
                      for name, lst in rules.lists.items()}
        self._thresholds = np.array([self.lists[n][2] for n in LIST_ORDER], dtype=float)
        self._hysteresis = np.array([self.lists[n][3] for n in LIST_ORDER], dtype=float)

    def new_state(self) -> EnterpriseState:
        return EnterpriseState.new(len(SIGNALS), self.dedup)

    def run(self, events: Iterable[DecodedEvent],
            load: Callable[[str], EnterpriseState | None]) -> EngineOutput:
        """Process a batch; ``load`` returns an enterprise's stored state or None.

        If it raises, the industry context is left as it was (the caller writes states back only from the
        output), so a batch rerun event by event after a poison event does not count its reports twice.
        """
        saved = self.context.snapshot()
        try:
            return self._run(events, load)
        except Exception:
            self.context = saved
            raise

    def _run(self, events: Iterable[DecodedEvent],
             load: Callable[[str], EnterpriseState | None]) -> EngineOutput:
        out = EngineOutput()
        by_enterprise: dict[str, list[DecodedEvent]] = defaultdict(list)
        for ev in events:
            if ev.enterprise_id:
                by_enterprise[ev.enterprise_id].append(ev)
        for enterprise_id, evs in by_enterprise.items():
            state = load(enterprise_id) or self.new_state()
            out.touched[enterprise_id] = state
            self._count(state, evs)
        instants: list[Instant] = []
        rates: dict[tuple[str | None, int], tuple[float, float]] = {}
        """industry context per (industry, day): fixed once pass 1 has counted the batch, so read once"""
        for enterprise_id, evs in by_enterprise.items():
            state = out.touched[enterprise_id]
            evs.sort(key=lambda e: e.t)
            i = 0
            while i < len(evs):
                j = i
                while j < len(evs) and evs[j].t == evs[i].t:
                    j += 1
                x = self._instant(enterprise_id, state, evs[i:j], out, rates)
                if x is not None:
                    instants.append(x)
                i = j
        if instants:
            if self.record is not None:
                self.record(instants)
            self._decide(instants, out)
            self.context.prune(local_day(max(x.t for x in instants)))
        return out

    def _count(self, state: EnterpriseState, evs: list[DecodedEvent]) -> None:
        """Pass 1: the registry's industry and the batch's late reports go into the industry context.

        The state itself is left to pass 2, which folds the registry in at its own instant.
        """
        key = industry_key(state.area_code, state.industry)
        counted: set[str] = set()
        for ev in evs:
            if ev.event_id in state.recent_ids or ev.event_id in counted:
                continue  # seen before, or twice in this batch (a restarted consumer may be handed a record twice)
            counted.add(ev.event_id)
            if ev.data_class == "enterprise_registry":
                new = industry_key(ev.fields.get("area_code"), ev.fields.get("industry"))
                self.context.register(key, new, local_day(ev.t))
                key = new
                continue
            kind = late_kind(ev.data_class, ev.fields)
            if kind is not None and key is not None:
                day = local_day(ev.t)
                self.context.count(key, kind, day)
                state.late = [x for x in state.late if x[0] >= day - CONTEXT_DAYS] + [(day, kind, key)]

    def _instant(self, enterprise_id: str, state: EnterpriseState, evs: list[DecodedEvent],
                 out: EngineOutput, rates: dict[tuple[str | None, int], tuple[float, float]]) -> Instant | None:
        """Pass 2: fold one instant's events into the state; the feature row at that instant."""
        items: list[tuple[Evidence, str]] = []
        named: list[str] = []
        for ev in evs:
            if state.seen(ev.event_id):
                out.duplicates += 1
                continue
            f = ev.fields
            if ev.data_class == "enterprise_registry":
                state.industry, state.area_code = f.get("industry"), f.get("area_code")
                state.employees, state.name = int(f.get("employees", 0)), f.get("name", "")
                continue
            if state.area_code is None and f.get("area_code"):
                state.area_code = f["area_code"]
            state.history.observe(ev.data_class, f, ev.t)
            items.extend((e, ev.event_id) for e in extract(ev.data_class, f))
            if ev.data_class in NAMED_CLASSES and f.get("topic") in WAGE_TOPICS:
                named.append(ev.event_id)
        t = evs[0].t
        if all(ev.data_class == "enterprise_registry" for ev in evs):
            return None          # reference data: it changes the profile, the next evidence instant is scored
        if named:
            items.extend(named_surge_evidence(state, t, named))
        evidence = absorb(state, t, items, self.params)
        now = state.t if state.t is not None else t
        key = (industry_key(state.area_code, state.industry), local_day(now))
        context = rates.get(key)
        if context is None:
            context = rates[key] = self.context.rates(*key)
        row = feature_row(evidence, state.history, now, state.industry, state.employees, context)
        return Instant(enterprise_id, t, now, row, dict(state.behind))

    def _decide(self, instants: list[Instant], out: EngineOutput) -> None:
        """Pass 3: score every row on each list, then levels and alerts per enterprise in time order."""
        X = np.vstack([x.row for x in instants])
        scores = {name: calibrated(model.raw(X), knots) for name, (model, knots, _, _) in self.lists.items()}
        if self.fast and len(instants) >= self.fast_min:
            self._decide_compiled(instants, scores, out)
            return
        for k, x in enumerate(instants):
            state = out.touched[x.enterprise_id]
            levels: dict[str, int] = {}
            for name in LIST_ORDER:
                model, _, thresholds, hysteresis = self.lists[name]
                score = float(scores[name][k])
                if name == "early_warning" and levels["inspect_now"] > 0:
                    score = scores[name][k] = 0.0   # on the inspect-now list: an early warning would say less
                d = decide(state.on(name), x.t, score, thresholds, hysteresis)
                levels[name] = d.level
                if d.announce or d.closed:
                    out.alerts.append(self.alert_payload(name, x, state, d, score, model.contributions(x.row)))
            if not self.emit_updates:
                continue
            out.score_updates.append({
                "enterprise_id": x.enterprise_id,
                "score": round(float(scores["inspect_now"][k]), 6), "level": LEVEL_NAMES[levels["inspect_now"]],
                "early_score": round(float(scores["early_warning"][k]), 6),
                "early_level": LEVEL_NAMES[levels["early_warning"]],
                "at": iso(x.now), "evidence_at": iso(x.t), "rules_version": self.rules.version})

    def _decide_compiled(self, instants: list[Instant], scores: dict[str, np.ndarray], out: EngineOutput) -> None:
        """Pass 3's levels and episodes by :func:`detectors.episodes.decide_batch`; payloads as the reference."""
        rows: dict[str, int] = {}
        enterprise = np.empty(len(instants), dtype=np.int64)
        for k, x in enumerate(instants):
            enterprise[k] = rows.setdefault(x.enterprise_id, len(rows))
        states = [out.touched[e] for e in rows]
        level = np.zeros((len(rows), len(LIST_ORDER)), dtype=np.int64)
        announced = np.zeros_like(level)
        episode = np.full(level.shape, np.nan)
        for r, state in enumerate(states):
            for j, name in enumerate(LIST_ORDER):
                ls = state.lists.get(name)
                if ls is not None:
                    level[r, j], announced[r, j] = ls.level, ls.announced
                    episode[r, j] = np.nan if ls.episode_start is None else ls.episode_start
        S = np.column_stack([scores[name] for name in LIST_ORDER]).astype(float)
        t = np.array([x.t for x in instants], dtype=float)
        lv, ann, closed, ep = decide_batch(enterprise, t, S, self._thresholds, self._hysteresis, level, announced,
                                           episode)
        for r, state in enumerate(states):
            for j, name in enumerate(LIST_ORDER):
                ls = state.on(name)
                ls.level, ls.announced = int(level[r, j]), int(announced[r, j])
                ls.episode_start = None if np.isnan(episode[r, j]) else float(episode[r, j])
        alerting = np.flatnonzero((ann | closed).any(axis=1))
        for k in alerting.tolist():
            x = instants[k]
            state = out.touched[x.enterprise_id]
            for j, name in enumerate(LIST_ORDER):
                if ann[k, j] or closed[k, j]:
                    d = Decision(int(lv[k, j]), bool(ann[k, j]), bool(closed[k, j]), float(ep[k, j]))
                    model = self.lists[name][0]
                    out.alerts.append(self.alert_payload(name, x, state, d, float(S[k, j]),
                                                         model.contributions(x.row)))
        if not self.emit_updates:
            return
        names = LEVEL_NAMES
        version = self.rules.version
        s_now, s_early = S[:, 0].tolist(), S[:, 1].tolist()
        l_now, l_early = lv[:, 0].tolist(), lv[:, 1].tolist()
        for k, x in enumerate(instants):
            out.score_updates.append({
                "enterprise_id": x.enterprise_id,
                "score": round(s_now[k], 6), "level": names[l_now[k]],
                "early_score": round(s_early[k], 6), "early_level": names[l_early[k]],
                "at": iso(x.now), "evidence_at": iso(x.t), "rules_version": version})

    def alert_payload(self, list_name: str, x: Instant, state: EnterpriseState, d: Decision, score: float,
                      contributions: np.ndarray) -> dict[str, Any]:
        """What an inspector sees: list, level, probability, why, by when, and the harm at stake."""
        assert d.episode_start is not None
        raised = x.now
        deadline_days = getattr(self.rules.deadlines_days, LEVEL_NAMES[max(d.level, 1)])
        return {
            "alert_id": alert_id(ALERT_KIND[list_name], x.enterprise_id, iso(d.episode_start)),
            "kind": "wage_arrears",
            "list": list_name,
            "subject_id": x.enterprise_id,
            "subject_name": state.name,
            "area_code": state.area_code or "",
            "level": "closed" if d.closed else LEVEL_NAMES[d.level],
            "level_rank": 0 if d.closed else d.level,
            "status": "closed" if d.closed else "open",
            "score": round(score, 6),
            "workers_at_risk": state.employees,
            "expected_harm": round(score * state.employees, 3),
            "reasons": reasons(contributions, FEATURES, x.behind, self.labels),
            "episode_start": iso(d.episode_start),
            "raised_at": iso(d.episode_start),
            "changed_at": iso(raised),
            "deadline": (datetime.fromtimestamp(raised, tz=timezone.utc) + timedelta(days=deadline_days)).isoformat(),
            "rules_version": self.rules.version,
        }
