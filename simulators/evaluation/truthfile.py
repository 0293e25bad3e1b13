"""The ground-truth file (docs/ground-truth.md): read, validate, and turn into the backtest's :class:`Truth`.

One JSON document. Only ``arrears_episodes`` is required; distress intervals,
group incidents and on-site verification outcomes are added where known. The
simulator's ``truth.json`` is one valid instance. Every error names the list,
the entry and the field (``arrears_episodes[3].start: ...``), because a truth
file is usually hand-made or exported and the user must find the bad entry.

>>> doc = parse_truth('{"arrears_episodes": [{"enterprise_id": "A", "start": "2025-06-01", "workers": 12, "sudden": false}]}')
>>> doc.distress_intervals is None, doc.arrears_episodes[0].workers
(True, 12)
>>> parse_truth('{"arrears_episodes": [{"enterprise_id": "A", "start": "2025-06-01T09:00:00", "workers": 1, "sudden": false}]}')
Traceback (most recent call last):
...
simulators.evaluation.truthfile.TruthFileError: <string>: arrears_episodes[0].start: Value error, '2025-06-01T09:00:00' has no time zone; write e.g. 2025-06-01T09:00:00+08:00 or a plain date (got '2025-06-01T09:00:00')
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from simulators.world.truth import CST, ArrearsEpisode, DistressInterval, GroupIncident, Truth, epoch0

DAY = 86400.0
VERIFY_WINDOW_DAYS = 30.0
"""A verification counts for an alert raised on or before its date and due at most this many days before it."""
UNKNOWN_PEAK_HOURS = 5.0
"""Without ``peak_at`` or ``end``, a group incident must be warned within this many hours of its start (seed case: 5 h)."""


class TruthFileError(ValueError):
    """A truth file that cannot be read or fails its schema; the message names the entry and field."""


def _epoch(value: object) -> float:
    """ISO timestamp with zone, or a plain date (midnight, +08:00) → epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError("write times as ISO 8601 text, not numbers")
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date or time")
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=CST).timestamp()
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date or time") from None
    if dt.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; write e.g. {value}+08:00 or a plain date")
    return dt.timestamp()


When = Annotated[float, BeforeValidator(_epoch)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ArrearsRow(_Row):
    enterprise_id: str = Field(min_length=1)
    start: When = Field(description="the day wages were first not paid")
    end: When | None = Field(default=None, description="when the arrears were settled; absent = still open")
    workers: int = Field(ge=0, description="workers affected")
    sudden: bool = Field(description="no precursor: the owner absconded, a developer defaulted, ...")
    cause: str = ""


class DistressRow(_Row):
    enterprise_id: str = Field(min_length=1)
    start: When = Field(alias="from")
    end: When = Field(alias="to")
    recovered: bool | None = None


class IncidentRow(_Row):
    area_code: str = Field(min_length=1)
    start: When
    peak_headcount: int = Field(ge=0)
    gathering_id: str | None = None
    peak_at: When | None = None
    end: When | None = None
    initial_headcount: int | None = Field(default=None, ge=0)
    cause: str = ""
    wage_related: bool = False
    enterprise_id: str | None = None
    tension_days: int = Field(default=0, ge=0, description="days of building tension before it (simulator truth)")


class VerificationRow(_Row):
    subject_id: str = Field(min_length=1, description="the alert's subject (enterprise id)")
    date: When = Field(description="day of the on-site check")
    outcome: Literal["arrears_confirmed", "hidden_risk", "no_risk"]
    alert_id: str | None = None


class TruthDoc(_Row):
    scenario: str = ""
    start: date | None = Field(default=None, description="first day of the evaluated span; absent = first day of the log")
    days: int | None = Field(default=None, ge=1, description="length of the span; absent = through the log's last day")
    warmup_days: int = Field(default=0, ge=0, description="episodes starting earlier are left out of recall")
    enterprises: int | None = Field(default=None, ge=0, description="absent = enterprises in the log's registry")
    inspectors: int = Field(default=40, ge=1, description="for alerts per inspector per week")
    grids: int | None = Field(default=None, ge=1, description="grid areas, for group false alarms per area-month")
    arrears_episodes: list[ArrearsRow]
    distress_intervals: list[DistressRow] | None = None
    group_incidents: list[IncidentRow] = Field(default_factory=list)
    verification_outcomes: list[VerificationRow] = Field(default_factory=list)

    def enterprise_ids(self) -> set[str]:
        """Every enterprise the truth names (to check against the registry)."""
        ids = {r.enterprise_id for r in self.arrears_episodes}
        ids |= {r.enterprise_id for r in self.distress_intervals or ()}
        ids |= {r.subject_id for r in self.verification_outcomes}
        ids |= {r.enterprise_id for r in self.group_incidents if r.enterprise_id}
        return ids

    def to_truth(self, start: date, days: int, enterprises: int) -> Truth:
        """The in-memory truth (days since ``start``) that :class:`simulators.evaluation.backtest.TruthIndex` scores against."""
        t0 = epoch0(start)

        def d(t: float | None, default: float = math.inf) -> float:
            return default if t is None else (t - t0) / DAY

        return Truth(
            scenario=self.scenario, start=start, days=days, warmup_days=self.warmup_days, enterprises=enterprises,
            arrears=[ArrearsEpisode(r.enterprise_id, d(r.start), d(r.end), r.workers, r.sudden, r.cause)
                     for r in self.arrears_episodes],
            distress=[DistressInterval(r.enterprise_id, d(r.start), d(r.end), bool(r.recovered))
                      for r in self.distress_intervals or ()],
            incidents=[GroupIncident(r.gathering_id or "", r.area_code, d(r.start),
                                     d(r.peak_at, d(r.end, d(r.start) + UNKNOWN_PEAK_HOURS / 24.0)),
                                     d(r.end, d(r.start) + UNKNOWN_PEAK_HOURS / 24.0),
                                     r.initial_headcount or 0, r.peak_headcount, r.cause, r.enterprise_id,
                                     r.wage_related, r.tension_days)
                       for r in self.group_incidents])

    def verifications(self) -> dict[str, list[tuple[float, str]]]:
        """Enterprise → sorted (epoch seconds of the check, outcome)."""
        out: dict[str, list[tuple[float, str]]] = {}
        for r in self.verification_outcomes:
            out.setdefault(r.subject_id, []).append((r.date, r.outcome))
        for v in out.values():
            v.sort()
        return out


def truth_document(truth: Truth, inspectors: int | None = None, grids: int | None = None) -> str:
    """The simulator's truth in the file format, with the scenario's inspectors and grid count beside it."""
    doc = json.loads(truth.to_json())
    head = {k: doc.pop(k) for k in ("scenario", "start", "days", "warmup_days", "enterprises")}
    if inspectors is not None:
        head["inspectors"] = inspectors
    if grids is not None:
        head["grids"] = grids
    return json.dumps({**head, **doc}, ensure_ascii=False, indent=1) + "\n"


def parse_truth(text: str, origin: str = "<string>") -> TruthDoc:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TruthFileError(f"{origin}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise TruthFileError(f"{origin}: expected a JSON object at the top level")
    try:
        return TruthDoc.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
            got = err.get("input")
            shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
            parts.append(f"{where or '(top level)'}: {err['msg']}{shown}")
        raise TruthFileError(f"{origin}: {'; '.join(parts)}") from None


def read_truth(path: Path) -> TruthDoc:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TruthFileError(f"{path}: cannot read truth file: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_truth(text, str(path))
