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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from pydantic import ValidationError
from tqdm import tqdm

from detectors.engine import DecodedEvent, WageArrearsEngine
from streams.decode import describe_validation
from streams.records import RECORD_BY_CLASS
from simulators.evaluation.logfiles import LineProblems, LogItem, iter_lines
from simulators.world.truth import Truth, epoch0
from simulators.evaluation.truthfile import VERIFY_WINDOW_DAYS

DAY = 86400.0
HORIZON_DAYS = 90.0
REF_MIDNIGHT = epoch0(date(2000, 1, 1))
"""Any local midnight will do as the origin of delivery days; only the day boundaries matter."""


@dataclass
class DecodedLog:
    events: list[tuple[int, DecodedEvent]] = field(default_factory=list)
    """(delivery day since t0, event) for every valid record that names an enterprise, in delivery order"""
    lines: int = 0
    dead_letters: int = 0
    without_enterprise: int = 0
    t0: float = REF_MIDNIGHT
    """the local midnight delivery days count from"""


@dataclass
class DecodeStats:
    """What the decoding pass saw, without keeping the events: counts, the registry, the time span."""

    lines: int = 0
    dead_letters: int = 0
    """records the stream would dead-letter (not JSON, or failing their contract)"""
    without_enterprise: int = 0
    out_of_order: int = 0
    """lines delivered earlier than the line before them (processed where they fall)"""
    registry: set[str] = field(default_factory=set)
    first_at: float | None = None
    last_at: float | None = None
    problems: LineProblems = field(default_factory=LineProblems)


