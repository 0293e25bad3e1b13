"""Group-incident scoring in the backtest: gathering reports → detector → hits, misses, lead minutes."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np

from detectors.group_incident import GatheringTracker
from simulators.scenario import Scenario
from simulators.truth import Truth, epoch0

LARGE = 100
"""A gathering that reaches this many people is a group incident the detector must catch."""


def score_group_incidents(lines: list[str], truth: Truth, s: Scenario, large: int = LARGE) -> dict[str, Any]:
    t0 = epoch0(s.start)
    tracker = GatheringTracker(large=float(large))
    alerts: dict[str, float] = {}
    for text in lines:
        if '"class":"gathering_report"' not in text or '"raw":' in text:
            continue
        ev = json.loads(text)["event"]
        t_min = (datetime.fromisoformat(ev["occurred_at"]).timestamp() - t0) / 60.0
        _, fire = tracker.observe(ev["gathering_id"], t_min, int(ev["headcount"]))
        if fire:
            alerts[ev["gathering_id"]] = t_min
    big = {g.gathering_id: g for g in truth.incidents if 0 <= g.start < s.days and g.peak_headcount >= large}
    hits, leads = 0, []
    for gid, g in big.items():
        at = alerts.get(gid)
        if at is not None and at <= g.peak_at * 1440.0:
            hits += 1
            leads.append(g.peak_at * 1440.0 - at)
    false_alarms = sum(1 for gid in alerts if gid not in big)
    grids = s.geography.streets * s.geography.communities_per_street * s.geography.grids_per_community
    months = s.days / 30.44
    return {"hits": hits, "misses": len(big) - hits, "false_alarms": false_alarms,
            "late_alerts": sum(1 for gid in alerts if gid in big) - hits,
            "median_lead_minutes": round(float(np.median(leads)), 1) if leads else None,
            "incidents": len(big), "gatherings_alerted": len(alerts),
            "false_alarms_per_area_month": round(false_alarms / (grids * months), 6),
            "large_headcount": large}
