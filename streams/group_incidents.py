"""Group-incident alerts from the grid's gathering reports, for the stream worker and the backtest alike.

Each gathering's successive headcounts go to
:class:`detectors.group_incident.GatheringTracker`, which projects the
headcount half an hour ahead and weighs it by how large the district's past
crowds grew (a crowd of 19 growing fast is rarely the one that reaches 100).
The street's wage-complaint surge over the past
week (:class:`streams.complaint_surge.ComplaintSurgeTracker`) shifts that
probability a little (:func:`detectors.group_incident.surge_prior`), and so
does the place: a wage gathering naming an enterprise the wage-arrears engine
holds at yellow or red (:meth:`GroupIncidentWatch.note_alerts`,
:func:`detectors.group_incident.place_prior`). A gathering projected to become
large is alerted once, at once: an officer must never miss an escalation. The
alert states the projected headcount with its interval
(:func:`detectors.crowd_growth.project`). No Faust import: the agent feeds
events and the engine's alerts in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from detectors.engine import DecodedEvent, iso
from detectors.evidence import WAGE_TOPICS
import numpy as np

from detectors.crowd_growth import project
from detectors.group_incident import CrowdSizes, GatheringTracker, Judgement, place_prior, surge_prior
from detectors.levels import LEVEL_NAMES, alert_id
from streams.area_tension import AreaTensionTracker
from streams.complaint_surge import ComplaintSurgeTracker
from streams.records import MAX_PEOPLE

RULES_VERSION = "group-growth-2"
"""2: the growth weighed by the district's record of crowd sizes (issue #23)"""
RISK_KEY = "~enterprise-risk"
"""where earlier versions kept every enterprise's level in one value of the gathering part (read, then deleted)"""
HANDLE_WITHIN = timedelta(hours=1)
"""a gathering is handled on the spot, not within days"""


def _people(headcount: object) -> int:
    """The contract's bound, held here too: the backtest feeds events the contract never saw (issue #19)."""
    return min(max(int(headcount), 0), MAX_PEOPLE)


@dataclass
class EnterpriseLevels:
    """Enterprise id → its open wage-arrears level rank (2 yellow, 3 red), from the engine's alerts.

    Its own part of the worker's table, a key per enterprise, written *before* the enterprise states. Why:
    these levels follow from alerts the engine raises only while the enterprise's state is not yet written;
    kept after the states (as one value of the gathering part, until 2026-12-03), a kill -9 between the two
    left a level the replay never raised again, and a later gathering at that enterprise was judged without it.
    """
    ranks: dict[str, int] = field(default_factory=dict)
    _changed: set[str] = field(default_factory=set)

    def note(self, alerts: list[dict[str, Any]]) -> None:
        for a in alerts:
            if a.get("kind") != "wage_arrears" or a.get("list", "inspect_now") != "inspect_now":
                continue
            ent, rank = str(a["subject_id"]), int(a.get("level_rank") or 0)
            if rank >= 2:
                self.ranks[ent] = rank
            else:
                self.ranks.pop(ent, None)
            self._changed.add(ent)

    def changes(self) -> dict[str, Any]:
        out = {ent: self.ranks.get(ent) for ent in sorted(self._changed)}
        self._changed.clear()
        return out

    def restore(self, items: dict[str, Any]) -> None:
        self.ranks.update({str(k): int(r) for k, r in items.items() if r is not None})

    def take_legacy(self, ranks: dict[str, Any]) -> None:
        """Levels an earlier version kept in one value: taken up, and written again under their own keys."""
        self.ranks.update({str(k): int(r) for k, r in ranks.items()})
        self._changed.update(map(str, ranks))


