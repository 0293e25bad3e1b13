"""The area index (issue #23; DESIGN §2, the Shandong practice): per area and month, how often it was warned and
how many incidents it had, a stability index over time, and the areas flagged for supervised rectification.

The rule (source 004: L77–79): a place warned three months in a row whose
incident count fell by less than 30 % month on month is flagged. Here:

* **warnings**: alerts of any kind raised in the area that month (an episode is
  one alert, so a long surge is one warning);
* **incidents**: group-incident alerts raised that month (a gathering the grid
  reported that was projected to grow large);
* **flagged** in month *m*: warned in *m−2*, *m−1* and *m*, and incidents in *m*
  above 70 % of *m−1*'s; with none in *m−1* nothing could fall, so the area is
  flagged when *m* has none either (warned all along, no improvement) or more;
* **stability index**: ``100 · K / (K + warnings + 5 · incidents)``, with ``K``
  the median of ``warnings + 5 · incidents`` over every area-month of the
  report (at least 1): 100 is a month without warnings, 50 a typical month of
  the district, lower is worse. An incident weighs five warnings: a crowd that
  gathered is what the warnings are meant to prevent.

Counts come from the alert store (no Faust): the same numbers on any process.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts_api.store.alerts import scoped
from alerts_api.store.models import Alert

INCIDENT_KIND = "group_incident"
RUN_MONTHS = 3
MAX_FALL = 0.30
INCIDENT_WEIGHT = 5.0
RULE = (f"flagged for supervised rectification: warned {RUN_MONTHS} months running and incidents down less than "
        f"{MAX_FALL:.0%} month on month (none the month before: none or more now)")


@dataclass
class AreaMonth:
    month: str
    warnings: int = 0
    incidents: int = 0
    index: float = 100.0
    flagged: bool = False
    why: str = ""


@dataclass
class AreaSeries:
    area_code: str
    months: list[AreaMonth] = field(default_factory=list)

    @property
    def flagged_now(self) -> bool:
        return bool(self.months) and self.months[-1].flagged


def month_range(until: str, n: int) -> list[str]:
    """The ``n`` months ending with ``until`` (YYYY-MM), oldest first.

    >>> month_range("2026-02", 3)
    ['2025-12', '2026-01', '2026-02']
    """
    year, month = (int(x) for x in until.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _month_of(t: datetime) -> str:
    t = t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).strftime("%Y-%m")


def flag(months: list[AreaMonth]) -> None:
    """Mark each month that meets the rule, with the reason in words (see the module note)."""
    for k in range(RUN_MONTHS - 1, len(months)):
        run = months[k - RUN_MONTHS + 1:k + 1]
        if not all(m.warnings > 0 for m in run):
            continue
        before, now = months[k - 1].incidents, months[k].incidents
        if before > 0 and now > (1.0 - MAX_FALL) * before:
            months[k].flagged = True
            months[k].why = (f"warned {RUN_MONTHS} months running; incidents {before} → {now} "
                             f"({now / before - 1.0:+.0%}: not down {MAX_FALL:.0%})")
        elif before == 0 and now >= before:
            months[k].flagged = True
            months[k].why = (f"warned {RUN_MONTHS} months running; incidents {before} → {now} "
                             f"(no fall)")


def area_index(session: Session, area: str, child_digits: int, months: list[str],
               kinds: frozenset[str] | None = None) -> list[AreaSeries]:
    """Each area under ``area`` at ``child_digits`` (9 = street, …) that had an alert in ``months``."""
    first, last = months[0], months[-1]
    stmt = scoped(select(Alert.area_code, Alert.kind, Alert.raised_at), Alert.area_code, area, Alert.kind, kinds)
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for code, kind, raised in session.execute(stmt):
        month = _month_of(raised)
        if not first <= month <= last or len(code) < child_digits:
            continue
        cell = counts[code[:child_digits]][month]
        cell[0] += 1
        cell[1] += kind == INCIDENT_KIND
    out = []
    for code in sorted(counts):
        series = AreaSeries(code, [AreaMonth(m, *counts[code].get(m, [0, 0])) for m in months])
        flag(series.months)
        out.append(series)
    weights = [m.warnings + INCIDENT_WEIGHT * m.incidents for s in out for m in s.months]
    k = max(1.0, statistics.median(weights)) if weights else 1.0
    for s in out:
        for m in s.months:
            m.index = round(100.0 * k / (k + m.warnings + INCIDENT_WEIGHT * m.incidents), 1)
    return out
