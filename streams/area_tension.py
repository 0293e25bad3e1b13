"""Tension per community, scored at each day's close, for the stream worker and the backtest alike.

Counts the day's wage complaints and petitions per grid, the collective
petitions per community, and which enterprises the wage-arrears engine holds
at yellow or red (:meth:`AreaTensionTracker.note_alerts`); when a day closes
it runs the space-time scan over the grids and scores every community with
:mod:`detectors.area_tension`. A community whose score reaches a level opens
an ``area_tension`` alert (raised again, same id, when the level rises) that
states its reasons. No Faust import: :class:`streams.group_incidents.GroupIncidentWatch`
feeds it events.

Why days close at the end of a batch, not at the event that ends them: the
engine scores a batch after the area trackers, so a day closed mid-batch would
not yet know the wage-arrears levels its own last hours raised, and a big
catch-up batch would decide otherwise than live batches (issue #23).
:meth:`AreaTensionTracker.take` only queues the batch's events;
:meth:`AreaTensionTracker.settle`, called after the engine's alerts are noted,
replays them in their order, closing a day where the first event of a later
one stands, and weighs each enterprise at its level as of that day's end (its
alerts' ``changed_at``). The state goes to the worker's table
(:meth:`AreaTensionTracker.changes`), so a restart goes on as if none happened.

That holds for events in event-time order, as the worker releases them
(streams/align.py). An event released after a later one (a partition forced
out of order) is counted after the days it arrived behind have closed, in
any batching; but a level change its enterprise gets from it, dated inside
such a day, still counts for that day if it comes in the batch that closes it.
"""
from __future__ import annotations

import bisect
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


