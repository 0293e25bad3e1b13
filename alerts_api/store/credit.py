"""The wage-arrears credit record (the Yuhang platform's third function, credit management).

A case verified ``arrears_confirmed`` puts its enterprise on the record, with
the date and the case code. Once the arrears are repaid, the entry stays for
the rule file's ``credit_waiting_days`` and then comes off. Each listing and
removal is sent back to the scorer on ``ew.credit`` (through the outbox, in
the same transaction), so repeat offenders can weigh in its features; the
worker's side of that topic is not built yet.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.store import cases as case_store
from alerts_api.store.alerts import scoped
from alerts_api.store.models import Case, CreditEntry
from alerts_api.store.outbox import enqueue_signal
from streams.records import CreditRecord

TOPIC = CreditRecord.topic()
"""ew.credit: the worker reads it (streams/credit_book.py)"""


class AlreadyRepaid(ValueError):
    """A repayment recorded twice (the API answers 409)."""


def put_on_record(session: Session, case: Case, now: datetime, actor: str) -> CreditEntry:
    """List the case's enterprise (once per case; a review that confirms again changes nothing)."""
    entry = session.execute(select(CreditEntry).where(CreditEntry.case_code == case.case_code)).scalar_one_or_none()
    if entry is not None:
        return entry
    before = offences(session, case.subject_id)
    entry = CreditEntry(subject_id=case.subject_id, subject_name=case.subject_name, area_code=case.area_code,
                        case_code=case.case_code, listed_at=now)
    session.add(entry)
    session.flush()
    case_store.record_event(session, case, now, actor, "credit_listed", credit_id=entry.id, offences=before + 1)
    _signal(session, entry, "listed", now, before + 1)
    return entry


def record_repayment(session: Session, entry: CreditEntry, repaid_at: datetime, waiting_days: float, actor: str,
                     now: datetime) -> CreditEntry:
    """The arrears were repaid on ``repaid_at``: the entry comes off ``waiting_days`` later."""
    if entry.repaid_at is not None:
        raise AlreadyRepaid(f"credit entry {entry.id} was already marked repaid")
    entry.repaid_at = repaid_at
    entry.remove_after = repaid_at + timedelta(days=waiting_days)
    case = session.execute(select(Case).where(Case.case_code == entry.case_code)).scalar_one()
    case_store.record_event(session, case, now, actor, "credit_repaid", credit_id=entry.id,
                            repaid_at=repaid_at.isoformat(), remove_after=entry.remove_after.isoformat())
    return entry


def remove_due(session: Session, now: datetime, actor: str = "credit-job") -> list[CreditEntry]:
    """Take off every entry whose waiting period after repayment has passed."""
    due = session.execute(select(CreditEntry).where(CreditEntry.removed_at.is_(None),
                                                    CreditEntry.remove_after <= now)
                          .order_by(CreditEntry.id)).scalars().all()
    for entry in due:
        entry.removed_at = now
        case = session.execute(select(Case).where(Case.case_code == entry.case_code)).scalar_one()
        case_store.record_event(session, case, now, actor, "credit_removed", credit_id=entry.id)
        _signal(session, entry, "removed", now, offences(session, entry.subject_id))
    return list(due)


def offences(session: Session, subject_id: str) -> int:
    """How many times the enterprise has been on the record (removed entries included: a repeat offender)."""
    return session.execute(select(func.count()).select_from(CreditEntry)
                           .where(CreditEntry.subject_id == subject_id)).scalar_one()


def list_entries(session: Session, *, area_scope: str | None, listed: bool | None = True,
                 subject_id: str | None = None, limit: int | None = 50,
                 offset: int = 0) -> tuple[int, list[CreditEntry]]:
    """Entries in scope; ``listed`` True = on the record now, False = removed, None = both."""
    stmt = scoped(select(CreditEntry), CreditEntry.area_code, area_scope)
    if listed is not None:
        stmt = stmt.where(CreditEntry.removed_at.is_(None) if listed else CreditEntry.removed_at.is_not(None))
    if subject_id:
        stmt = stmt.where(CreditEntry.subject_id == subject_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(CreditEntry.listed_at.desc(), CreditEntry.id.desc())
                           .limit(limit).offset(offset)).scalars().all()
    return total, list(rows)


def get(session: Session, entry_id: int, *, area_scope: str | None) -> CreditEntry | None:
    return session.execute(scoped(select(CreditEntry).where(CreditEntry.id == entry_id), CreditEntry.area_code,
                                  area_scope)).scalar_one_or_none()


def _signal(session: Session, entry: CreditEntry, event: str, now: datetime, offences_so_far: int) -> None:
    # the worker's contract for ew.credit (streams/records.py: CreditRecord), so it validates what it reads
    enqueue_signal(session, TOPIC, entry.subject_id, entry.case_code, f"credit.{event}",
                   {"event_id": f"credit-{entry.id}-{event}", "occurred_at": _aware(now).isoformat(),
                    "source": "earlywarn-api", "event": event, "subject_id": entry.subject_id,
                    "area_code": entry.area_code or None, "case_code": entry.case_code,
                    "offences": offences_so_far}, now)


def _aware(t: datetime) -> datetime:
    """The contract wants a time zone; the store's times are UTC (SQLite gives them back naive)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