@dataclass
class GroupIncidentWatch:
    surges: ComplaintSurgeTracker | None = None
    """where the street's wage-complaint surge comes from; None leaves the headcount alone to decide"""
    large: float = 100.0
    threshold: float = 0.5
    tension: AreaTensionTracker | None = None
    """days-ahead tension per community (``area_tension`` alerts, from :meth:`close_days`); None raises gathering
    alerts only. Its state is its own part of the worker's table (``tension:``), not in :meth:`changes`"""
    levels: EnterpriseLevels = field(default_factory=EnterpriseLevels)
    """the enterprises' wage-arrears levels: a part of the worker's table of their own (``levels:``)"""
    size_prior: bool = True
    """weigh the chance that a crowd's peak lies beyond ``large`` by the district's past gatherings
    (:class:`detectors.group_incident.CrowdSizes`); False is the growth-only rule of before"""
    tracker: GatheringTracker = field(init=False)

    def __post_init__(self) -> None:
        self.tracker = GatheringTracker(threshold=self.threshold, large=self.large,
                                        sizes=CrowdSizes() if self.size_prior else None)
        self._changed: set[str] = set()
        self._legacy_risk = False
        """a state of an earlier version held the levels under RISK_KEY: delete it on the next write"""

    @property
    def enterprise_risk(self) -> dict[str, int]:
        return self.levels.ranks

    def note_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Take the wage-arrears engine's alerts: which enterprises are at yellow or red now (closed ones leave)."""
        if self.tension is not None:
            self.tension.note_alerts(alerts)
        self.levels.note(alerts)

    def close_days(self) -> list[dict[str, Any]]:
        """``area_tension`` alerts for the communities whose tension reached a level on a day the batch closed.

        Called after :meth:`note_alerts` for the batch: a day that ended inside the batch weighs the wage-arrears
        levels raised before its end, also by the batch's own events, whatever the batches were (issue #23).
        """
        return self.tension.settle() if self.tension is not None else []

    def changes(self) -> dict[str, Any]:
        """Gatherings touched since the last call, as JSON by gathering id, for a Faust table (issue #19: a
        gathering growing 30 → 33 → 95 across a restart raised no alert, its counts were in memory only)."""
        t = self.tracker
        self._changed.update(t.finished)
        t.finished.clear()
        out: dict[str, Any] = {}
        for gid in sorted(self._changed):
            out[gid] = {"counts": t.counts[gid], "alerted": gid in t.ranks, "peak": t.peak[gid], "done": gid in t.done}
            if gid in t.ranks:
                out[gid].update(rank=t.ranks[gid], since=t.since[gid])
        self._changed.clear()
        if self._legacy_risk:
            out[RISK_KEY] = None
            self._legacy_risk = False
        return out

    def restore(self, items: dict[str, Any]) -> None:
        for gid, v in items.items():
            if gid == RISK_KEY:
                self.levels.take_legacy(v or {})
                self._legacy_risk = True
                continue
            if v is None:
                continue
            self.tracker.restore(gid, v)

    def process(self, events: list[DecodedEvent]) -> list[dict[str, Any]]:
        """Alerts for the gatherings in ``events`` that are now projected to become large (once each). The tension
        tracker only takes the events in: its days close in :meth:`close_days`."""
        if self.tension is not None:
            self.tension.take(events)
        out: list[dict[str, Any]] = []
        for ev in events:
            if ev.data_class != "gathering_report":
                continue
            f = ev.fields
            area = str(f["area_code"])
            wage = f.get("cause") in WAGE_TOPICS  # a wage-complaint surge says nothing of buyers or creditors
            stat = self.surges.area_statistic(area, ev.t) if self.surges is not None and wage else 0.0
            prior = surge_prior(stat)
            rank = self.enterprise_risk.get(str(f.get("enterprise_id") or ""), 0)
            place = place_prior(str(f.get("cause", "other")), rank)
            judged = self.tracker.observe(str(f["gathering_id"]), ev.t / 60.0, _people(f["headcount"]), prior + place)
            self._changed.add(str(f["gathering_id"]))
            if judged.rise:
                out.append(self._alert(ev, judged, stat, prior, place, rank))
        return out

    def _alert(self, ev: DecodedEvent, judged: Judgement, stat: float, prior: float, place: float = 0.0,
               rank: int = 0) -> dict[str, Any]:
        f = ev.fields
        gid, area, headcount = str(f["gathering_id"]), str(f["area_code"]), _people(f["headcount"])
        seq = self.tracker.counts[gid]
        first_t, first_n = seq[0]
        span = ev.t / 60.0 - first_t
        growth = (f"from {first_n} to {headcount} people in {span:.0f} minutes" if len(seq) > 1
                  else f"{headcount} people at the first count")
        p = judged.p
        reasons = [{"signal": "gathering_growth", "label": "gathering growing",
                    "contribution": round(judged.p_growth, 3), "detail": f"{growth} ({f.get('cause', 'other')})",
                    "event_id": str(f["event_id"]), "event_time": ev.t}]
        proj = project(np.array([x[0] for x in seq]), np.array([x[1] for x in seq]), self.tracker.horizon_min)
        reasons.append({"signal": "crowd_projection", "label": "projected headcount",
                        "contribution": round(proj.probability_at_least(self.large), 3),
                        "detail": proj.describe(), "event_id": str(f["event_id"]), "event_time": ev.t})
        sizes = self.tracker.sizes
        if sizes is not None:
            reach = sizes.reach_probability(headcount, self.large)
            reasons.append({"signal": "crowd_sizes", "label": "how large crowds here grow",
                            "contribution": round(reach, 3),
                            "detail": (f"a crowd of {headcount} goes on to {self.large:.0f} or more with p={reach:.2f} "
                                       f"by the district's {sizes.seen} past gatherings (tail index {sizes.alpha:.2f})"),
                            "event_id": "", "event_time": ev.t})
        if place > 0:
            reasons.append({"signal": "enterprise_at_risk", "label": "the enterprise owing them is at risk",
                            "contribution": round(place, 3),
                            "detail": f"{f.get('enterprise_id')} at {'red' if rank >= 3 else 'yellow'} wage-arrears risk",
                            "event_id": "", "event_time": ev.t})
        if prior > 0:
            reasons.append({"signal": "complaint_surge", "label": "wage complaints surging in the street",
                            "contribution": round(prior, 3),
                            "detail": f"wage complaints in street {area[:9]} at p={10 ** -stat:.2g} in the past week",
                            "event_id": "", "event_time": ev.t})
        start = iso(round(self.tracker.since[gid] * 60.0, 6))  # minutes back to the event's own seconds
        return {
            "alert_id": alert_id("group_incident", gid, start),
            "kind": "group_incident", "subject_id": gid, "subject_name": f"gathering in {area}",
            "area_code": area, "level": LEVEL_NAMES[judged.rank], "level_rank": judged.rank,
            "status": "open", "score": round(p, 6), "workers_at_risk": headcount,
            "expected_harm": round(p * max(headcount, self.large), 3), "reasons": reasons,
            "episode_start": start, "raised_at": start, "changed_at": iso(ev.t),
            "deadline": (datetime.fromtimestamp(ev.t, tz=timezone.utc) + HANDLE_WITHIN).isoformat(),
            "rules_version": RULES_VERSION,
        }
