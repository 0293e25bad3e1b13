"""Hand-made records of one enterprise sliding into arrears, as (topic, JSON fields) pairs.

Why one place: the end-to-end tests and the latency benchmark both need an
enterprise that certainly reaches red through the real broker and worker:
registered (construction, 150 workers), then six months of growing water
and social-insurance arrears with a wage complaint each month.
"""
from __future__ import annotations

from typing import Any

MONTH_START = "2026-0{m}-01T09:00:00+08:00"
AREA = "330110001002003"


def sliding_into_arrears(enterprise: str, run: str, name: str = "Test Build Co") -> list[tuple[str, dict[str, Any]]]:
    """The enterprise's records; ``run`` prefixes every event id so repeated runs do not collide."""
    out: list[tuple[str, dict[str, Any]]] = [
        ("ew.enterprise_registry", {"event_id": f"{run}-reg", "occurred_at": MONTH_START.format(m=1),
                                    "enterprise_id": enterprise, "name": name, "industry": "construction",
                                    "area_code": AREA, "employees": 150})]
    for m in range(1, 7):
        at = MONTH_START.format(m=m)
        out += [
            ("ew.water_arrears", {"event_id": f"{run}-w{m}", "occurred_at": at, "enterprise_id": enterprise,
                                  "months_overdue": m, "overdue_amount": 3000.0 * m, "usual_monthly_bill": 3000.0}),
            ("ew.social_insurance_arrears", {"event_id": f"{run}-s{m}", "occurred_at": at, "enterprise_id": enterprise,
                                             "months_unpaid": m, "amount_owed": 9e4 * m, "insured_headcount": 150,
                                             "paid_headcount": max(10, 150 - 25 * m)}),
            ("ew.hotline_complaint", {"event_id": f"{run}-c{m}", "occurred_at": at, "enterprise_id": enterprise,
                                      "area_code": AREA, "topic": "wage"}),
        ]
    return out
