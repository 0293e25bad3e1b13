"""What a scorer sees of one enterprise at one instant: its signals now, against its own past and its industry.

Why: the same late social-insurance payment means trouble at a firm that has
always paid on time and nothing at a firm that has paid a month late every
quarter for years; a late month that a whole industry shares is a
billing-system change, not one firm's distress. So besides the decayed
evidence of each channel (:mod:`detectors.evidence`) a firm carries a short
:class:`History`: counts of its late reports, complaints and suits over the
last month and the last year (exponentially decayed, so two floats each), what
its latest reports say now, and whether it is on the court blacklist or the
abnormal-operations list. :class:`IndustryContext` counts late reports per
industry per day. :func:`feature_row` turns these into the model's inputs.

Everything is event time and pure arithmetic: the stream and the backtest
build the same rows from the same events, and nothing here reads the clock.

>>> h = History.new()
>>> for month in range(6):            # a chronic late payer: one late month in two, for half a year
...     h.observe("social_insurance_arrears", {"months_unpaid": month % 2, "insured_headcount": 20,
...               "paid_headcount": 20}, month * 30.44 * DAY)
>>> first = History.new()
>>> first.observe("social_insurance_arrears", {"months_unpaid": 1, "insured_headcount": 20, "paid_headcount": 20},
...               120 * DAY)
>>> t = 152.2 * DAY
>>> round(h.counter("si_spell", t, slow=True), 1), round(first.counter("si_spell", t, slow=True), 1)
(2.7, 0.9)
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detectors.evidence import SIGNALS, WAGE_TOPICS

DAY = 86400.0
LOCAL = 8 * 3600.0
"""Days are local days (+08:00): an industry's late month is counted by the calendar its sources use."""
FAST_DAYS = 30.0
SLOW_DAYS = 365.0
KINDS: tuple[str, ...] = ("si_late", "util_late", "wage_complaint", "suit", "si_spell", "util_spell")
"""What a firm's recent past is counted in: late social-insurance and utility reports, wage complaints, suits
against it, and *spells* of lateness — a late report after an on-time one (or none for months). A firm that
slides shows one spell of months growing; a chronic late payer shows a spell every few months."""
KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
STALE_DAYS = {"si": 75.0, "util": 60.0, "project": 75.0}
"""A state report says something about now only until the next one was due."""
CONTEXT_HALF_LIFE_DAYS = 20.0
CONTEXT_DAYS = 60
CONTEXT_MIN_FIRMS = 30
"""An industry with fewer registered firms has no context: one firm's own reports would be its industry's rate."""
CONSTRUCTION = ("construction",)
LABOUR = ("manufacturing_labour",)

FEATURES: tuple[str, ...] = (
    *(f"recent_{s}" for s in SIGNALS),
    "si_late_month", "si_late_spells_year", "util_late_month", "util_late_spells_year",
    "wage_complaints_month", "suits_year",
    "si_months_now", "si_unpaid_share_now", "util_months_now", "projects_stalled_now", "wage_account_short_now",
    "blacklisted_now", "abnormal_now",
    "signals_active",
    "industry_si_late_rate", "industry_util_late_rate",
    "log_employees", "construction", "labour_manufacturing",
)
"""The model's inputs, in column order."""

MONOTONE: dict[str, int] = {
    **{f"recent_{s}": 1 for s in SIGNALS},
    "si_late_month": 1, "util_late_month": 1, "wage_complaints_month": 1,
    "si_months_now": 1, "si_unpaid_share_now": 1, "util_months_now": 1, "projects_stalled_now": 1,
    "wage_account_short_now": 1, "blacklisted_now": 1, "abnormal_now": 1, "signals_active": 1,
    "si_late_spells_year": -1, "util_late_spells_year": -1,
    "industry_si_late_rate": -1, "industry_util_late_rate": -1,
}
"""+1: more of it never lowers the risk; -1: never raises it (spells of lateness over a year make a habit, an
industry-wide late month explains a firm's); absent: either way."""

SIGNAL_OF: dict[str, str] = {
    **{f"recent_{s}": s for s in SIGNALS},
    "si_late_month": "social_insurance", "si_late_spells_year": "social_insurance", "si_months_now": "social_insurance",
    "si_unpaid_share_now": "social_insurance", "util_late_month": "utility_arrears",
    "util_late_spells_year": "utility_arrears", "util_months_now": "utility_arrears", "wage_complaints_month": "complaints",
    "suits_year": "litigation", "projects_stalled_now": "project_stalled", "wage_account_short_now": "wage_account",
    "blacklisted_now": "court_blacklist", "abnormal_now": "market_penalty",
    "signals_active": "breadth", "industry_si_late_rate": "industry", "industry_util_late_rate": "industry",
    "log_employees": "profile", "construction": "profile", "labour_manufacturing": "profile",
}
"""Feature → the signal channel an inspector is shown it under (reasons are grouped by channel)."""


