"""The audit log: every change (alerts, cases, users) and every read of a case, and the admin's view of it.

Why reads too: who looked at which enterprise's case is itself something an
oversight body asks (issue #20); one row per case read, so a case's whole
history of readers is one indexed query.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.store.models import AuditEntry


def record_reads(session: Session, at: datetime, actor: str, action: str, codes: Iterable[str],
                 **detail: object) -> None:
    """One ``action`` row per case code read (not committed: the caller's transaction carries it)."""
    text = json.dumps(detail, default=str)[:2000] if detail else ""
    session.add_all([AuditEntry(at=at, actor=actor[:64], action=action, alert_id=code, detail=text)
                     for code in codes])


def list_audit(session: Session, *, action: str | None = None, actor: str | None = None,
               subject: str | None = None, before: int | None = None, limit: int = 50) -> tuple[int, list[AuditEntry]]:
    """Entries newest first; ``before`` (an entry id) starts the page after it, to any depth."""
    stmt = select(AuditEntry)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if subject:
        stmt = stmt.where(AuditEntry.alert_id == subject)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    rows = session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit)).scalars().all()
    return total, list(rows)
