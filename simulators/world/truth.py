"""Ground truth of a simulated district, and its file form.

Nothing here depends on the signal-noise or missing-data parameters: the truth
is drawn from the latent random stream only, observations from another.
Times are days since the scenario start (floats); the file form carries ISO
timestamps in +08:00.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

CST = timezone(timedelta(hours=8))

SPRING_FESTIVAL: dict[int, date] = {
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
"""Lunar New Year's day; wage demands peak in the weeks before it."""


def epoch0(start: date) -> float:
    return datetime(start.year, start.month, start.day, tzinfo=CST).timestamp()


def iso_at(t0: float, day: float) -> str:
    """ISO timestamp (+08:00, whole seconds) of ``day`` days after the start."""
    return datetime.fromtimestamp(round(t0 + day * 86400.0), tz=CST).isoformat()


def spring_festival_days(start: date, lo: float, hi: float) -> list[float]:
    """Spring Festival days (relative to ``start``) between ``lo`` and ``hi``."""
    out = []
    for sf in SPRING_FESTIVAL.values():
        d = (sf - start).days
        if lo <= d < hi:
            out.append(float(d))
    return out


@dataclass
class ArrearsEpisode:
    enterprise_id: str
    start: float
    end: float
    workers: int
    sudden: bool
    cause: str
    """gradual, owner_absconds or developer_default"""
    index: int = -1
    """row of the enterprise in the district (not written)"""


@dataclass
class DistressInterval:
    enterprise_id: str
    start: float
    end: float
    recovered: bool
    """True if the interval ends without an arrears episode"""
    index: int = -1


@dataclass
class GroupIncident:
    gathering_id: str
    area_code: str
    start: float
    peak_at: float
    end: float
    initial_headcount: int
    peak_headcount: int
    cause: str
    enterprise_id: str | None = None
    wage_related: bool = False
    tension_days: int = 0
    """days of rising complaints and petitions in its grid before it started (0: it came with no warning)"""


@dataclass
class Truth:
    scenario: str
    start: date
    days: int
    warmup_days: int
    enterprises: int
    arrears: list[ArrearsEpisode] = field(default_factory=list)
    distress: list[DistressInterval] = field(default_factory=list)
    incidents: list[GroupIncident] = field(default_factory=list)

    def to_json(self) -> str:
        """The truth file: one JSON document, ISO times, sorted, stable bytes."""
        t0 = epoch0(self.start)

        def arrears(e: ArrearsEpisode) -> dict[str, Any]:
            return {"enterprise_id": e.enterprise_id, "start": iso_at(t0, e.start), "end": iso_at(t0, e.end),
                    "workers": e.workers, "sudden": e.sudden, "cause": e.cause}

        def distress(d: DistressInterval) -> dict[str, Any]:
            return {"enterprise_id": d.enterprise_id, "from": iso_at(t0, d.start), "to": iso_at(t0, d.end),
                    "recovered": d.recovered}

        def incident(g: GroupIncident) -> dict[str, Any]:
            out = {"gathering_id": g.gathering_id, "area_code": g.area_code, "start": iso_at(t0, g.start),
                   "peak_at": iso_at(t0, g.peak_at), "end": iso_at(t0, g.end),
                   "initial_headcount": g.initial_headcount, "peak_headcount": g.peak_headcount,
                   "cause": g.cause, "wage_related": g.wage_related, "enterprise_id": g.enterprise_id}
            if g.tension_days:               # only when the scenario builds tension: older truth files stay as they were
                out["tension_days"] = g.tension_days
            return out

        doc = {"scenario": self.scenario, "start": self.start.isoformat(), "days": self.days,
               "warmup_days": self.warmup_days, "enterprises": self.enterprises,
               "arrears_episodes": [arrears(e) for e in self.arrears],
               "distress_intervals": [distress(d) for d in self.distress],
               "group_incidents": [incident(g) for g in self.incidents]}
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"

    def write(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "Truth":
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        start = date.fromisoformat(doc["start"])
        t0 = epoch0(start)

        def day(s: str) -> float:
            return (datetime.fromisoformat(s).timestamp() - t0) / 86400.0

        return cls(
            scenario=doc["scenario"], start=start, days=doc["days"], warmup_days=doc["warmup_days"],
            enterprises=doc["enterprises"],
            arrears=[ArrearsEpisode(e["enterprise_id"], day(e["start"]), day(e["end"]), e["workers"], e["sudden"], e["cause"])
                     for e in doc["arrears_episodes"]],
            distress=[DistressInterval(d["enterprise_id"], day(d["from"]), day(d["to"]), d["recovered"])
                      for d in doc["distress_intervals"]],
            incidents=[GroupIncident(g["gathering_id"], g["area_code"], day(g["start"]), day(g["peak_at"]), day(g["end"]),
                                     g["initial_headcount"], g["peak_headcount"], g["cause"], g.get("enterprise_id"),
                                     g.get("wage_related", False), g.get("tension_days", 0))
                       for g in doc["group_incidents"]])

    def summary(self) -> dict[str, Any]:
        lo, hi = 0.0, float(self.days)
        in_year = [e for e in self.arrears if lo <= e.start < hi]
        return {"arrears_episodes": len(in_year), "sudden": sum(e.sudden for e in in_year),
                "arrears_rate": len({e.enterprise_id for e in in_year}) / max(self.enterprises, 1) * 365.0 / self.days,
                "distress_intervals": sum(1 for d in self.distress if d.end >= lo and d.start < hi),
                "group_incidents": sum(1 for g in self.incidents if lo <= g.start < hi)}


def asdict_rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
