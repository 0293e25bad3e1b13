"""Backtest: the stream's detector code, in batch, scored against the ground truth.

The event log is decoded as the stream decodes it (a record that fails its
contract is a dead letter), fed to :class:`detectors.engine.WageArrearsEngine`
in delivery order, one delivery day per batch, with a plain dict as the state
store. Each alert is checked on site at its deadline (first announcement +
the deadline of its level), with the three outcomes the Yuhang platform
counted:

* ``arrears_confirmed`` — the enterprise is in arrears at the check;
* ``hidden_risk`` — in distress at the check, or arrears begin within 90 days;
* ``no_risk`` — neither.

``effective_warning_rate`` = (confirmed + hidden risk) / checked is the figure
comparable with Yuhang's 81.33%; ``strict_warning_rate`` (alerts followed by
arrears at the check or within 90 days) is the honest figure beside it.
"""
from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import ValidationError
from tqdm import tqdm

from detectors.engine import DecodedEvent, WageArrearsEngine
from streams.records import RECORD_BY_CLASS
from simulators.truth import Truth, epoch0

DAY = 86400.0
HORIZON_DAYS = 90.0


@dataclass
class DecodedLog:
    events: list[tuple[int, DecodedEvent]] = field(default_factory=list)
    """(delivery day, event) for every valid record naming an enterprise, in delivery order"""
    lines: int = 0
    dead_letters: int = 0
    without_enterprise: int = 0


