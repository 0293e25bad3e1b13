"""The baseline any detector must beat: a transparent points table (``rules/baseline.yaml``).

Each condition matches events of some classes (field equals a value or one of
several, a field at least a number, a wage account paid below a share of
payroll); a match scores the condition's points for ``valid_days``. An
enterprise is warned when its active points reach the threshold, and not again
within ``cooldown_days``.

>>> table = parse_baseline('''
... version: b1
... threshold: 3
... conditions:
...   - {name: si, classes: [social_insurance_arrears], min: {months_unpaid: 2}, points: 3, valid_days: 60}
... ''')
>>> table.conditions[0].matches("social_insurance_arrears", {"months_unpaid": 2})
True
>>> parse_baseline("version: b1\\nthreshold: 3\\nconditions: [{name: x, classes: [nope], points: 1, valid_days: 1}]")
Traceback (most recent call last):
...
simulators.evaluation.baseline.BaselineError: <string>: conditions.0.classes: Value error, unknown data class 'nope' (got ['nope'])
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from earlywarn.validation import parse_yaml_model
from streams.records import RECORD_BY_CLASS

DAY = 86400.0
DEFAULT_BASELINE = Path(__file__).resolve().parents[2] / "rules" / "baseline.yaml"


class BaselineError(ValueError):
    """A baseline file that cannot be read or fails its schema."""


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    classes: list[str] = Field(min_length=1)
    equals: dict[str, Any] = Field(default_factory=dict, description="field → value or list of accepted values")
    min: dict[str, float] = Field(default_factory=dict, description="field → minimum")
    paid_share_below: float | None = Field(default=None, gt=0, le=1, description="payroll_paid / payroll_due below this")
    points: int = Field(ge=1)
    valid_days: float = Field(gt=0)

    @field_validator("classes")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        for c in v:
            if c not in RECORD_BY_CLASS:
                raise ValueError(f"unknown data class {c!r}")
        return v

    def matches(self, cls: str, f: dict[str, Any]) -> bool:
        if cls not in self.classes:
            return False
        for key, want in self.equals.items():
            have = f.get(key)
            if have not in (want if isinstance(want, list) else [want]):
                return False
        for key, lo in self.min.items():
            if float(f.get(key) or 0) < lo:
                return False
        if self.paid_share_below is not None:
            due = float(f.get("payroll_due") or 0)
            if due <= 0 or float(f.get("payroll_paid") or 0) / due >= self.paid_share_below:
                return False
        return True


class BaselineTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=64)
    description: str = ""
    threshold: int = Field(ge=1)
    cooldown_days: float = Field(default=90, gt=0)
    deadline_days: float = Field(default=3, gt=0)
    conditions: list[Condition] = Field(min_length=1)


def parse_baseline(text: str, origin: str = "<string>") -> BaselineTable:
    return parse_yaml_model(text, BaselineTable, origin, BaselineError)


def load_baseline(path: Path | str = DEFAULT_BASELINE) -> BaselineTable:
    path = Path(path)
    try:
        return parse_baseline(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline file: {exc.strerror or exc}") from None


@dataclass
class PointsTrace:
    """Per enterprise, after each of its events in delivery order: (delivery time, points, conditions met as a bitmask)."""

    by_enterprise: dict[str, list[tuple[float, int, int]]]
    conditions: tuple[str, ...] = ()
    _counts: dict[float, dict[int, int]] = field(default_factory=dict, repr=False, compare=False)

    def alerts(self, threshold: int, cooldown_days: float, deadline_days: float) -> list[dict[str, Any]]:
        """Warnings at ``threshold``, dated when the event that reached it was delivered (as the detector's are)."""
        out = []
        for ent, trace in self.by_enterprise.items():
            last = -float("inf")
            for at, points, met in trace:
                if points >= threshold and at - last >= cooldown_days * DAY:
                    last = at
                    out.append({"subject_id": ent, "raised": at, "check": at + deadline_days * DAY,
                                "level": "baseline", "score": points, "list": "baseline",
                                "reasons": [{"condition": c} for k, c in enumerate(self.conditions) if met >> k & 1]})
        out.sort(key=lambda a: (a["raised"], a["subject_id"]))
        return out

    def count(self, threshold: int, cooldown_days: float) -> int:
        """``len(self.alerts(threshold, ...))`` without building them: matching a volume tries every threshold."""
        n = 0
        for trace in self.by_enterprise.values():
            last = -float("inf")
            for at, points, _ in trace:
                if points >= threshold and at - last >= cooldown_days * DAY:
                    last = at
                    n += 1
        return n

    def counts(self, cooldown_days: float) -> dict[int, int]:
        """:meth:`count` for every threshold from 1 to :meth:`max_points`, worked out once per cooldown (a
        report matches three alert volumes against the same trace)."""
        known = self._counts.get(cooldown_days)
        if known is None:
            known = self._counts[cooldown_days] = {thr: self.count(thr, cooldown_days)
                                                   for thr in range(1, max(self.max_points(), 1) + 1)}
        return known

    def max_points(self) -> int:
        return max((p for tr in self.by_enterprise.values() for _, p, _ in tr), default=0)


def trace_points(table: BaselineTable, events: Iterable[tuple[str, dict[str, Any], float, float]]) -> PointsTrace:
    """Score every enterprise event by the table.

    ``events`` are (class, fields, event time, delivery time) in delivery
    order. A condition holds for ``valid_days`` from the event time (the fact
    is that old), and the points are counted when the event was delivered: a
    record delivered late cannot warn before it arrived.
    """
    expiry: dict[str, dict[int, float]] = defaultdict(dict)
    seen: dict[str, set[str]] = defaultdict(set)
    out: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    by_class: dict[str, list[tuple[int, Condition]]] = defaultdict(list)
    for k, c in enumerate(table.conditions):
        for cls in c.classes:
            by_class[cls].append((k, c))
    for cls, f, t, at in events:
        ent = f.get("enterprise_id")
        if not ent or cls == "enterprise_registry":
            continue
        if f["event_id"] in seen[ent]:
            continue
        seen[ent].add(f["event_id"])
        active = expiry[ent]
        for k, c in by_class.get(cls, ()):
            if c.matches(cls, f):
                active[k] = max(active.get(k, 0.0), t + c.valid_days * DAY)
        now = max(t, at)
        met = [k for k, until in active.items() if until > now]
        out[ent].append((now, sum(table.conditions[k].points for k in met), sum(1 << k for k in met)))
    return PointsTrace(dict(out), tuple(c.name for c in table.conditions))
