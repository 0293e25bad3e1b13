"""Which unit handles a case, by when, and who takes it over when it is overdue.

DESIGN §2: "small matters stay in the grid, large ones in the street, hard
ones go to the district"; a blue (level-3) warning is handled on the spot by
the grid, yellow (level 2) by the street within 3 days, red (level 1) by the
district within 7 days; a case past its deadline lights a red light and is
taken over one level up. Units are area-code prefixes: a grid is the whole
15-digit code, a community 12 digits, a street 9, a district 6.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

UNIT_LEVELS = ("grid", "community", "street", "district")
DIGITS = {"grid": 15, "community": 12, "street": 9, "district": 6}
DEFAULT_ROUTE = {"blue": "grid", "yellow": "street", "red": "district"}
DEFAULT_DEADLINE_DAYS = {"blue": 1.0, "yellow": 3.0, "red": 7.0}


@dataclass(frozen=True)
class Policy:
    route: dict[str, dict[str, str]] = field(default_factory=dict)
    """kind → colour → unit level; a kind not named uses DEFAULT_ROUTE"""
    deadline_days: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DEADLINE_DAYS))
    channels: dict[str, object] = field(default_factory=dict)
    """unit area code → rules.schema.UnitChannels (who is told of new and escalated cases)"""
    credit_waiting_days: float = 365.0
    spot_check_share: float = 0.01

    @classmethod
    def from_rules(cls, rules: object) -> "Policy":
        d = getattr(rules, "deadlines_days", None)
        days = {c: float(getattr(d, c)) for c in DEFAULT_DEADLINE_DAYS} if d is not None else DEFAULT_DEADLINE_DAYS
        routing = getattr(rules, "routing", None) or {}
        return cls(route={k: dict(v) for k, v in routing.items()}, deadline_days=days,
                   channels=dict(getattr(rules, "notify", None) or {}),
                   credit_waiting_days=float(getattr(rules, "credit_waiting_days", 365.0)),
                   spot_check_share=float(getattr(rules, "spot_check_share", 0.01)))

    def unit_level(self, kind: str, colour: str) -> str:
        """The lowest level that handles ``kind`` at ``colour``."""
        return self.route.get(kind, DEFAULT_ROUTE).get(colour, DEFAULT_ROUTE.get(colour, "grid"))

    def deadline(self, colour: str, now: datetime) -> datetime:
        return now + timedelta(days=self.deadline_days.get(colour, DEFAULT_DEADLINE_DAYS["blue"]))


def unit_area(area_code: str, level: str) -> str:
    """The area code of the unit at ``level`` above ``area_code`` (a coarser code stays as it is)."""
    return area_code[: DIGITS[level]]


def one_up(level: str) -> str:
    """The level that takes an overdue case over; the district is the top."""
    i = UNIT_LEVELS.index(level)
    return UNIT_LEVELS[min(i + 1, len(UNIT_LEVELS) - 1)]


def lowest_for(level_a: str, level_b: str) -> str:
    """The higher of two unit levels (an escalated case never goes back down)."""
    return max(level_a, level_b, key=UNIT_LEVELS.index)