def decode_log(lines: Iterable[str], t0: float, progress: bool = False, total: int | None = None) -> DecodedLog:
    """Decode and validate like the stream; keep what the wage-arrears engine would see.

    Records that name no enterprise cannot reach the engine (it groups by
    enterprise), so they are counted, not validated.
    """
    out = DecodedLog()
    for text in tqdm(lines, desc="decode", unit="line", disable=not progress, total=total, leave=False,
                     mininterval=0.5):
        out.lines += 1
        if '"enterprise_id":null' in text and '"raw":' not in text:
            out.without_enterprise += 1
            continue
        line = json.loads(text)
        cls = line["class"]
        event = line.get("event")
        if event is None:
            try:
                event = json.loads(line["raw"])
            except (json.JSONDecodeError, TypeError):
                out.dead_letters += 1
                continue
        model = RECORD_BY_CLASS.get(cls)
        try:
            if model is None or not isinstance(event, dict):
                raise ValueError("unknown class")
            model.model_validate(event)
        except (ValidationError, ValueError):
            out.dead_letters += 1
            continue
        if not event.get("enterprise_id"):
            out.without_enterprise += 1
            continue
        at = datetime.fromisoformat(line["at"]).timestamp()
        t = datetime.fromisoformat(event["occurred_at"]).timestamp()
        out.events.append((int((at - t0) // DAY), DecodedEvent(cls, event, t)))
    return out


@dataclass
class Alert:
    alert_id: str
    subject_id: str
    raised: float
    check: float
    level: str
    closed: float | None = None


@dataclass
class EngineRun:
    alerts: list[Alert]
    scores: dict[str, list[tuple[float, float]]]
    """enterprise → (time, score) after each instant, in processing order (for threshold sweeps)"""
    duplicates: int
    rules_version: str


def run_engine(log: DecodedLog, rules: Any, progress: bool = False, keep_scores: bool = False) -> EngineRun:
    """Feed the engine one delivery day at a time, exactly as the stream would with day-sized batches."""
    engine = WageArrearsEngine(rules)
    store: dict[str, Any] = {}
    alerts: dict[str, Alert] = {}
    scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    duplicates = 0
    batches: list[list[DecodedEvent]] = []
    day = None
    for d, ev in log.events:
        if d != day:
            batches.append([])
            day = d
        batches[-1].append(ev)
    for batch in tqdm(batches, desc="engine", unit="day", disable=not progress, leave=False):
        out = engine.run(batch, store.get)
        store.update(out.touched)
        duplicates += out.duplicates
        if keep_scores:
            for u in out.score_updates:
                scores[u["enterprise_id"]].append((datetime.fromisoformat(u["at"]).timestamp(), u["score"]))
        for a in out.alerts:
            if a["level"] == "closed":
                if a["alert_id"] in alerts:
                    alerts[a["alert_id"]].closed = datetime.fromisoformat(a["raised_at"]).timestamp()
                continue
            if a["alert_id"] not in alerts:
                alerts[a["alert_id"]] = Alert(a["alert_id"], a["subject_id"],
                                              datetime.fromisoformat(a["raised_at"]).timestamp(),
                                              datetime.fromisoformat(a["deadline"]).timestamp(), a["level"])
    ordered = sorted(alerts.values(), key=lambda a: (a.raised, a.subject_id))
    return EngineRun(ordered, dict(scores), duplicates, rules.version)


class TruthIndex:
    """Ground truth by enterprise, in epoch seconds, for fast checks."""

    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self.t0 = epoch0(truth.start)
        self.arrears: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.distress: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for e in truth.arrears:
            self.arrears[e.enterprise_id].append((self.t0 + e.start * DAY, self.t0 + e.end * DAY))
        for x in truth.distress:
            self.distress[x.enterprise_id].append((self.t0 + x.start * DAY, self.t0 + x.end * DAY))

    def outcome(self, ent: str, at: float) -> tuple[str, bool]:
        """(on-site outcome at ``at``, followed by arrears within the horizon)."""
        arrears = self.arrears.get(ent, ())
        confirmed = any(a <= at < b for a, b in arrears)
        soon = any(at < a <= at + HORIZON_DAYS * DAY for a, _ in arrears)
        if confirmed:
            return "arrears_confirmed", True
        if soon or any(a <= at < b for a, b in self.distress.get(ent, ())):
            return "hidden_risk", soon
        return "no_risk", False


def evaluate(alerts: list[Any], truth: TruthIndex, inspectors: int) -> dict[str, Any]:
    """Warning rates, recall and lead time for alerts with ``subject_id``, ``raised`` and ``check``."""
    tr = truth.truth
    outcomes = {"arrears_confirmed": 0, "hidden_risk": 0, "no_risk": 0}
    strict = 0

    def get(a: Any, k: str) -> Any:
        return a[k] if isinstance(a, dict) else getattr(a, k)

    raised_by: dict[str, list[float]] = defaultdict(list)
    for a in alerts:
        ent = get(a, "subject_id")
        out, followed = truth.outcome(ent, get(a, "check"))
        outcomes[out] += 1
        strict += followed
        raised_by[ent].append(get(a, "raised"))
    for v in raised_by.values():
        v.sort()
    leads: list[float] = []
    leads_ns: list[float] = []
    n_ep = n_ns = 0
    for e in tr.arrears:
        if not tr.warmup_days <= e.start < tr.days:
            continue
        n_ep += 1
        n_ns += not e.sudden
        start = truth.t0 + e.start * DAY
        r = raised_by.get(e.enterprise_id, [])
        k = bisect_left(r, start - HORIZON_DAYS * DAY)
        if k < len(r) and r[k] <= start:
            lead = (start - r[k]) / DAY
            leads.append(lead)
            if not e.sudden:
                leads_ns.append(lead)
    n = len(alerts)
    checked = sum(outcomes.values())
    lead_arr = np.array(leads) if leads else np.zeros(0)
    return {
        "alerts": n,
        "effective_warning_rate": _ratio(outcomes["arrears_confirmed"] + outcomes["hidden_risk"], checked),
        "strict_warning_rate": _ratio(strict, n),
        "recall": _ratio(len(leads), n_ep),
        "recall_non_sudden": _ratio(len(leads_ns), n_ns),
        "recall_lead_30d": _ratio(int((lead_arr >= 30).sum()), n_ep),
        "median_lead_days": round(float(np.median(lead_arr)), 2) if len(lead_arr) else None,
        "lead_days_percentiles": ({str(p): round(float(np.percentile(lead_arr, p)), 2) for p in (10, 25, 50, 75, 90)}
                                  if len(lead_arr) else {}),
        "lead_days_histogram": {f"{lo}-{hi}": int(((lead_arr >= lo) & (lead_arr < hi if hi < 90 else lead_arr <= hi)).sum())
                                for lo, hi in ((0, 7), (7, 30), (30, 60), (60, 90))},
        "episodes": n_ep,
        "episodes_non_sudden": n_ns,
        "alerts_per_inspector_week": round(n / inspectors / (tr.days / 7.0), 4),
        "outcomes": outcomes,
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def count_in_range(values: list[float], lo: float, hi: float) -> int:
    return bisect_right(values, hi) - bisect_left(values, lo)