def local_day(t: float) -> int:
    return int((t + LOCAL) // DAY)


def _late(data_class: str, f: Mapping[str, Any]) -> str | None:
    """Which habit kind an event adds to, if any."""
    if data_class == "social_insurance_arrears":
        return "si_late" if int(f.get("months_unpaid", 0)) > 0 else None
    if data_class in ("water_arrears", "electricity_arrears"):
        return "util_late" if int(f.get("months_overdue", 0)) > 0 else None
    if data_class in ("hotline_complaint", "petition"):
        return "wage_complaint" if f.get("enterprise_id") and f.get("topic") in WAGE_TOPICS else None
    if data_class == "litigation":
        return "suit" if f.get("role") == "defendant" and f.get("status") in ("filed", "judged_against") else None
    return None


@dataclass
class History:
    """One firm's recent past in a few numbers; counters are decayed to ``t``."""

    fast: list[float]
    slow: list[float]
    t: float | None = None
    si: tuple[int, float, float] | None = None
    """latest social-insurance report: months unpaid, share of the insured not paid, event time"""
    util: dict[str, tuple[int, float]] = field(default_factory=dict)
    """latest water / electricity report: months overdue, event time"""
    projects: dict[str, tuple[bool, float]] = field(default_factory=dict)
    """project id → (stalled or suspended, event time of the latest status)"""
    accounts: dict[str, tuple[float, float]] = field(default_factory=dict)
    """project id → (share of payroll not paid, event time) of the latest wage-account period"""
    blacklisted: bool = False
    abnormal: bool = False

    @classmethod
    def new(cls) -> "History":
        return cls(fast=[0.0] * len(KINDS), slow=[0.0] * len(KINDS))

    def _age(self, now: float) -> None:
        if self.t is not None and now > self.t:
            dt = (now - self.t) / DAY
            kf, ks = 2.0 ** (-dt / FAST_DAYS), 2.0 ** (-dt / SLOW_DAYS)
            self.fast = [x * kf for x in self.fast]
            self.slow = [x * ks for x in self.slow]
        self.t = now if self.t is None else max(self.t, now)

    def counter(self, kind: str, t: float, slow: bool = False) -> float:
        """The decayed count of ``kind`` as of ``t`` (not before the history's own time)."""
        k = KIND_INDEX[kind]
        x = (self.slow if slow else self.fast)[k]
        dt = max(0.0, (t - (self.t or t)) / DAY)
        return x * 2.0 ** (-dt / (SLOW_DAYS if slow else FAST_DAYS))

    def _add(self, kind: str, t: float) -> None:
        """Count one ``kind`` at event time ``t``; a late event counts as much as it would have, aged."""
        self._age(t)
        assert self.t is not None
        dt = max(0.0, (self.t - t) / DAY)
        k = KIND_INDEX[kind]
        self.fast[k] += 2.0 ** (-dt / FAST_DAYS)
        self.slow[k] += 2.0 ** (-dt / SLOW_DAYS)

    def _spell(self, last: tuple[Any, ...] | None, months: int, t: float, stale: float) -> bool:
        """A late report opens a spell when the report before it was on time, or long ago, or absent."""
        return months > 0 and (last is None or (t >= last[-1] and (last[0] == 0 or t - last[-1] > stale * DAY)))

    def observe(self, data_class: str, f: Mapping[str, Any], t: float) -> None:
        """Fold one event (event time ``t``) in."""
        kind = _late(data_class, f)
        if kind is not None:
            self._add(kind, t)
        if data_class == "social_insurance_arrears" and self._spell(self.si, int(f.get("months_unpaid", 0)), t,
                                                                      STALE_DAYS["si"]):
            self._add("si_spell", t)
        elif data_class in ("water_arrears", "electricity_arrears") and self._spell(
                self.util.get(data_class), int(f.get("months_overdue", 0)), t, STALE_DAYS["util"]):
            self._add("util_spell", t)
        if data_class == "social_insurance_arrears":
            if self.si is None or t >= self.si[2]:
                insured = int(f.get("insured_headcount", 0))
                paid = int(f.get("paid_headcount", insured))
                share = min(max((insured - paid) / insured, 0.0), 1.0) if insured > 0 else 0.0
                self.si = (int(f.get("months_unpaid", 0)), share, t)
        elif data_class in ("water_arrears", "electricity_arrears"):
            if data_class not in self.util or t >= self.util[data_class][1]:
                self.util[data_class] = (int(f.get("months_overdue", 0)) + 2 * bool(f.get("disconnected")), t)
        elif data_class == "construction_project":
            pid = str(f.get("project_id", ""))
            if pid not in self.projects or t >= self.projects[pid][1]:
                self.projects[pid] = (f.get("status") in ("stalled", "suspended"), t)
        elif data_class == "wage_account":
            pid = str(f.get("project_id", ""))
            due, paid = float(f.get("payroll_due", 0.0)), float(f.get("payroll_paid", 0.0))
            if pid not in self.accounts or t >= self.accounts[pid][1]:
                self.accounts[pid] = (min(max((due - paid) / due, 0.0), 1.0) if due > 0 else 0.0, t)
        elif data_class == "court_blacklist":
            self.blacklisted = f.get("action") == "listed"
        elif data_class == "market_penalty":
            kind_ = f.get("kind")
            if kind_ in ("abnormal_operations", "licence_revoked"):
                self.abnormal = True
            elif kind_ == "removed_from_abnormal":
                self.abnormal = False
        if self.t is None:
            self.t = t

    def now(self, t: float) -> tuple[float, float, float, float, float]:
        """What the latest reports say at ``t``: SI months and unpaid share, utility months, stalled projects,
        the worst wage-account shortfall (each only while its report is fresh)."""
        si_m = si_share = util = stalled = short = 0.0
        if self.si is not None and t - self.si[2] <= STALE_DAYS["si"] * DAY:
            si_m, si_share = float(self.si[0]), self.si[1]
        for months, at in self.util.values():
            if t - at <= STALE_DAYS["util"] * DAY:
                util = max(util, float(months))
        for is_stalled, at in self.projects.values():
            stalled += is_stalled and t - at <= STALE_DAYS["project"] * DAY
        for share, at in self.accounts.values():
            if t - at <= STALE_DAYS["project"] * DAY:
                short = max(short, share)
        return si_m, si_share, util, stalled, short

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"f": [round(x, 6) for x in self.fast], "s": [round(x, 6) for x in self.slow], "t": self.t}
        if self.si is not None:
            d["si"] = list(self.si)
        if self.util:
            d["u"] = {k: list(v) for k, v in self.util.items()}
        if self.projects:
            d["p"] = {k: [int(v[0]), v[1]] for k, v in self.projects.items()}
        if self.accounts:
            d["a"] = {k: list(v) for k, v in self.accounts.items()}
        if self.blacklisted:
            d["bl"] = 1
        if self.abnormal:
            d["ab"] = 1
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "History":
        return cls(fast=[float(x) for x in d["f"]], slow=[float(x) for x in d["s"]], t=d.get("t"),
                   si=(int(d["si"][0]), float(d["si"][1]), float(d["si"][2])) if "si" in d else None,
                   util={k: (int(v[0]), float(v[1])) for k, v in d.get("u", {}).items()},
                   projects={k: (bool(v[0]), float(v[1])) for k, v in d.get("p", {}).items()},
                   accounts={k: (float(v[0]), float(v[1])) for k, v in d.get("a", {}).items()},
                   blacklisted=bool(d.get("bl")), abnormal=bool(d.get("ab")))


