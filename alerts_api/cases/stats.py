"""How good the warnings were, from what inspectors found (DESIGN §2, §6): pure arithmetic on case facts.

* effective warning rate — Yuhang's definition: (arrears_confirmed + hidden_risk) / verified, where verified
  means an on-site outcome (``unable_to_verify`` and unvisited cases leave the denominator);
* strict rate — arrears_confirmed / verified;
* response time per level — hours from opening to the first verification (median), and the share answered
  within the level's deadline among cases answered or already past it;
* precision at capacity — the effective rate of the ``capacity`` verified cases with the most expected harm
  in the group (what inspectors who can make ``capacity`` visits would have found working down the list);
* recall from the random slice — positives among spot checks, with a Wilson interval, scaled to the
  population the slice was drawn from.

>>> rows = [Facts("wage_arrears", "red", "330110001002003", "r1", T, T + H * 10, "arrears_confirmed", 5.0),
...         Facts("wage_arrears", "red", "330110001002003", "r1", T, None, None, 1.0)]
>>> g = summarize("all", rows, capacity=1, deadline_days={"red": 7.0}, now=T)
>>> g["effective_rate"], g["verified"], g["response"]["red"]["median_hours"]
(1.0, 1, 10.0)
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from scipy.stats import binomtest

from alerts_api.cases.lifecycle import EFFECTIVE

GroupBy = Literal["overall", "rules_version", "level", "area", "month"]
VISITED = frozenset({"arrears_confirmed", "hidden_risk", "no_risk"})
AREA_DIGITS = 9
"""``by=area`` groups by street (the unit that handles yellow warnings)"""
T = datetime(2026, 3, 1, tzinfo=timezone.utc)
H = timedelta(hours=1)


@dataclass(frozen=True)
class Facts:
    """One warning case as the statistics see it."""

    kind: str
    level: str
    area_code: str
    rules_version: str
    opened_at: datetime
    verified_at: datetime | None
    outcome: str | None
    expected_harm: float


def key(row: Facts, by: GroupBy) -> str:
    if by == "overall":
        return "all"
    if by == "area":
        return row.area_code[:AREA_DIGITS]
    if by == "month":
        return _utc(row.opened_at).strftime("%Y-%m")
    return str(getattr(row, by))


def effectiveness(rows: list[Facts], by: GroupBy, capacity: int, deadline_days: dict[str, float],
                  now: datetime) -> list[dict[str, Any]]:
    """One summary per group, groups in key order."""
    groups: dict[str, list[Facts]] = defaultdict(list)
    for row in rows:
        groups[key(row, by)].append(row)
    return [summarize(k, groups[k], capacity, deadline_days, now) for k in sorted(groups)]


def summarize(name: str, rows: list[Facts], capacity: int, deadline_days: dict[str, float],
              now: datetime) -> dict[str, Any]:
    outcomes = [r.outcome for r in rows]
    verified = [r for r in rows if r.outcome in VISITED]
    confirmed = outcomes.count("arrears_confirmed")
    hidden = outcomes.count("hidden_risk")
    top = sorted(verified, key=lambda r: (-r.expected_harm, _utc(r.opened_at)))[:capacity]
    return {
        "key": name, "cases": len(rows), "verified": len(verified), "arrears_confirmed": confirmed,
        "hidden_risk": hidden, "no_risk": outcomes.count("no_risk"),
        "unable_to_verify": outcomes.count("unable_to_verify"), "not_verified": outcomes.count(None),
        "effective_rate": _ratio(confirmed + hidden, len(verified)),
        "strict_rate": _ratio(confirmed, len(verified)),
        "precision_at_capacity": _ratio(sum(r.outcome in EFFECTIVE for r in top), len(top)),
        "capacity": capacity,
        "response": response_times(rows, deadline_days, now),
    }


def response_times(rows: list[Facts], deadline_days: dict[str, float], now: datetime) -> dict[str, dict]:
    """Per level: cases answered, median hours to the first verification, share answered in time."""
    out = {}
    for level in sorted({r.level for r in rows}):
        limit = timedelta(days=deadline_days.get(level, 1.0))
        mine = [r for r in rows if r.level == level]
        hours = [(_utc(r.verified_at) - _utc(r.opened_at)) / H for r in mine if r.verified_at is not None]
        due = [r for r in mine if r.verified_at is not None or _utc(r.opened_at) + limit < now]
        in_time = sum(1 for r in due if r.verified_at is not None and _utc(r.verified_at) - _utc(r.opened_at) <= limit)
        out[level] = {"answered": len(hours), "median_hours": statistics.median(hours) if hours else None,
                      "deadline_hours": limit / H, "due": len(due), "in_time_share": _ratio(in_time, len(due))}
    return out


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion k/n (scipy); None without observations.

    >>> [round(x, 4) for x in wilson(2, 50)]
    [0.011, 0.1346]
    """
    if n == 0:
        return None
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def recall_from_slice(flagged_hits: int, positives: int, checked: int, population: int) -> dict[str, Any]:
    """Recall estimate: hits among flagged / (hits among flagged + missed), missed = positive rate × population.

    >>> recall_from_slice(40, 1, 10, 100)["recall"]
    0.8
    """
    ci = wilson(positives, checked)
    out: dict[str, Any] = {"checked": checked, "positives": positives, "population": population,
                           "positive_rate": _ratio(positives, checked), "positive_rate_ci95": ci,
                           "method": "wilson", "estimated_missed": None, "recall": None, "recall_ci95": None}
    if ci is None:
        return out
    missed = positives / checked * population
    out["estimated_missed"] = missed
    out["recall"] = _ratio(flagged_hits, flagged_hits + missed)
    low, high = (_ratio(flagged_hits, flagged_hits + r * population) for r in (ci[1], ci[0]))
    out["recall_ci95"] = None if low is None or high is None else (low, high)
    return out


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
