"""One pass over an event log: decode → day batches → engine, baseline trace and gathering tracker together.

Used by ``earlywarn backtest`` for a scenario (the simulator's lines in
memory) and for a recorded log on disk alike, so the two give the same
figures on the same events. Events are never all held at once: each delivery
day is decoded, fed to every consumer and dropped.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from tqdm import tqdm

from detectors.engine import DecodedEvent
from simulators.evaluation.backtest import DAY, REF_MIDNIGHT, DecodeStats, EngineRun, EnginePass, day_batches, decode_items
from simulators.evaluation.baseline import BaselineTable, PointsTrace, trace_points
from simulators.evaluation.logfiles import LogItem
from simulators.evaluation.observability import EvidenceSeen
from streams.area_tension import AreaTensionTracker
from streams.complaint_surge import ComplaintSurgeTracker
from streams.group_incidents import GroupIncidentWatch
from simulators.world.truth import CST, Truth, epoch0

LARGE = 100
"""A gathering that reaches this many people is a group incident the detector must catch."""
AREA_MATCH_LEAD_MIN = 60.0
"""An incident without a gathering id is matched by area: alerts from an hour before its start count."""


@dataclass
class GatheringAlerts:
    """The stream's group-incident alerting over gathering reports; alerts kept as (epoch s, area code) per gathering."""

    watch: GroupIncidentWatch
    large: int = LARGE
    alerts: dict[str, tuple[float, str]] = field(default_factory=dict)
    """gathering → when it was first alerted yellow or red (what the street and district act on), and where"""
    watched: dict[str, tuple[float, str]] = field(default_factory=dict)
    """gathering → its first alert of any level (blue included: the grid looks)"""
    registry_areas: set[str] = field(default_factory=set)
    tension: list[dict[str, Any]] = field(default_factory=list)
    """the watch's ``area_tension`` alerts, in the order raised"""

    def observe(self, batch: list[DecodedEvent]) -> None:
        for ev in batch:
            if ev.data_class == "enterprise_registry":
                self.registry_areas.add(ev.fields["area_code"])
        for alert in self.watch.process(batch):
            at = (datetime.fromisoformat(alert["changed_at"]).timestamp(), alert["area_code"])
            self.watched.setdefault(alert["subject_id"], at)
            if alert["level_rank"] >= 2:
                self.alerts.setdefault(alert["subject_id"], at)

    def close_days(self, wage_alerts: list[dict[str, Any]]) -> None:
        """The batch's wage-arrears alerts to the watch, then the tension of the days the batch closed, as the
        worker does (streams/worker_core.py): a day weighs the levels raised before its end, whatever the batch."""
        self.watch.note_alerts(wage_alerts)
        self.tension.extend(self.watch.close_days())

    def communities(self, grids: int | None) -> int:
        """Communities of the district: from the registry's grid codes (or grids / 5 when only a count is known)."""
        known = {a[:12] for a in self.registry_areas if len(a) == 15}
        return len(known) or max((grids or 0) // 5, 1)

    def score(self, truth: Truth, grids: int | None) -> dict[str, Any]:
        """Hits (a yellow or red alert before the peak of a gathering reaching ``large``), misses, false alarms,
        lead, precision; under ``watched`` the same for alerts of any level (blue included)."""
        out = self._score(self.alerts, truth, grids)
        if self.watched != self.alerts:
            out["watched"] = {k: v for k, v in self._score(self.watched, truth, grids).items()
                              if k in ("hits", "false_alarms", "median_lead_minutes", "gatherings_alerted", "precision")}
        return out

    def _score(self, alerts: dict[str, tuple[float, str]], truth: Truth, grids: int | None) -> dict[str, Any]:
        t0 = epoch0(truth.start)
        big = [g for g in truth.incidents if 0 <= g.start < truth.days and g.peak_headcount >= self.large]
        matched: set[str] = set()
        hits = late = 0
        leads: list[float] = []
        for g in big:
            peak = t0 + g.peak_at * DAY
            if g.gathering_id:
                found = alerts.get(g.gathering_id)
                if found is not None:
                    matched.add(g.gathering_id)
                ok = found is not None and found[0] <= peak
                late += found is not None and not ok
            else:
                lo = t0 + g.start * DAY - AREA_MATCH_LEAD_MIN * 60.0
                near = sorted((t, gid) for gid, (t, area) in alerts.items()
                              if area.startswith(g.area_code) and lo <= t <= peak)
                matched.update(gid for _, gid in near)
                found = near[0] if near else None
                ok = found is not None
            if ok:
                assert found is not None
                hits += 1
                leads.append((peak - found[0]) / 60.0)
        false_alarms = sum(1 for gid in alerts if gid not in matched)
        areas = grids or len({a for a in self.registry_areas if len(a) == 15}) or 1
        months = truth.days / 30.44
        return {"hits": hits, "misses": len(big) - hits, "false_alarms": false_alarms, "late_alerts": late,
                "median_lead_minutes": round(float(np.median(leads)), 1) if leads else None,
                "incidents": len(big), "gatherings_alerted": len(alerts),
                "precision": round(1.0 - false_alarms / len(alerts), 3) if alerts else None,
                "false_alarms_per_area_month": round(false_alarms / (areas * months), 6),
                "large_headcount": self.large}


TENSION_HORIZON_DAYS = 14.0
"""a tension alert is a hit when a group incident starts in its community within this many days after it"""


def score_tension(alerts: list[dict[str, Any]], truth: Truth, communities: int) -> dict[str, Any]:
    """Hits (an incident whose community was alerted in the 14 days before it started), lead in days, false alarms
    (alert episodes followed by no incident in their community within 14 days), per community-month."""
    t0 = epoch0(truth.start)
    episodes: dict[str, tuple[float, str, int]] = {}
    for a in alerts:
        raised = datetime.fromisoformat(a["raised_at"]).timestamp()
        first = episodes.get(a["alert_id"])
        episodes[a["alert_id"]] = (first[0] if first else raised, a["area_code"], max(a["level_rank"], first[2] if first else 0))
    incidents = [g for g in truth.incidents if 0 <= g.start < truth.days]
    starts = [(t0 + g.start * DAY, g.area_code[:12]) for g in incidents]
    horizon = TENSION_HORIZON_DAYS * DAY
    leads: list[float] = []
    hit_flags = []
    for (start, comm) in starts:
        before = [r for r, c, _ in episodes.values() if c == comm and start - horizon <= r < start]
        hit_flags.append(bool(before))
        if before:
            leads.append((start - min(before)) / DAY)
    followed = [any(c == comm and r < start <= r + horizon for start, comm in starts) for r, c, _ in episodes.values()]
    false_alarms = sum(not f for f in followed)
    months = truth.days / 30.44

    def part(keep: list[bool]) -> dict[str, int]:
        return {"incidents": sum(keep), "hits": sum(h for h, k in zip(hit_flags, keep) if k)}

    return {"incidents": len(incidents), "hits": sum(hit_flags), "misses": len(incidents) - sum(hit_flags),
            "median_lead_days": round(float(np.median(leads)), 1) if leads else None,
            "alert_episodes": len(episodes), "false_alarms": false_alarms,
            "precision": round(sum(followed) / len(episodes), 3) if episodes else None,
            "false_alarms_per_area_month": round(false_alarms / (max(communities, 1) * months), 6),
            "area": "community", "horizon_days": TENSION_HORIZON_DAYS,
            "wage_related": part([g.wage_related for g in incidents]),
            "large": part([g.peak_headcount >= LARGE for g in incidents]),
            "with_building_tension": part([g.tension_days > 0 for g in incidents]),
            "by_level": {lv: sum(1 for _, _, r in episodes.values() if r == k) for k, lv in
                         ((1, "blue"), (2, "yellow"), (3, "red"))}}


@dataclass
class LogPass:
    stats: DecodeStats
    run: EngineRun
    trace: PointsTrace
    groups: GatheringAlerts
    days: int
    seen: EvidenceSeen
    groups_headcount_only: GatheringAlerts
    """the same alerting without the street's complaint surge, to measure what the surge adds"""
    groups_growth_only: GatheringAlerts
    """the headcount's growth alone, without the district's record of crowd sizes: the rule before issue #23"""

    def span(self) -> tuple[date, int]:
        """First delivery day of the log and the number of days through its last delivery."""
        if self.stats.first_at is None or self.stats.last_at is None:
            return date(2000, 1, 1), 1
        first = datetime.fromtimestamp(self.stats.first_at, CST).date()
        last = datetime.fromtimestamp(self.stats.last_at, CST).date()
        return first, (last - first).days + 1


def run_log(items: Iterable[LogItem] | None, rules: Any, table: BaselineTable, stats: DecodeStats,
            progress: bool = False, keep_scores: bool = False, record: Callable[[list[Any]], None] | None = None,
            before_batch: Callable[[list[DecodedEvent]], None] | None = None,
            tension_rows: list[tuple[str, int, list[float]]] | None = None,
            decoded: Iterable[tuple[int, DecodedEvent]] | None = None) -> LogPass:
    """Decode ``items`` once and feed each delivery day to the engine, the baseline and the gathering tracker.

    ``tension_rows``, when a list, receives every community-day's tension features (for fitting the weights).
    ``stats`` collects counts and problem lines (pass the same
    :class:`~simulators.evaluation.logfiles.LineProblems` to the reader that made ``items``). ``decoded``
    instead of ``items``: events already decoded against ``REF_MIDNIGHT``
    (:func:`simulators.evaluation.decode_ahead.decoded_ahead`, which fills ``stats`` itself).
    """
    if (items is None) == (decoded is None):
        raise ValueError("give run_log either items or decoded events")
    engine = EnginePass(rules, keep_scores)
    engine.engine.record = record
    surges = ComplaintSurgeTracker()
    groups = GatheringAlerts(GroupIncidentWatch(surges, large=LARGE, tension=AreaTensionTracker(record=tension_rows)))
    plain = GatheringAlerts(GroupIncidentWatch(None, large=LARGE))
    growth = GatheringAlerts(GroupIncidentWatch(None, large=LARGE, size_prior=False))
    seen = EvidenceSeen()
    bar = tqdm(desc="backtest", unit="day", disable=not progress, leave=False, mininterval=0.5)
    days = 0

    def enterprise_events() -> Iterator[tuple[str, dict[str, Any], float, float]]:
        nonlocal days
        source = decoded if decoded is not None else decode_items(items or (), stats, REF_MIDNIGHT)
        for d, batch in day_batches(source):
            ours = [ev for ev in batch if ev.enterprise_id]
            if before_batch is not None:
                before_batch(ours)
            wage_alerts = engine.step(ours, REF_MIDNIGHT + d * DAY)
            seen.observe(ours)
            surges.process(batch)
            groups.observe(batch)
            plain.observe(batch)
            growth.observe(batch)
            groups.close_days(wage_alerts)  # as the worker does after each batch: the next day's gatherings see them
            days += 1
            bar.update()
            for ev in ours:
                yield ev.data_class, ev.fields, ev.t, ev.t if ev.at is None else ev.at

    # the baseline's trace consumes the same pass: the engine and the tracker see each day just before it
    trace = trace_points(table, enterprise_events())
    bar.close()
    return LogPass(stats, engine.result(), trace, groups, days, seen, plain, growth)


def match_baseline(trace: PointsTrace, table: BaselineTable, n_alerts: int) -> tuple[int, list[dict[str, Any]]]:
    """The points threshold whose alert count is closest to the detector's (ties: the higher threshold)."""
    best: tuple[int, int] | None = None
    counts = trace.counts(table.cooldown_days)
    for thr in range(1, max(trace.max_points(), 1) + 1):
        gap = abs(counts[thr] - n_alerts)
        if best is None or gap < best[0] or (gap == best[0] and thr > best[1]):
            best = (gap, thr)
    assert best is not None
    return best[1], trace.alerts(best[1], table.cooldown_days, table.deadline_days)

