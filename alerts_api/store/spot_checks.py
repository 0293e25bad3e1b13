"""The random verification slice: each month a share of unflagged enterprises is checked as if alerted.

Why: the verified alerts say how often an alert is right (precision), never
how many arrears went unalerted (recall). Visiting a random sample of the
enterprises nobody flagged estimates that without bias.

The population drawn from is every enterprise of the area the API knows —
the enterprise register (``ew.enterprise_registry``, :mod:`alerts_api.register`)
and any enterprise with a stored wage-arrears alert — with no open case of
any kind and no active silence now. The draw records the population size it
used. (Before the register, only alerted enterprises were drawn from, and the
recall estimated was recall among enterprises the scorer had raised.)

Reproducible by seed: each enterprise's rank is SHA-256 of
``"<seed>|<month>|<credit code>"``, and the lowest ``ceil(share × N)`` ranks
are drawn: the same seed, month and population always give the same
enterprises, whatever order the database returns them in, on any Python.
"""
from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.cases.routing import Policy
from alerts_api.schemas import AlertIn
from alerts_api.store import cases as case_store
from alerts_api.store.alerts import scoped
from alerts_api.store.models import Alert, AuditEntry, Case, Enterprise, Silence, SpotCheckDraw

KIND = "spot_check"


class AlreadyDrawn(ValueError):
    """This month's slice for this area exists (the API answers 409): a second draw would bias it."""


def population(session: Session, area: str, now: datetime) -> list[tuple[str, str, str]]:
    """(credit code, name, area code) of every unflagged enterprise under ``area``, by credit code."""
    silenced = select(Silence.subject_id).where(Silence.ended_at.is_(None), Silence.ends_at > now)
    alerted = scoped(select(Alert.subject_id, func.max(Alert.subject_name), func.max(Alert.area_code))
                     .where(Alert.kind == "wage_arrears"), Alert.area_code, area).group_by(Alert.subject_id)
    registered = scoped(select(Enterprise.subject_id, Enterprise.name, Enterprise.area_code),
                        Enterprise.area_code, area)
    known: dict[str, tuple[str, str, str]] = {}
    for rows in (alerted, registered):   # the register's name and area win: it is the reference
        known.update((r[0], tuple(r)) for r in session.execute(rows))
    out = session.execute(select(Case.subject_id).where(Case.open_key.is_not(None)).union(silenced)).scalars()
    for subject_id in out:
        known.pop(subject_id, None)
    return [known[k] for k in sorted(known)]


def pick(subjects: list[str], seed: int, month: str, share: float) -> list[str]:
    """The seeded draw itself.

    >>> pick(["a", "b", "c", "d"], 7, "2026-03", 0.5) == pick(["d", "c", "b", "a"], 7, "2026-03", 0.5)
    True
    >>> len(pick([str(i) for i in range(101)], 1, "2026-03", 0.05))
    6
    """
    k = min(len(subjects), math.ceil(share * len(subjects) - 1e-9))
    rank = sorted(subjects, key=lambda s: hashlib.sha256(f"{seed}|{month}|{s}".encode()).hexdigest())
    return sorted(rank[:k])


def draw(session: Session, month: str, area: str, seed: int, policy: Policy, actor: str,
         now: datetime) -> tuple[SpotCheckDraw, list[Case]]:
    """Draw ``month``'s slice under ``area`` and open a ``spot_check`` case for each enterprise drawn (audited)."""
    if session.execute(select(SpotCheckDraw).where(SpotCheckDraw.month == month,
                                                   SpotCheckDraw.area_code == area)).scalar_one_or_none():
        raise AlreadyDrawn(f"the spot checks of {month} for area {area} were drawn already")
    people = population(session, area, now)
    chosen = set(pick([p[0] for p in people], seed, month, policy.spot_check_share))
    row = SpotCheckDraw(month=month, area_code=area, seed=seed, share=policy.spot_check_share,
                        population=len(people), drawn=sorted(chosen), drawn_at=now, actor=actor)
    session.add(row)
    session.add(AuditEntry(at=now, actor=actor, action="spot_check.draw", alert_id=f"SC-{month}-{area}"[:64],
                           detail=json.dumps({"seed": seed, "share": row.share, "population": len(people),
                                              "drawn": row.drawn})[:2000]))
    opened = []
    for subject_id, name, area_code in people:
        if subject_id in chosen:
            check = AlertIn(alert_id=f"sc-{month}-{subject_id}"[:64], kind=KIND, subject_id=subject_id,
                            subject_name=name, area_code=area_code, level="blue", level_rank=1, status="open",
                            score=0.0, episode_start=now, raised_at=now, changed_at=now, deadline=now,
                            rules_version=f"spot-check-{month}")
            opened.append(case_store.on_alert(session, check, now, policy, actor))
    return row, opened


def draws(session: Session, *, area_scope: str | None, limit: int, offset: int) -> tuple[int, list[SpotCheckDraw]]:
    stmt = scoped(select(SpotCheckDraw), SpotCheckDraw.area_code, area_scope)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(SpotCheckDraw.month.desc(), SpotCheckDraw.id.desc())
                           .limit(limit).offset(offset)).scalars().all()
    return total, list(rows)