@dataclass
class IndustryContext:
    """Late social-insurance and utility reports per industry (within its county) per local day, against its firms.

    A firm's features read the days *before* its instant's day — late reports
and the firms registered alike — so a batch can count all its events first
and the rows depend neither on the order in which enterprises of one batch
are scored nor on where the batches are cut.

    >>> c = IndustryContext()
    >>> for k in range(40):
    ...     c.register(None, "retail", day=2)
    >>> c.count("retail", "si_late", 3)
    >>> c.rates("retail", 3), c.rates("retail", 4)[0]
    ((0.0, 0.0), 0.025)
    """

    firms: Counter[str] = field(default_factory=Counter)
    """firms per industry registered before the days still in ``joined``"""
    joined: dict[str, dict[int, int]] = field(default_factory=dict)
    """industry → day → firms that joined (or left, negative) on that day, until :meth:`prune` folds it in"""
    daily: dict[str, dict[int, list[int]]] = field(default_factory=dict)

    def snapshot(self) -> "IndustryContext":
        """An independent copy (what ``copy.deepcopy`` gives, several times faster: three levels of plain
        containers of ints), so a failed batch can be undone."""
        return IndustryContext(Counter(self.firms), {k: dict(v) for k, v in self.joined.items()},
                               {k: {d: list(x) for d, x in v.items()} for k, v in self.daily.items()})

    def register(self, old: str | None, new: str | None, day: int) -> None:
        """A firm's industry as the registry says on ``day`` (``old`` is what it was, None for a new firm)."""
        if old == new:
            return
        for key, change in ((old, -1), (new, 1)):
            if key is not None:
                days = self.joined.setdefault(key, {})
                days[day] = days.get(day, 0) + change

    def n_firms(self, industry: str | None, day: int) -> int:
        """Firms of the industry registered before ``day``."""
        key = industry or ""
        return self.firms.get(key, 0) + sum(n for d, n in self.joined.get(key, {}).items() if d < day)

    def count(self, industry: str | None, kind: str, day: int) -> None:
        if industry is None or kind not in ("si_late", "util_late"):
            return
        days = self.daily.setdefault(industry, {})
        days.setdefault(day, [0, 0])[0 if kind == "si_late" else 1] += 1

    def prune(self, latest_day: int) -> None:
        """Forget days no instant from ``latest_day`` on can read, and fold in the firms that joined before it.
        Called after a batch, not per report: a catch-up batch spans months, and pruning at its last report
        would take from its first instants the days they read (issue #19: a worker catching up after a
        restart raised other episodes)."""
        for days in self.daily.values():
            for old in [d for d in days if d < latest_day - CONTEXT_DAYS]:
                del days[old]
        for key, days in self.joined.items():
            for d in [d for d in days if d < latest_day]:
                self.firms[key] += days.pop(d)

    def rates(self, industry: str | None, day: int) -> tuple[float, float]:
        """Decayed late reports per firm of the industry over the days before ``day`` (SI, utilities)."""
        n = self.n_firms(industry, day)
        days = self.daily.get(industry or "")
        if n < CONTEXT_MIN_FIRMS or not days:
            return 0.0, 0.0
        si = util = 0.0
        for d, (a, b) in days.items():
            if day - CONTEXT_DAYS <= d < day:
                w = 2.0 ** (-(day - 1 - d) / CONTEXT_HALF_LIFE_DAYS)
                si += a * w
                util += b * w
        return si / n, util / n

    @classmethod
    def rebuilt(cls, states: Iterable[Mapping[str, Any]]) -> "IndustryContext":
        """The context as the sum of what each firm's state says it contributed (``EnterpriseState.to_dict``:
        its industry and its recent late reports), for a worker that restarts."""
        c = cls()
        for d in states:
            key = industry_key(d.get("area"), d.get("ind"))
            if key is not None:
                c.firms[key] += 1
            for day, kind, k in d.get("late", ()):
                c.daily.setdefault(k, {}).setdefault(int(day), [0, 0])[0 if kind == "si_late" else 1] += 1
        return c


