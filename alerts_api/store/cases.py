"""Cases in the store: opened or updated from alerts, moved by people, escalated when overdue.

Why here and not in the worker: a case is what people do about alerts, so it
lives beside the audit log, in one transaction with the alert that changed it.
One open case per (kind, subject) is enforced by a unique key, so a worker
reprocessing history (new alert ids, other episode starts) adds to the case's
timeline instead of opening a second one.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.cases.lifecycle import OPEN_STATES, advance
from alerts_api.cases.routing import Policy, lowest_for, one_up, unit_area
from alerts_api.schemas import AlertIn
from alerts_api.store.alerts import scoped
from alerts_api.store.models import AuditEntry, Case, CaseEvent
from alerts_api.store.outbox import enqueue_case

PREFIX = {"wage_arrears": "WA", "complaint_surge": "CS", "group_incident": "GI", "spot_check": "SC"}
QUERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""no 0/O, 1/I: read out over the phone"""
NOT_YET_VERIFIED = frozenset({"new", "dispatched", "acknowledged"})


class MissingField(ValueError):
    """A step that needs a field the request did not give (the API answers 422 naming it)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _event(session: Session, case: Case, at: datetime, actor: str, action: str, **detail: object) -> None:
    session.add(CaseEvent(case_id=case.id, at=at, actor=actor, action=action, detail=detail))
    session.add(AuditEntry(at=at, actor=actor, action=f"case.{action}", alert_id=case.case_code,
                           detail=json.dumps(detail, default=str)[:2000]))


record_event = _event
"""a case step on the timeline and in the audit log, for the stores beside this one (silences, credit)"""


def open_case_for(session: Session, kind: str, subject_id: str) -> Case | None:
    return session.execute(select(Case).where(Case.open_key == f"{kind}|{subject_id}")).scalar_one_or_none()


def on_alert(session: Session, alert: AlertIn, now: datetime, policy: Policy, actor: str = "alert-sink") -> Case | None:
    """Open a case for a new alert, or add the alert to the subject's open case (raising its level).

    A new case and a raised one are queued for their unit in the outbox; an
    enterprise under a silence gets the alert on its silenced case only.
    """
    from alerts_api.store import silences  # silences build on this module

    silence = silences.active_for(session, alert.subject_id, now)
    if silence is not None:
        return silences.absorb(session, silence, alert, now, actor)
    case = open_case_for(session, alert.kind, alert.subject_id)
    facts = {"alert_id": alert.alert_id, "level": alert.level, "episode_start": alert.episode_start.isoformat(),
             "list": alert.alert_list, "rules_version": alert.rules_version}
    if alert.status == "closed" or alert.level_rank == 0:
        if case is not None:   # the score fell back; the case stays until somebody verifies it
            _event(session, case, now, actor, "alert_closed", **facts)
            case.updated_at = now
        return case
    if case is None:
        level = policy.unit_level(alert.kind, alert.level)
        case = Case(case_code=f"pending-{secrets.token_hex(6)}", query_code=_query_code(), kind=alert.kind,
                    subject_id=alert.subject_id, subject_name=alert.subject_name, area_code=alert.area_code,
                    level=alert.level, level_rank=alert.level_rank, state="new",
                    open_key=f"{alert.kind}|{alert.subject_id}", unit_level=level,
                    unit_area=unit_area(alert.area_code, level), deadline=policy.deadline(alert.level, now),
                    overdue=False, escalations=0, outcome_note="", inspector="", rules_version=alert.rules_version,
                    alert_id=alert.alert_id, opened_at=now, updated_at=now)
        session.add(case)
        session.flush()
        case.case_code = f"{PREFIX.get(alert.kind, 'EW')}-{case.id:07d}"
        _event(session, case, now, actor, "opened", unit_level=case.unit_level, unit_area=case.unit_area,
               deadline=case.deadline.isoformat(), **facts)
        enqueue_case(session, case, "case.opened", now, policy, alert_id=alert.alert_id)
        return case
    _event(session, case, now, actor, "alert", **facts)
    if alert.level_rank > case.level_rank:
        level = lowest_for(case.unit_level, policy.unit_level(alert.kind, alert.level))
        case.level, case.level_rank = alert.level, alert.level_rank
        case.unit_level, case.unit_area = level, unit_area(case.area_code, level)
        case.deadline = min(_aware(case.deadline), policy.deadline(alert.level, now))
        _event(session, case, now, actor, "level_raised", level=alert.level, unit_level=level,
               deadline=case.deadline.isoformat())
        enqueue_case(session, case, "case.level_raised", now, policy, alert_id=alert.alert_id)
    case.alert_id, case.rules_version, case.updated_at = alert.alert_id, alert.rules_version, now
    return case


def transition(session: Session, case: Case, action: str, actor: str, now: datetime, *,
               outcome: str | None = None, note: str = "", inspector: str = "", unit_level: str | None = None,
               satisfaction: int | None = None) -> Case:
    """Apply one step of the lifecycle (raises IllegalTransition, or MissingField)."""
    new_state = advance(case.state, action)
    if action in ("verify", "review") and outcome is None:
        raise MissingField("outcome", f"{action} needs an outcome")
    if action == "verify" and not inspector:
        raise MissingField("inspector", "verify needs the inspector who went on site")
    detail: dict[str, object] = {"from": case.state, "to": new_state}
    if action == "dispatch" and unit_level is not None:
        case.unit_level, case.unit_area = unit_level, unit_area(case.area_code, unit_level)
        detail |= {"unit_level": unit_level, "unit_area": case.unit_area}
    if outcome is not None:
        case.outcome = outcome
        detail["outcome"] = outcome
    if note:
        case.outcome_note = note
        detail["note"] = note
    if inspector:
        case.inspector = inspector
        detail["inspector"] = inspector
    if satisfaction is not None:
        case.satisfaction = satisfaction
        detail["satisfaction"] = satisfaction
    case.state = new_state
    if new_state not in OPEN_STATES:
        case.open_key, case.closed_at = None, now
    case.updated_at = now
    _event(session, case, now, actor, action, **detail)
    if new_state == "verified" and case.outcome == "arrears_confirmed":
        from alerts_api.store.credit import put_on_record  # the credit record builds on this module
        put_on_record(session, case, now, actor)
    return case


def escalate_overdue(session: Session, now: datetime, policy: Policy, actor: str = "deadline-job") -> list[Case]:
    """Every open case not verified by its deadline turns overdue and goes one level up, with a new deadline."""
    due = session.execute(select(Case).where(Case.state.in_(NOT_YET_VERIFIED), Case.deadline < now)
                          .order_by(Case.deadline, Case.id)).scalars().all()
    for case in due:
        was = case.unit_level
        case.overdue = True
        case.escalations += 1
        case.unit_level = one_up(was)
        case.unit_area = unit_area(case.area_code, case.unit_level)
        missed = _aware(case.deadline)
        case.deadline = policy.deadline(case.level, now)
        case.updated_at = now
        _event(session, case, now, actor, "escalated", missed=missed.isoformat(), from_unit=was,
               to_unit=case.unit_level, unit_area=case.unit_area, deadline=case.deadline.isoformat())
        enqueue_case(session, case, "case.escalated", now, policy, missed=missed.isoformat(), from_unit=was)
    return list(due)


def list_cases(session: Session, *, area_scope: str | None, state: str | None = None, kind: str | None = None,
               unit_level: str | None = None, overdue: bool | None = None, open_only: bool = False,
               limit: int = 50, offset: int = 0, kinds: Collection[str] | None = None) -> tuple[int, list[Case]]:
    """Cases in scope, the most serious and the most overdue first."""
    stmt = scoped(select(Case), Case.area_code, area_scope, Case.kind, kinds)
    if state:
        stmt = stmt.where(Case.state == state)
    if kind:
        stmt = stmt.where(Case.kind == kind)
    if unit_level:
        stmt = stmt.where(Case.unit_level == unit_level)
    if overdue is not None:
        stmt = stmt.where(Case.overdue == overdue)
    if open_only:
        stmt = stmt.where(Case.open_key.is_not(None))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Case.level_rank.desc(), Case.deadline, Case.id)
                           .limit(limit).offset(offset)).scalars().all()
    return total, list(rows)


def get_case(session: Session, case_code: str, *, area_scope: str | None,
             kinds: Collection[str] | None = None) -> Case | None:
    return session.execute(scoped(select(Case).where(Case.case_code == case_code), Case.area_code,
                                  area_scope, Case.kind, kinds)).scalar_one_or_none()


def timeline(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.at, CaseEvent.id)).scalars())


def _query_code() -> str:
    return "".join(secrets.choice(QUERY_ALPHABET) for _ in range(8))


def _aware(t: datetime) -> datetime:
    """SQLite gives naive datetimes back; every time here is UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
