"""The event log: JSON Lines, one delivered record per line (see docs/event-log.md).

Each line is ``{"class": <data class>, "at": <delivery time>, "event": <record JSON>}``
where ``event`` is exactly the JSON object the Kafka topic ``ew.<class>``
carries. A malformed delivery is ``{"class": ..., "at": ..., "raw": <payload>}``
with the payload as text: bad JSON or an object that fails its contract, so
the stream's dead-letter path is exercised. Lines are in delivery order.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from streams.records import RECORD_BY_CLASS
from simulators.world.scenario import FAULT_SOURCES, Scenario

SOURCE_NAME: dict[str, str] = {
    "water_arrears": "water_utility", "electricity_arrears": "state_grid",
    "social_insurance_arrears": "social_insurance", "court_blacklist": "court", "litigation": "court",
    "market_penalty": "market_regulation", "construction_project": "housing_construction",
    "wage_account": "wage_account_bank", "hotline_complaint": "hotline_12345", "petition": "petition_bureau",
    "public_opinion": "opinion_monitor", "gathering_report": "grid", "enterprise_registry": "market_regulation",
}
ABBR: dict[str, str] = {
    "water_arrears": "wat", "electricity_arrears": "ele", "social_insurance_arrears": "si",
    "court_blacklist": "bl", "litigation": "lit", "market_penalty": "mkt", "construction_project": "prj",
    "wage_account": "wac", "hotline_complaint": "hl", "petition": "pet", "public_opinion": "op",
    "gathering_report": "gat", "enterprise_registry": "reg",
}


def _template(cls: str) -> list[tuple[str, Any, bool]]:
    model = RECORD_BY_CLASS[cls]
    out = []
    for name, f in model.model_fields.items():
        if name in ("event_id", "occurred_at", "source"):
            continue
        key = f.alias or name
        default = None if f.is_required() else f.get_default(call_default_factory=True)
        if hasattr(default, "value"):
            default = default.value
        out.append((key, default, f.is_required()))
    return out


TEMPLATES: dict[str, list[tuple[str, Any, bool]]] = {c: _template(c) for c in RECORD_BY_CLASS}


def record(cls: str, event_id: str, occurred_at: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The full record JSON (every field, in contract order, defaults filled) for one event."""
    out: dict[str, Any] = {"event_id": event_id, "occurred_at": occurred_at, "source": SOURCE_NAME.get(cls, "")}
    for key, default, required in TEMPLATES[cls]:
        if key in fields:
            out[key] = fields[key]
        elif required:
            raise KeyError(f"{cls}: field {key!r} is required")
        else:
            out[key] = default
    return out


@dataclass
class Delivery:
    """One line of the log before rendering."""

    arrival: float          # days since start
    order: int              # tie-break: generation order
    cls: str
    event: dict[str, Any] | None
    raw: str | None = None


def _break(rng: np.random.Generator, ev: dict[str, Any]) -> str:
    """A malformed payload: bad JSON, or JSON that fails the contract."""
    kind = int(rng.integers(0, 5))
    bad = dict(ev)
    if kind == 0:
        text = json.dumps(ev, ensure_ascii=False, separators=(",", ":"))
        return text[: max(5, int(len(text) * rng.uniform(0.3, 0.9)))]
    if kind == 1 and bad.get("enterprise_id"):
        code = bad["enterprise_id"]
        bad["enterprise_id"] = code[:17] + ("0" if code[17] != "0" else "1")
    elif kind == 2:
        bad.pop("event_id")
    elif kind == 3:
        bad["occurred_at"] = bad["occurred_at"][:19]        # no time zone
    else:
        bad["unexpected_field"] = "x"
    return json.dumps(bad, ensure_ascii=False, separators=(",", ":"))


def apply_faults(s: Scenario, deliveries: list[Delivery], rng: np.random.Generator) -> dict[str, int]:
    """Outages, late and out-of-order delivery, duplicates, malformed records (in place)."""
    f = s.faults
    stats = {"dropped_in_outage": 0, "backfilled": 0, "late": 0, "duplicates": 0, "malformed": 0}
    outages = []
    for _ in range(f.outages):
        src = str(rng.choice(list(FAULT_SOURCES)))
        length = float(rng.integers(f.outage_days[0], f.outage_days[1] + 1))
        start = float(rng.uniform(0, max(s.days - length, 1)))
        outages.append((src, start, start + length, rng.random() < f.outage_backfill_share))
    keep: list[Delivery] = []
    extra: list[Delivery] = []
    n = len(deliveries)
    u_late, u_dup, u_bad = rng.random(n), rng.random(n), rng.random(n)
    lag_late, lag_dup = rng.uniform(1, 20, n), rng.uniform(0, 3, n)
    for k, dv in enumerate(deliveries):
        if dv.cls == "enterprise_registry":
            keep.append(dv)
            continue
        dropped = False
        for src, a, b, backfill in outages:
            if dv.cls == src and a <= dv.arrival < b:
                if backfill:
                    dv.arrival = b + (dv.arrival - a) / max(b - a, 1e-9) * 0.5
                    stats["backfilled"] += 1
                else:
                    dropped = True
                    stats["dropped_in_outage"] += 1
                break
        if dropped:
            continue
        if u_late[k] < f.late_share:
            dv.arrival += float(lag_late[k])
            stats["late"] += 1
        if u_bad[k] < f.malformed_share and dv.event is not None:
            dv.raw, dv.event = _break(rng, dv.event), None
            stats["malformed"] += 1
        elif u_dup[k] < f.duplicate_share:
            extra.append(Delivery(dv.arrival + float(lag_dup[k]), dv.order, dv.cls, dv.event))
            stats["duplicates"] += 1
        keep.append(dv)
    stats["delivered_after_end"] = sum(1 for d in keep + extra if d.arrival >= s.days)
    deliveries[:] = [d for d in keep + extra if d.arrival < s.days]
    stats["malformed"] = sum(1 for d in deliveries if d.raw is not None)
    stats["duplicates"] = len(deliveries) - len({d.order for d in deliveries})
    deliveries.sort(key=lambda d: (d.arrival, d.order))
    return stats


def render(dv: Delivery, at: str) -> str:
    line: dict[str, Any] = {"class": dv.cls, "at": at}
    if dv.event is not None:
        line["event"] = dv.event
    else:
        line["raw"] = dv.raw
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def write_lines(path: Path, lines: Iterable[str]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for line in lines:
            fh.write(line)
            fh.write("\n")
            n += 1
    return n


@dataclass(frozen=True, slots=True)
class LogLine:
    """One parsed line: the class, the delivery time (epoch s) and either the record or the raw bad payload."""

    cls: str
    at: float
    event: dict[str, Any] | None
    raw: str | None


def parse_line(text: str) -> LogLine:
    obj = json.loads(text)
    return LogLine(obj["class"], datetime.fromisoformat(obj["at"]).timestamp(), obj.get("event"), obj.get("raw"))


def read_log(path: Path) -> Iterator[LogLine]:
    with open(path, encoding="utf-8") as fh:
        for text in fh:
            if text.strip():
                yield parse_line(text)
