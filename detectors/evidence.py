"""Signal extractors: one per data class, each turning an event into evidence.

An extractor reads the event's JSON fields (a plain mapping — the same dict
the stream decodes and the backtest reads from a log) and returns zero or more
:class:`Evidence` items: which signal channel, how strong (1.0 ≈ a clear
signal on its own), and plain words an inspector can read.

>>> ev = extract("social_insurance_arrears", {"months_unpaid": 2, "insured_headcount": 40, "paid_headcount": 30})
>>> [(e.signal, round(e.strength, 2)) for e in ev]
[('social_insurance', 1.25)]
>>> extract("court_blacklist", {"action": "listed"})[0].text
'listed as a dishonest judgment debtor'
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

WAGE_TOPICS = ("wage", "construction_payment")

SIGNALS: tuple[str, ...] = (
    "utility_arrears", "social_insurance", "court_blacklist", "litigation", "market_penalty",
    "project_stalled", "wage_account", "complaints", "complaint_surge", "petitions", "public_opinion",
)
"""Evidence channels in score order: one per data class (water and electricity share one), plus
``complaint_surge`` — this week's wage complaints against the enterprise's own history
(:mod:`detectors.named_surge`, stateful, so the engine adds it rather than an extractor)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    signal: str
    strength: float
    text: str


Fields = Mapping[str, Any]


def _utility(kind: str) -> Callable[[Fields], list[Evidence]]:
    def extract_utility(f: Fields) -> list[Evidence]:
        months = int(f.get("months_overdue", 0))
        if months <= 0 and not f.get("disconnected"):
            return []
        usual = float(f.get("usual_monthly_bill") or 0.0)
        ratio = float(f.get("overdue_amount", 0.0)) / usual if usual > 0 else float(months)
        strength = 0.5 * months + 0.1 * min(ratio, 6.0) + (1.0 if f.get("disconnected") else 0.0)
        text = f"{kind} bill {months} month(s) overdue ({ratio:.1f}× usual bill)"
        if f.get("disconnected"):
            text += ", supply cut off"
        return [Evidence("utility_arrears", strength, text)]
    return extract_utility


def _social_insurance(f: Fields) -> list[Evidence]:
    months = int(f.get("months_unpaid", 0))
    insured = int(f.get("insured_headcount", 0))
    paid = int(f.get("paid_headcount", insured))
    drop = (insured - paid) / insured if insured > 0 else 0.0
    if months <= 0 and drop <= 0:
        return []
    strength = 0.5 * months + max(drop, 0.0) * 1.0
    text = f"social insurance unpaid {months} month(s)"
    if drop > 0:
        text += f", paid headcount {paid} of {insured} insured"
    return [Evidence("social_insurance", strength, text)]


def _blacklist(f: Fields) -> list[Evidence]:
    if f.get("action") == "listed":
        return [Evidence("court_blacklist", 1.0, "listed as a dishonest judgment debtor")]
    return []


def _litigation(f: Fields) -> list[Evidence]:
    if f.get("role") != "defendant" or f.get("status") in ("judged_for", "dismissed"):
        return []
    amount = float(f.get("amount", 0.0))
    strength = 0.5 + 0.1 * math.log10(1.0 + amount / 10_000.0)
    if f.get("status") == "judged_against":
        strength += 0.3
    if f.get("case_type") in ("labour", "construction"):
        strength += 0.3
    return [Evidence("litigation", strength, f"sued as defendant ({f.get('case_type', 'contract')}, ¥{amount:,.0f}, {f.get('status', 'filed')})")]


def _penalty(f: Fields) -> list[Evidence]:
    kind = f.get("kind")
    strength = {"abnormal_operations": 1.0, "licence_revoked": 1.5, "fine": 0.4}.get(str(kind), 0.0)
    if strength == 0.0:
        return []
    return [Evidence("market_penalty", strength, f"market-regulation penalty: {str(kind).replace('_', ' ')}")]


def _project(f: Fields) -> list[Evidence]:
    status = f.get("status")
    if status not in ("stalled", "suspended"):
        return []
    workers = int(f.get("workers_on_site", 0))
    strength = 1.0 + 0.2 * math.log10(1.0 + workers)
    return [Evidence("project_stalled", strength, f"project {f.get('project_id', '?')} {status} with {workers} workers on site")]


def _wage_account(f: Fields) -> list[Evidence]:
    due = float(f.get("payroll_due", 0.0))
    paid = float(f.get("payroll_paid", 0.0))
    if due <= 0 or paid >= due:
        return []
    short = (due - paid) / due
    return [Evidence("wage_account", 2.0 * short, f"project wage account {f.get('period', '?')}: paid {paid:,.0f} of {due:,.0f} due")]


def _named_report(signal: str, noun: str, wage_weight: float, other_weight: float) -> Callable[[Fields], list[Evidence]]:
    def extract_report(f: Fields) -> list[Evidence]:
        if not f.get("enterprise_id"):
            return []
        topic = f.get("topic", "other")
        wage = topic in WAGE_TOPICS
        people = int(f.get("petitioners", f.get("callers", 1)))
        strength = (wage_weight if wage else other_weight) * (1.0 + 0.3 * math.log10(people))
        if strength <= 0:
            return []
        return [Evidence(signal, strength, f"{noun} about {topic.replace('_', ' ')}" + (f" ({people} people)" if people > 1 else ""))]
    return extract_report


def _opinion(f: Fields) -> list[Evidence]:
    if not f.get("enterprise_id"):
        return []
    wage = bool(f.get("wage_related"))
    negative = max(0.0, -float(f.get("sentiment", 0.0)))
    strength = (1.0 if wage else 0.1) * (0.5 + 0.5 * negative)
    return [Evidence("public_opinion", strength, "public-opinion item" + (" about unpaid wages" if wage else ""))]


EXTRACTORS: dict[str, Callable[[Fields], list[Evidence]]] = {
    "water_arrears": _utility("water"),
    "electricity_arrears": _utility("electricity"),
    "social_insurance_arrears": _social_insurance,
    "court_blacklist": _blacklist,
    "litigation": _litigation,
    "market_penalty": _penalty,
    "construction_project": _project,
    "wage_account": _wage_account,
    "hotline_complaint": _named_report("complaints", "hotline complaint", 1.0, 0.1),
    "petition": _named_report("petitions", "petition", 1.0, 0.15),
    "public_opinion": _opinion,
}
"""Data class → extractor. Classes absent here carry no enterprise evidence."""


def extract(data_class: str, fields: Fields) -> list[Evidence]:
    """Evidence from one event of ``data_class``; unknown classes give none."""
    extractor = EXTRACTORS.get(data_class)
    return extractor(fields) if extractor else []
