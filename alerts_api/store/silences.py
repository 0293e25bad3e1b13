"""Silences: an enterprise verified ``no_risk`` muted for N days, and what happens when the silence ends.

Alertmanager's flaw is that a silenced alert never sends its resolution: the
receiver keeps the last state it was told. Here, while a silence lasts, the
enterprise's alerts go on the verified case's timeline (``alert_silenced``),
nobody is told, and the newest one is kept on the silence. When the silence
ends (expiry, or lifted early), that newest alert is applied as if it had just
arrived (opening or raising a case, which notifies as usual), and the unit is
told the real current state in any case (``silence.ended``: still at risk, or
resolved).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.cases.routing import Policy
from alerts_api.schemas import AlertIn
from alerts_api.store import cases as case_store
from alerts_api.store.alerts import scoped
from alerts_api.store.models import Case, Silence
from alerts_api.store.outbox import enqueue_case

SILENCEABLE = frozenset({"verified", "closed"})


class NotSilenceable(ValueError):
    """The case is not verified ``no_risk``, or its enterprise is already silenced (the API answers 409)."""


def active_for(session: Session, subject_id: str, now: datetime) -> Silence | None:
    """The silence covering ``subject_id`` at ``now``, if any."""
    return session.execute(select(Silence).where(Silence.subject_id == subject_id, Silence.ended_at.is_(None),
                                                 Silence.starts_at <= now, Silence.ends_at > now)
                           .order_by(Silence.id).limit(1)).scalar_one_or_none()


def create(session: Session, case: Case, days: float, reason: str, actor: str, now: datetime) -> Silence:
    """Silence the case's enterprise for ``days`` after a ``no_risk`` verification (audited on the case)."""
    if case.outcome != "no_risk" or case.state not in SILENCEABLE:
        raise NotSilenceable(f"case {case.case_code} is {case.state} with outcome {case.outcome}; only a case "
                             "verified no_risk can silence its enterprise")
    if _open_silence(session, case.subject_id) is not None:
        raise NotSilenceable(f"enterprise {case.subject_id} is already silenced")
    silence = Silence(subject_id=case.subject_id, area_code=case.area_code, case_id=case.id, reason=reason,
                      created_by=actor, starts_at=now, ends_at=now + timedelta(days=days), muted=0)
    session.add(silence)
    session.flush()
    case_store.record_event(session, case, now, actor, "silenced", silence_id=silence.id, days=days, reason=reason,
                      ends_at=silence.ends_at.isoformat())
    return silence


def absorb(session: Session, silence: Silence, alert: AlertIn, now: datetime, actor: str) -> Case:
    """An alert for a silenced enterprise: on the timeline, kept as the newest, and nobody told."""
    case = session.get(Case, silence.case_id)
    silence.muted += 1
    silence.latest_alert = alert.model_dump(mode="json", by_alias=True)
    case_store.record_event(session, case, now, actor, "alert_silenced", alert_id=alert.alert_id, level=alert.level,
                      status=alert.status, silence_id=silence.id)
    return case


def end(session: Session, silence: Silence, now: datetime, policy: Policy, actor: str, why: str) -> Case:
    """End a silence: apply the newest muted alert and announce the real state; the case it concerns now."""
    silence.ended_at = now
    case = session.get(Case, silence.case_id)
    latest = AlertIn.model_validate(silence.latest_alert) if silence.latest_alert else None
    at_risk = latest is not None and latest.status != "closed" and latest.level_rank > 0
    case_store.record_event(session, case, now, actor, "silence_ended", silence_id=silence.id, why=why,
                      muted=silence.muted, at_risk=at_risk)
    current = case_store.on_alert(session, latest, now, policy, actor) if at_risk else None
    current = current or case
    enqueue_case(session, current, "silence.ended", now, policy, silence_id=silence.id, why=why,
                 muted_alerts=silence.muted, at_risk=at_risk,
                 latest_alert=None if latest is None else {"alert_id": latest.alert_id, "level": latest.level,
                                                           "status": latest.status})
    return current


def end_due(session: Session, now: datetime, policy: Policy, actor: str = "silence-job") -> list[Silence]:
    """End every silence whose expiry has passed."""
    due = session.execute(select(Silence).where(Silence.ended_at.is_(None), Silence.ends_at <= now)
                          .order_by(Silence.ends_at, Silence.id)).scalars().all()
    for silence in due:
        end(session, silence, now, policy, actor, "expired")
    return list(due)


def list_silences(session: Session, *, area_scope: str | None, active_only: bool, limit: int,
                  offset: int) -> tuple[int, list[Silence]]:
    stmt = scoped(select(Silence), Silence.area_code, area_scope)
    if active_only:
        stmt = stmt.where(Silence.ended_at.is_(None))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Silence.id.desc()).limit(limit).offset(offset)).scalars().all()
    return total, list(rows)


def get(session: Session, silence_id: int, *, area_scope: str | None) -> Silence | None:
    return session.execute(scoped(select(Silence).where(Silence.id == silence_id), Silence.area_code,
                                  area_scope)).scalar_one_or_none()


def _open_silence(session: Session, subject_id: str) -> Silence | None:
    return session.execute(select(Silence).where(Silence.subject_id == subject_id, Silence.ended_at.is_(None))
                           .limit(1)).scalar_one_or_none()
