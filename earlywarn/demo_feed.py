"""A small simulated feed for ``earlywarn demo``: a few hundred enterprises,
some sliding into arrears month by month, and a few malformed records.

It is a showcase, not a measurement: detection quality is judged on the
simulated district of ``simulators/`` with its ground truth.
"""
from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from earlywarn.identifiers import make_uscc
from streams.records import (ConstructionProject, EnterpriseRecord, Event, HotlineComplaint, Industry,
                             SocialInsuranceArrears, WaterArrears, ElectricityArrears, to_json)

CST = timezone(timedelta(hours=8))
DISTRICT = "330110"
INDUSTRIES = [i.value for i in Industry]


@dataclass(frozen=True)
class FeedRecord:
    topic: str
    key: bytes
    value: bytes
    malformed: bool = False


def _enterprise_ids(n: int, rng: random.Random) -> list[str]:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return [make_uscc("91" + DISTRICT + "MA" + "".join(rng.choice(alphabet) for _ in range(7))) for _ in range(n)]


def default_start(n_months: int, now: datetime | None = None) -> datetime:
    """2026-01-01 09:00 CST, or as many whole years earlier as keep every record in the past.

    Why: the worker dead-letters an event dated more than a day ahead of its clock
    (streams/records.py), and ``--months 60`` from 2026 would run years ahead.

    >>> default_start(8, datetime(2026, 12, 2, tzinfo=CST)).year, default_start(60, datetime(2026, 12, 2, tzinfo=CST)).year
    (2026, 2021)
    """
    start = datetime(2026, 1, 1, 9, tzinfo=CST)
    now = now or datetime.now(CST)
    span = timedelta(days=30 * n_months + 15)
    while start + span > now:
        start = start.replace(year=start.year - 1)
    return start


def months(n_enterprises: int = 300, n_months: int = 8, distressed_share: float = 0.08,
           bad_per_month: int = 2, seed: int = 7, start: datetime | None = None) -> Iterator[list[FeedRecord]]:
    """Yield one simulated month of records at a time (registry first)."""
    rng = random.Random(seed)
    start = start or default_start(n_months)
    ids = _enterprise_ids(n_enterprises, rng)
    info = {e: (rng.choice(INDUSTRIES), f"{DISTRICT}{rng.randint(1, 9):03d}{rng.randint(1, 20):03d}{rng.randint(1, 30):03d}",
                rng.randint(5, 400)) for e in ids}
    distressed = set(rng.sample(ids, int(n_enterprises * distressed_share)))
    onset = {e: rng.randint(0, n_months // 2) for e in sorted(distressed)}  # sorted: set order varies by process
    serial = 0

    def rec(event: Event, key: str) -> FeedRecord:
        return FeedRecord(event.topic(), key.encode(), to_json(event))

    def next_id(prefix: str) -> str:
        nonlocal serial
        serial += 1
        return f"{prefix}-{serial}"

    registry = [rec(EnterpriseRecord(event_id=f"reg-{e}", occurred_at=start, enterprise_id=e, name=f"Enterprise {i:04d}",
                                     industry=info[e][0], area_code=info[e][1], employees=info[e][2]), e)
                for i, e in enumerate(ids)]
    for m in range(n_months):
        at = start + timedelta(days=30 * m)
        batch = list(registry) if m == 0 else []
        for e in ids:
            industry, area, employees = info[e]
            depth = max(0, m - onset[e] + 1) if e in distressed else 0
            late = depth if depth else (1 if rng.random() < 0.03 else 0)  # healthy ones are sometimes late too
            bill = 2000.0 + employees * 20
            for cls in (WaterArrears, ElectricityArrears):
                batch.append(rec(cls(event_id=next_id(cls.topic_class), occurred_at=at, enterprise_id=e,
                                     months_overdue=late, overdue_amount=late * bill, usual_monthly_bill=bill), e))
            si_months = max(0, depth - 1)
            paid = employees if not si_months else int(employees * max(0.2, 1 - 0.15 * si_months))
            batch.append(rec(SocialInsuranceArrears(event_id=next_id("si"), occurred_at=at + timedelta(days=5),
                                                    enterprise_id=e, months_unpaid=si_months, amount_owed=si_months * employees * 900.0,
                                                    insured_headcount=employees, paid_headcount=paid), e))
            if depth >= 2 and industry == "construction":
                batch.append(rec(ConstructionProject(event_id=next_id("proj"), occurred_at=at + timedelta(days=10),
                                                     enterprise_id=e, project_id=f"P-{e[-6:]}", area_code=area,
                                                     status="stalled", workers_on_site=employees), e))
            if depth >= 3:
                for k in range(rng.randint(1, depth)):
                    batch.append(rec(HotlineComplaint(event_id=next_id("call"), occurred_at=at + timedelta(days=12, hours=k),
                                                      enterprise_id=e, area_code=area, topic="wage"), e))
        for k in range(bad_per_month):
            kind = rng.choice(["json", "uscc", "tz"])
            if kind == "json":
                batch.append(FeedRecord(WaterArrears.topic(), b"", b'{"event_id": "broken', malformed=True))
            else:
                source = next((r for r in reversed(batch) if not r.malformed), None)  # spoil a good record
                if source is None:
                    continue
                good = dict(json.loads(source.value), event_id=next_id("bad"))
                if kind == "uscc" and "enterprise_id" in good and good["enterprise_id"]:
                    good["enterprise_id"] = good["enterprise_id"][:-1] + ("0" if good["enterprise_id"][-1] != "0" else "1")
                else:
                    good["occurred_at"] = "2026-01-01T09:00:00"
                batch.append(FeedRecord(source.topic, b"", json.dumps(good).encode(), malformed=True))
        rng.shuffle(batch)
        if m == 0:  # the registry must arrive before the first reports of its enterprises
            batch.sort(key=lambda r: r.topic != EnterpriseRecord.topic())
        yield batch