def decode_items(items: Iterable[LogItem], stats: DecodeStats, t0: float = REF_MIDNIGHT
                 ) -> Iterator[tuple[int, DecodedEvent]]:
    """Validate each delivered line like the stream does; yield (delivery day since ``t0``, event).

    A record that is not JSON or fails its contract is what the stream would
    send to ``ew.dead-letter``: counted, noted with file and line, skipped.
    Events are yielded as the contract dumps them (defaults filled), which is
    what the stream's agents pass to the engine. ``t0`` must be a local
    midnight (+08:00) so that a batch is one calendar day of deliveries.
    """
    prev = float("-inf")
    for item in items:
        stats.lines += 1
        event = item.event
        model = RECORD_BY_CLASS[item.cls]
        if event is None:
            try:
                event = json.loads(item.raw or "")
            except json.JSONDecodeError as exc:
                stats.dead_letters += 1
                stats.problems.add(item.where(), f"{item.cls} record: not JSON", str(exc))
                continue
            if not isinstance(event, dict):
                stats.dead_letters += 1
                stats.problems.add(item.where(), f"{item.cls} record: not a JSON object")
                continue
        try:
            fields = model.model_validate(event).model_dump(mode="json", by_alias=True)
        except ValidationError as exc:
            stats.dead_letters += 1
            bad = ",".join(sorted({".".join(str(p) for p in e["loc"]) or "(record)" for e in exc.errors()}))
            stats.problems.add(item.where(), f"invalid {model.__name__}: {bad}", describe_validation(exc))
            continue
        if item.at < prev:
            stats.out_of_order += 1
        prev = item.at
        stats.first_at = item.at if stats.first_at is None else min(stats.first_at, item.at)
        stats.last_at = item.at if stats.last_at is None else max(stats.last_at, item.at)
        if item.cls == "enterprise_registry":
            stats.registry.add(fields["enterprise_id"])
        if not fields.get("enterprise_id"):
            stats.without_enterprise += 1
        t = datetime.fromisoformat(fields["occurred_at"]).timestamp()
        yield int((item.at - t0) // DAY), DecodedEvent(item.cls, fields, t, item.at)


def day_batches(decoded: Iterable[tuple[int, DecodedEvent]]) -> Iterator[tuple[int, list[DecodedEvent]]]:
    """Consecutive events of one delivery day, as (day, events): the batches the engine is fed."""
    batch: list[DecodedEvent] = []
    day = None
    for d, ev in decoded:
        if d != day and batch:
            assert day is not None
            yield day, batch
            batch = []
        day = d
        batch.append(ev)
    if batch:
        assert day is not None
        yield day, batch


def decode_log(lines: Iterable[str], t0: float, progress: bool = False, total: int | None = None) -> DecodedLog:
    """All decoded enterprise events of a one-file log, in a list (small logs; see :func:`decode_items`)."""
    stats = DecodeStats()
    out = DecodedLog(t0=t0)
    items = iter_lines(tqdm(lines, desc="decode", unit="line", disable=not progress, total=total, leave=False,
                            mininterval=0.5), "<log>", stats.problems)
    for d, ev in decode_items(items, stats, t0):
        if ev.enterprise_id:
            out.events.append((d, ev))
    out.lines = stats.lines + stats.problems.lines - stats.dead_letters
    out.dead_letters = stats.dead_letters
    out.without_enterprise = stats.without_enterprise
    return out


@dataclass
class Alert:
    alert_id: str
    subject_id: str
    raised: float
    """when an inspector could first see it: the crossing instant, and never before its evidence was delivered"""
    check: float
    level: str
    """level at first announcement"""
    closed: float | None = None
    last_level: str = ""
    """level of the latest announcement (``closed`` once closed): what an alert store shows at the end"""
    score: float = 0.0
    list: str = "inspect_now"
    reasons: list[dict[str, Any]] = field(default_factory=list)
    episode_start: float = 0.0
    """the event time of the instant that crossed (part of the alert id; the stream's ``raised_at``)"""


def decided_at(batch: list[DecodedEvent], delivered_from: float = float("-inf")) -> float:
    """When a batch's decisions are made: once its last record was delivered (never before ``delivered_from``).

    Why: within a batch an enterprise's events are folded in event-time order,
    so a decision may use a record delivered later in the same batch; dating it
    at the batch's end means no alert and no fitted row uses anything delivered
    after its date (the leakage test holds it).
    """
    return max([delivered_from, *(ev.t if ev.at is None else max(ev.at, ev.t) for ev in batch)])


@dataclass
class EngineRun:
    alerts: list[Alert]
    scores: dict[str, dict[str, list[tuple[float, float, float]]]]
    """list → enterprise → (raise time, time of the score, score) after each instant, in processing order
    (for threshold sweeps)"""
    duplicates: int
    rules_version: str

    def by_list(self, name: str) -> list[Alert]:
        return [a for a in self.alerts if a.list == name]


class EnginePass:
    """The wage-arrears engine fed batch by batch, with a dict as its state store; alerts kept by id.

    Only the engine's state (per enterprise) and the alerts grow, never the
    events, so a district-year runs in bounded memory.
    """

    def __init__(self, rules: Any, keep_scores: bool = False) -> None:
        self.engine = WageArrearsEngine(rules)
        self.engine.emit_updates = keep_scores      # only a sweep of thresholds reads every score
        self.rules_version = rules.version
        self.keep_scores = keep_scores
        self.store: dict[str, Any] = {}
        self.alerts: dict[str, Alert] = {}
        self.scores: dict[str, dict[str, list[tuple[float, float, float]]]] = {
            "inspect_now": defaultdict(list), "early_warning": defaultdict(list)}
        self.duplicates = 0

    def step(self, batch: list[DecodedEvent], delivered_from: float = float("-inf")) -> list[dict[str, Any]]:
        """Run one batch delivered no earlier than ``delivered_from`` (epoch s); the engine's alert payloads.

        An alert cannot be acted on before its evidence arrived: it is dated
        when the batch was complete (:func:`decided_at`), so late deliveries do
        not lengthen the measured lead.
        """
        out = self.engine.run(batch, self.store.get)
        self.store.update(out.touched)
        self.duplicates += out.duplicates
        decided = decided_at(batch, delivered_from)
        if self.keep_scores:
            for u in out.score_updates:
                ent = u["enterprise_id"]
                raised, at = max(decided, _ts(u["evidence_at"])), _ts(u["at"])
                self.scores["inspect_now"][ent].append((raised, at, u["score"]))
                self.scores["early_warning"][ent].append((raised, at, u["early_score"]))
        for a in out.alerts:
            known = self.alerts.get(a["alert_id"])
            if a["level"] == "closed":
                if known is not None:
                    known.closed = _ts(a["raised_at"])
                    known.last_level = "closed"
                continue
            if known is None:
                raised = max(decided, _ts(a["raised_at"]))
                handling = _ts(a["deadline"]) - _ts(a["changed_at"])      # the level's deadline, in seconds
                known = self.alerts[a["alert_id"]] = Alert(
                    a["alert_id"], a["subject_id"], raised, raised + handling, a["level"], score=a["score"],
                    list=a.get("list", "inspect_now"), reasons=a["reasons"], episode_start=_ts(a["episode_start"]))
            known.last_level = a["level"]
        return out.alerts

    def result(self) -> EngineRun:
        ordered = sorted(self.alerts.values(), key=lambda a: (a.raised, a.subject_id))
        return EngineRun(ordered, {k: dict(v) for k, v in self.scores.items()}, self.duplicates, self.rules_version)


def run_engine(log: DecodedLog | Iterable[list[DecodedEvent]], rules: Any, progress: bool = False,
               keep_scores: bool = False) -> EngineRun:
    """Feed the engine one delivery day at a time, exactly as the stream would with day-sized batches."""
    run = EnginePass(rules, keep_scores)
    if isinstance(log, DecodedLog):
        for d, batch in tqdm(day_batches(log.events), desc="engine", unit="day", disable=not progress, leave=False):
            run.step(batch, log.t0 + d * DAY)
    else:
        for batch in log:
            run.step(batch)
    return run.result()


class TruthIndex:
    """Ground truth by enterprise, in epoch seconds, for fast checks."""

    def __init__(self, truth: Truth, verified: dict[str, list[tuple[float, str]]] | None = None) -> None:
        self.truth = truth
        self.verified = verified or {}
        """enterprise → sorted (epoch s, outcome) of recorded on-site checks; they override the derived outcome"""
        self.t0 = epoch0(truth.start)
        self.arrears: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.distress: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for e in truth.arrears:
            self.arrears[e.enterprise_id].append((self.t0 + e.start * DAY, self.t0 + e.end * DAY))
        for x in truth.distress:
            self.distress[x.enterprise_id].append((self.t0 + x.start * DAY, self.t0 + x.end * DAY))

    def verification(self, ent: str, at: float, raised: float | None) -> str | None:
        """The recorded outcome of the check of an alert raised at ``raised`` and due at ``at``, if any."""
        if raised is None:
            return None
        raised_day = raised - (raised - REF_MIDNIGHT) % DAY      # a verification is often dated by day only
        for t, recorded in self.verified.get(ent, ()):
            if raised_day <= t <= at + VERIFY_WINDOW_DAYS * DAY:
                return recorded
        return None

    def category(self, ent: str, raised: float, check: float) -> str:
        """Where the enterprise stood when it was alerted (the honest split of an alert list).

        ``already_in_arrears``: wages already unpaid at ``raised``;
        ``before_onset``: not yet, but arrears begin within the horizon;
        ``distress_only``: in distress at ``raised`` or at the check, with no arrears to follow;
        ``no_risk``: none of these. Every alert is in exactly one.
        """
        arrears = self.arrears.get(ent, ())
        if any(a <= raised < b for a, b in arrears):
            return "already_in_arrears"
        if any(raised < a <= raised + HORIZON_DAYS * DAY for a, _ in arrears):
            return "before_onset"
        if any(a <= t < b for a, b in self.distress.get(ent, ()) for t in (raised, check)):
            return "distress_only"
        return "no_risk"

    def outcome(self, ent: str, at: float, raised: float | None = None) -> tuple[str, bool]:
        """(on-site outcome at ``at``, followed by arrears within the horizon).

        A recorded verification of ``ent`` dated between ``raised`` and
        ``at`` + 30 days is the outcome of that check (the first such one).
        """
        arrears = self.arrears.get(ent, ())
        soon = any(at < a <= at + HORIZON_DAYS * DAY for a, _ in arrears)
        recorded = self.verification(ent, at, raised)
        if recorded is not None:
            return recorded, soon or recorded == "arrears_confirmed"
        confirmed = any(a <= at < b for a, b in arrears)
        if confirmed:
            return "arrears_confirmed", True
        if soon or any(a <= at < b for a, b in self.distress.get(ent, ())):
            return "hidden_risk", soon
        return "no_risk", False


CATEGORIES = ("already_in_arrears", "before_onset", "distress_only", "no_risk")
LEAD_BUCKETS = ((0, 7), (7, 30), (30, 90))
"""Lead-time buckets in days; an episode counts in the bucket of its earliest alert in the 90 days before it."""


def evaluate(alerts: list[Any], truth: TruthIndex, inspectors: int) -> dict[str, Any]:
    """Warning rates, where alerted firms stood, recall by lead and lead time, for alerts with
    ``subject_id``, ``raised`` and ``check``."""
    tr = truth.truth
    outcomes = {"arrears_confirmed": 0, "hidden_risk": 0, "no_risk": 0}
    categories = dict.fromkeys(CATEGORIES, 0)
    strict = verified = 0

    def get(a: Any, k: str) -> Any:
        return a[k] if isinstance(a, dict) else getattr(a, k)

    raised_by: dict[str, list[float]] = defaultdict(list)
    for a in alerts:
        ent, raised, check = get(a, "subject_id"), get(a, "raised"), get(a, "check")
        out, followed = truth.outcome(ent, check, raised)
        outcomes[out] += 1
        categories[truth.category(ent, raised, check)] += 1
        verified += truth.verification(ent, check, raised) is not None
        strict += followed
        raised_by[ent].append(raised)
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
    ns_arr = np.array(leads_ns) if leads_ns else np.zeros(0)

    def in_bucket(x: np.ndarray, lo: float, hi: float) -> int:
        return int(((x >= lo) & ((x < hi) if hi < HORIZON_DAYS else (x <= hi))).sum())

    return {
        "alerts": n,
        "effective_warning_rate": _ratio(outcomes["arrears_confirmed"] + outcomes["hidden_risk"], checked),
        "strict_warning_rate": _ratio(strict, n),
        "recall": _ratio(len(leads), n_ep),
        "recall_non_sudden": _ratio(len(leads_ns), n_ns),
        "early_recall": _ratio(in_bucket(ns_arr, 30, 90), n_ns),
        "recall_by_lead": {f"{lo}-{hi}d": _ratio(in_bucket(lead_arr, lo, hi), n_ep) for lo, hi in LEAD_BUCKETS},
        "recall_non_sudden_by_lead": {f"{lo}-{hi}d": _ratio(in_bucket(ns_arr, lo, hi), n_ns) for lo, hi in LEAD_BUCKETS},
        "recall_lead_30d": _ratio(int((lead_arr >= 30).sum()), n_ep),
        "categories": categories,
        "before_onset_share": _ratio(categories["before_onset"], n),
        "median_lead_days": round(float(np.median(lead_arr)), 2) if len(lead_arr) else None,
        "lead_days_percentiles": ({str(p): round(float(np.percentile(lead_arr, p)), 2) for p in (10, 25, 50, 75, 90)}
                                  if len(lead_arr) else {}),
        "lead_days_histogram": {f"{lo}-{hi}": in_bucket(lead_arr, lo, hi) for lo, hi in ((0, 7), (7, 30), (30, 60), (60, 90))},
        "episodes": n_ep,
        "episodes_non_sudden": n_ns,
        "alerts_per_inspector_week": round(n / inspectors / (tr.days / 7.0), 4),
        "outcomes": outcomes,
        "verified_checks": verified,
    }


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def count_in_range(values: list[float], lo: float, hi: float) -> int:
    return bisect_right(values, hi) - bisect_left(values, lo)
