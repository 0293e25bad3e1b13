"""Tension per community, scored at each day's close, for the stream worker and the backtest alike.

Counts the day's wage complaints and petitions per grid, the collective
petitions per community, and which enterprises the wage-arrears engine holds
at yellow or red (:meth:`AreaTensionTracker.note_alerts`); when a day closes
it runs the space-time scan over the grids and scores every community with
:mod:`detectors.area_tension`. A community whose score reaches a level opens
an ``area_tension`` alert (raised again, same id, when the level rises) that
states its reasons. No Faust import: :class:`streams.group_incidents.GroupIncidentWatch`
feeds it events.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from detectors.area_tension import FEATURES, LEVELS, WEIGHTS, calendar_risk, level_of, reasons, score, voice_surprise
from detectors.engine import DecodedEvent, iso
from detectors.evidence import WAGE_TOPICS
from detectors.levels import LEVEL_NAMES, alert_id
from detectors.spacetime_scan import scan, sibling_zones

DAY = 86400.0
RULES_VERSION = "area-tension-1"
COMMUNITY = 12
"""digits of a community's area code"""
HISTORY_DAYS, WINDOW_DAYS, SCAN_DAYS, COLLECTIVE_DAYS = 56, 7, 42, 14
MIN_HISTORY_DAYS = 28
"""no community is weighed against less than four weeks of its own history"""
DEADLINE_DAYS = {"blue": 1.0, "yellow": 3.0, "red": 7.0}
"""DESIGN §2: level 3 on the spot (grid), level 2 within 3 days (street), level 1 within 7 days (district)"""