Queued = tuple[int, str, str, bool, bool] | int
"""an event as the tracker counts it (day, event id, grid, wage topic, collective petition), or a day alone (any
other event: time moved on)"""
Change = tuple[float, int, int, str]
"""an enterprise's wage-arrears level from an alert's ``changed_at`` on: (epoch s, rank, workers, area code); rank 0
when it is not at yellow or red"""


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
        self.seen: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        """day → community → the event ids counted (a redelivery counts once); "" holds the ids of a
        state written before the days were kept per community"""
        self.risk: dict[str, list[Change]] = {}
        """enterprise → its level changes, oldest first; the last one before a day's end is its level then"""
        self.grids: dict[str, int] = {}
        """grid → the day it was first heard from (a day's scan weighs the grids heard from by then)"""
        self.closed_through: int | None = None
        self.first_day: int | None = None
        """the first day counted: days before it are unknown, not quiet"""
        self.episodes: dict[str, tuple[float, int]] = {}
        """community → (episode start, level) while its score holds a level"""
        self._queue: list[Queued] = []
        self._front: int | None = None
        """the latest day taken"""
        self._latest = float("-inf")
        """the latest event time taken: when an alert without ``changed_at`` counts from"""
        self._days_changed: set[tuple[int, str]] = set()
        """(day, community) whose counts changed"""
        self._days_gone: set[tuple[int, str]] = set()
        self._grids_changed: set[str] = set()
        self._risk_changed: set[str] = set()
        self._unsettled: set[str] = set()
        """enterprises with a level change that no closed day has yet read past"""
        self._meta_changed = False

    def day_of(self, t: float) -> int:
        return math.floor((t + self.utc_offset_hours * 3600) / DAY)

    def day_end(self, day: int) -> float:
        """The close of local ``day``, epoch s (the first instant of the next)."""
        return (day + 1) * DAY - self.utc_offset_hours * 3600

    def note_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Take the engine's wage-arrears alerts, each from its ``changed_at`` on (a day closed later in the same
        batch weighs only those raised before its end)."""
        for a in alerts:
            if a.get("kind") != "wage_arrears" or a.get("list", "inspect_now") != "inspect_now":
                continue
            ent, rank = str(a["subject_id"]), int(a.get("level_rank") or 0)
            at = datetime.fromisoformat(a["changed_at"]).timestamp() if a.get("changed_at") else self._latest
            held = rank >= 2 and bool(a.get("area_code"))
            change: Change = (at, rank if held else 0, int(a.get("workers_at_risk") or 0) if held else 0,
                              str(a["area_code"]) if held else "")
            changes = self.risk.setdefault(ent, [])
            k = bisect.bisect_right([c[0] for c in changes], at)
            if k and changes[k - 1][0] == at:
                changes[k - 1] = change            # the same instant again (a replay, or a later word on it)
            else:
                changes.insert(k, change)
            self._risk_changed.add(ent)
            self._unsettled.add(ent)

    def take(self, events: list[DecodedEvent]) -> None:
        """Queue the batch's events for :meth:`settle` (what could fail on a malformed event fails here, in the
        worker's poison-guarded stage)."""
        for ev in events:
            day = self.day_of(ev.t)
            self._latest = max(self._latest, ev.t)
            area = str(ev.fields.get("area_code", "")) if ev.data_class in ("hotline_complaint", "petition") else ""
            if len(area) == 15:
                collective = ev.data_class == "petition" and int(ev.fields.get("petitioners", 1)) >= 5
                self._queue.append((day, ev.event_id, area, str(ev.fields.get("topic", "other")) in WAGE_TOPICS,
                                    collective))
            elif self._front is None or day > self._front:
                self._queue.append(day)
            self._front = day if self._front is None else max(self._front, day)

    def settle(self) -> list[dict[str, Any]]:
        """Count what was taken, in its order, closing each day where an event of a later day stands; alerts for
        the days closed. Call it once the batch's wage-arrears alerts are noted."""
        out: list[dict[str, Any]] = []
        for item in self._queue:
            day = item if isinstance(item, int) else item[0]
            if self.closed_through is None:
                self.closed_through = self.first_day = day - 1
                self._meta_changed = True
            while day > self.closed_through + 1:          # time moved into a new day: close the one before
                out.extend(self._close(self.closed_through + 1))
                self.closed_through += 1
                self._meta_changed = True
            if isinstance(item, int):
                continue
            _, event_id, area, wage, collective = item
            community = area[:COMMUNITY]
            seen = self.seen[day]
            if event_id in seen[community] or event_id in seen.get("", ()):
                continue
            seen[community].add(event_id)
            self._days_changed.add((day, community))
            if self.grids.get(area, day + 1) > day:
                self.grids[area] = day
                self._grids_changed.add(area[:COMMUNITY])
            if wage:
                self.voices[day][area] += 1
            if collective:
                self.collective[day][area[:COMMUNITY]] += 1
        self._queue.clear()
        if self.closed_through is not None:
            self._compact(self.day_end(self.closed_through))
        return out

    def process(self, events: list[DecodedEvent]) -> list[dict[str, Any]]:
        """Count the batch; alerts for the days it closed (:meth:`take` then :meth:`settle`, for a caller with no
        engine alerts to note in between)."""
        self.take(events)
        return self.settle()

    def level_at(self, enterprise: str, at: float) -> Change | None:
        """The enterprise's last level change before ``at``."""
        last = None
        for change in self.risk.get(enterprise, ()):
            if change[0] >= at:
                break
            last = change
        return last

    def _compact(self, end: float) -> None:
        """Forget the level changes no day closing from ``end`` on can read: all but the last before it (and that
        one too if it is rank 0)."""
        for ent in list(self._unsettled):
            changes = self.risk.get(ent)
            k = sum(1 for c in changes or () if c[0] < end)
            keep = 1 if changes and k and changes[k - 1][1] else 0
            if changes and k > keep:
                del changes[:k - keep]
                self._risk_changed.add(ent)
                if not changes:
                    del self.risk[ent]
            if not changes or changes[-1][0] < end:
                self._unsettled.discard(ent)

    # ------------------------------------------------------------ persistence
    def changes(self) -> dict[str, Any]:
        """What changed since the last call, as JSON by table key (None deletes), in the order to write it.

        Keys: ``grids:<community>`` (its grids and the day each was first heard from), ``day:<day>:<community>``
        (the community's counts that day and the event ids counted, for redeliveries), ``meta`` (days closed, open
        episodes), ``risk:<enterprise>`` (its level changes). A live batch writes the communities it heard from
        on the day in progress, the enterprises the engine alerted, and ``meta`` when a day closed; a catch-up
        batch at most the 63 days kept, besides the communities first heard from and the enterprises alerted.
        Why a key per community and day: one key per day held every id the district counted that day, rewritten
        whole by every batch, and grew past what a changelog record may hold on a busy day.

        The order makes any prefix that a kill -9 leaves safe to replay from: what forgets (days past, level
        changes no open day reads) comes after ``meta``, so a day not marked closed is closed again over what
        it read (counts may land either side: a replayed event is counted once, by its id). The worker writes
        all of these before the enterprise states, so a level change whose key did not land is raised again by
        the engine and noted again (tests/streams/test_area_tension.py cuts a catch-up batch's writes at
        every point; tests/streams/test_restart_equivalence.py the worker's).
        """
        out: dict[str, Any] = {}
        if self._grids_changed:
            by_comm: dict[str, dict[str, int]] = defaultdict(dict)
            for g, d in sorted(self.grids.items()):
                if g[:COMMUNITY] in self._grids_changed:
                    by_comm[g[:COMMUNITY]][g] = d
            for comm in sorted(by_comm):
                out[f"grids:{comm}"] = by_comm[comm]
        voices_by_day: dict[int, dict[str, dict[str, int]]] = {}
        """day → community → its grids' counts, grouped once per day (not scanned again for each community)"""
        for day, community in sorted(self._days_changed - self._days_gone):
            if day not in voices_by_day:
                grouped: dict[str, dict[str, int]] = defaultdict(dict)
                for g, n in self.voices.get(day, {}).items():
                    grouped[g[:COMMUNITY]][g] = n
                voices_by_day[day] = grouped
            out[f"day:{day}:{community}"] = {
                "seen": sorted(self.seen[day][community]),
                "voices": dict(voices_by_day[day].get(community, {})),
                "collective": {community: self.collective[day][community]}
                if community in self.collective.get(day, {}) else {}}
        if self._meta_changed:
            out["meta"] = {"closed_through": self.closed_through, "first_day": self.first_day,
                           "episodes": {c: list(v) for c, v in self.episodes.items()}}
        for day, community in sorted(self._days_gone):
            out[f"day:{day}:{community}" if community else f"day:{day}"] = None
        for ent in sorted(self._risk_changed):
            out[f"risk:{ent}"] = [list(c) for c in self.risk[ent]] if ent in self.risk else None
        self._grids_changed.clear()
        self._days_changed.clear()
        self._days_gone.clear()
        self._risk_changed.clear()
        self._meta_changed = False
        return out

    def restore(self, items: dict[str, Any]) -> None:
        """Rebuild from what :meth:`changes` wrote."""
        days = sorted(((k, v) for k, v in items.items() if k.startswith("day:") and v is not None),
                      key=lambda kv: kv[0].count(":"))   # a whole day of an earlier version before its communities
        for key, v in days:
            parts = key.split(":")
            day, community = int(parts[1]), (parts[2] if len(parts) > 2 else "")
            self.seen[day][community] = set(v["seen"])
            self.voices[day].update({str(g): int(n) for g, n in v["voices"].items()})
            self.collective[day].update({str(c): int(n) for c, n in v["collective"].items()})
        for key, v in items.items():
            if v is None:
                continue
            kind, _, name = key.partition(":")
            if kind == "grids":
                self.grids.update({str(g): int(d) for g, d in v.items()})
            elif kind == "risk":
                self.risk[name] = [(float(t), int(r), int(n), str(a)) for t, r, n, a in v]
                self._unsettled.add(name)
            elif kind == "meta":
                self.closed_through, self.first_day = v["closed_through"], v["first_day"]
                self.episodes = {str(c): (float(s), int(lv)) for c, (s, lv) in v["episodes"].items()}
        if self.closed_through is not None:
            self._front = self.closed_through + 1

    def features(self, day: int) -> dict[str, np.ndarray]:
        """Each community's features at the close of ``day`` (columns in :data:`detectors.area_tension.FEATURES`)."""
        grids = sorted(g for g, first in self.grids.items() if first <= day)
        if not grids:
            return {}
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
        end = self.day_end(day)
        for ent in self.risk:
            held = self.level_at(ent, end)
            if held is not None and held[1] >= 2:
                _, rank, n, area = held
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
        for old in {d for d in [*self.voices, *self.collective, *self.seen] if d < day - HISTORY_DAYS - WINDOW_DAYS}:
            self.voices.pop(old, None)
            self.collective.pop(old, None)
            self._days_gone.update((old, community) for community in self.seen.pop(old, {}))
        feats = self.features(day)
        if not feats:
            return []
        names = list(feats)
        rows = np.array([feats[c] for c in names])
        probs = score(rows, self.weights)
        at = self.day_end(day)
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