def industry_key(area_code: str | None, industry: str | None) -> str | None:
    """An industry within its county (the 6-digit division code): billing systems and bad months are local."""
    if industry is None:
        return None
    return f"{(area_code or '')[:6]}/{industry}"


def late_kind(data_class: str, f: Mapping[str, Any]) -> str | None:
    """The industry-context kind of an event (``si_late``, ``util_late``) or None."""
    kind = _late(data_class, f)
    return kind if kind in ("si_late", "util_late") else None


def feature_row(evidence: np.ndarray, history: History, t: float, industry: str | None, employees: int,
                context: tuple[float, float]) -> np.ndarray:
    """The model's inputs for one firm at ``t`` (``evidence`` already decayed to ``t``), in :data:`FEATURES` order."""
    si_m, si_share, util, stalled, short = history.now(t)
    h = history
    row = [*evidence.tolist(),
           h.counter("si_late", t), h.counter("si_spell", t, slow=True),
           h.counter("util_late", t), h.counter("util_spell", t, slow=True),
           h.counter("wage_complaint", t), h.counter("suit", t, slow=True),
           si_m, si_share, util, stalled, short, float(h.blacklisted), float(h.abnormal),
           float(sum(1 for x in evidence.tolist() if x > 0.1)),
           context[0], context[1],
           math.log1p(max(employees, 0)), float(industry in CONSTRUCTION), float(industry in LABOUR)]
    return np.asarray(row, dtype=float)