@dataclass
class AreaTensionTracker:
    utc_offset_hours: float = 8.0
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    levels: tuple[float, float, float] = LEVELS
    scan_replicates: int = 99
    record: list[tuple[str, int, list[float]]] | None = None
    """when a list, every community-day's features are appended (community, day, features) for fitting"""

    def __post_init__(self) -> None:
        self.voices: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        """day → grid → wage complaints and petitions"""
        self.collective: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.seen: dict[int, set[str]] = defaultdict(set)
        self.risk: dict[str, tuple[int, int, str]] = {}
        """enterprise → (level rank, workers, area code)"""
        self.grids: set[str] = set()
        self.closed_through: int | None = None
        self.first_day: int | None = None
        """the first day counted: days before it are unknown, not quiet"""
        self.episodes: dict[str, tuple[float, int]] = {}
        """community → (episode start, level) while its score holds a level"""

    def day_of(self, t: float) -> int:
        return math.floor((t + self.utc_offset_hours * 3600) / DAY)

    def note_alerts(self, alerts: list[dict[str, Any]]) -> None:
        for a in alerts:
            if a.get("kind") != "wage_arrears" or a.get("list", "inspect_now") != "inspect_now":
                continue
            rank = int(a.get("level_rank") or 0)
            if rank >= 2 and a.get("area_code"):
                self.risk[str(a["subject_id"])] = (rank, int(a.get("workers_at_risk") or 0), str(a["area_code"]))
            else:
                self.risk.pop(str(a["subject_id"]), None)

    def process(self, events: list[DecodedEvent]) -> list[dict[str, Any]]:
        """Count the batch; alerts for the days it closed."""
        out: list[dict[str, Any]] = []
        for ev in events:
            day = self.day_of(ev.t)
            if self.closed_through is None:
                self.closed_through = self.first_day = day - 1
            while day > self.closed_through + 1:          # time moved into a new day: close the one before
                out.extend(self._close(self.closed_through + 1))
                self.closed_through += 1
            if ev.data_class not in ("hotline_complaint", "petition"):
                continue
            area = str(ev.fields.get("area_code", ""))
            if len(area) != 15 or ev.event_id in self.seen[day]:
                continue
            self.seen[day].add(ev.event_id)
            self.grids.add(area)
            if str(ev.fields.get("topic", "other")) in WAGE_TOPICS:
                self.voices[day][area] += 1
            if ev.data_class == "petition" and int(ev.fields.get("petitioners", 1)) >= 5:
                self.collective[day][area[:COMMUNITY]] += 1
        return out

    def features(self, day: int) -> dict[str, np.ndarray]:
        """Each community's features at the close of ``day`` (columns in :data:`detectors.area_tension.FEATURES`)."""
        grids = sorted(self.grids)
        index = {g: i for i, g in enumerate(grids)}
        counts = np.zeros((len(grids), HISTORY_DAYS + WINDOW_DAYS))
        for k, d in enumerate(range(day - HISTORY_DAYS - WINDOW_DAYS + 1, day + 1)):
            for g, n in self.voices.get(d, {}).items():
                counts[index[g], k] = n
        communities = sorted({g[:COMMUNITY] for g in grids})
        ci = {c: i for i, c in enumerate(communities)}
        member = np.array([ci[g[:COMMUNITY]] for g in grids], dtype=int)
        by_comm = np.zeros((len(communities), counts.shape[1]))
        np.add.at(by_comm, member, counts)
        x = np.zeros((len(communities), len(FEATURES)))
        workers = defaultdict(float)
        for rank, n, area in self.risk.values():
            workers[area[:COMMUNITY]] += (rank - 1) * n
        for c, w in workers.items():
            if c in ci:
                x[ci[c], 0] = np.log1p(w)
        for d in range(day - COLLECTIVE_DAYS + 1, day + 1):
            for c, n in self.collective.get(d, {}).items():
                if c in ci:
                    x[ci[c], 1] += n
        x[:, 1] = np.minimum(x[:, 1], 3)
        known = day - WINDOW_DAYS - (self.first_day if self.first_day is not None else day) + 1
        if known >= MIN_HISTORY_DAYS:           # weighed against its own history only once it has one
            span = min(known, HISTORY_DAYS)
            hist, recent = by_comm[:, HISTORY_DAYS - span:HISTORY_DAYS], by_comm[:, HISTORY_DAYS:].sum(axis=1)
            x[:, 2] = voice_surprise(recent, hist, span / 7)
        if known >= SCAN_DAYS - WINDOW_DAYS and counts[:, -SCAN_DAYS:].sum() > 0 and len(grids) > 1:
            result = scan(counts[:, -SCAN_DAYS:], sibling_zones(grids, max_grids=3), max_days=WINDOW_DAYS,
                          replicates=self.scan_replicates, rng=np.random.default_rng(day))
            for cl in result.clusters:
                for gi in cl.grids:
                    c = ci[grids[gi][:COMMUNITY]]
                    x[c, 3] = max(x[c, 3], -np.log10(cl.p_value))
        x[:, 4] = calendar_risk(datetime.fromtimestamp(day * DAY, tz=timezone.utc).date())
        return {c: x[i] for c, i in ci.items()}

    def _close(self, day: int) -> list[dict[str, Any]]:
        for old in [d for d in self.voices if d < day - HISTORY_DAYS - WINDOW_DAYS]:
            del self.voices[old]
        for old in [d for d in list(self.collective) + list(self.seen) if d < day - HISTORY_DAYS - WINDOW_DAYS]:
            self.collective.pop(old, None)
            self.seen.pop(old, None)
        if not self.grids:
            return []
        feats = self.features(day)
        names = list(feats)
        rows = np.array([feats[c] for c in names])
        probs = score(rows, self.weights)
        at = (day + 1) * DAY - self.utc_offset_hours * 3600         # the close of the local day, epoch s
        out = []
        for c, row, p in zip(names, rows, probs):
            if self.record is not None:
                self.record.append((c, day, row.tolist()))
            level = level_of(float(p), self.levels)
            held = self.episodes.get(c)
            if level == 0 and (held is None or p < 0.7 * self.levels[0]):
                self.episodes.pop(c, None)
                continue
            if held is not None and level <= held[1]:
                continue
            start = held[0] if held is not None else at
            self.episodes[c] = (start, max(level, held[1] if held else 0))
            out.append(self._alert(c, float(p), level, row, start, at))
        return out

    def _alert(self, community: str, p: float, level: int, row: np.ndarray, start: float, at: float) -> dict[str, Any]:
        colour = LEVEL_NAMES[level]
        why = reasons(row, self.weights)
        return {
            "alert_id": alert_id("area_tension", community, iso(start)),
            "kind": "area_tension", "subject_id": community, "subject_name": f"community {community}",
            "area_code": community, "level": colour, "level_rank": level, "status": "open",
            "score": round(p, 6), "workers_at_risk": int(round(float(np.expm1(row[0])))),
            "expected_harm": round(p * 100.0, 3),
            "reasons": [{"signal": r.feature, "label": r.feature.replace("_", " "),
                         "contribution": round(r.contribution, 3), "detail": r.text(), "event_id": "",
                         "event_time": at} for r in why],
            "episode_start": iso(start), "raised_at": iso(at), "changed_at": iso(at),
            "deadline": (datetime.fromtimestamp(at, tz=timezone.utc) + timedelta(days=DEADLINE_DAYS[colour])).isoformat(),
            "rules_version": RULES_VERSION,
        }
