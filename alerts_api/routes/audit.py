"""GET /audit: the audit log, for admins only, newest first, paged by entry id."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, admin, get_session
from alerts_api.paging import MAX_LIMIT
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.store.audit import list_audit
from alerts_api.view_schemas import AuditOut, AuditPage

router = APIRouter(prefix="/audit", tags=["audit"], responses=RESPONSES)


@router.get("", response_model=AuditPage,
            dependencies=[only_query("action", "actor", "subject", "before", "limit")])
def read_audit(
    caller: Caller = Depends(admin),
    session: Session = Depends(get_session),
    action: str | None = Query(None, min_length=1, max_length=64,
                               description="action prefix, e.g. `case.` or `case.read`"),
    actor: str | None = Query(None, min_length=1, max_length=64),
    subject: str | None = Query(None, min_length=1, max_length=64, description="a case code, alert id or user:<name>"),
    before: int | None = Query(None, ge=1, le=2**63 - 1, description="`next_before` of the previous page"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
) -> AuditPage:
    """Every change (alerts, cases, users, tokens) and every read of a case: who, when, what."""
    total, rows = list_audit(session, action=action, actor=actor, subject=subject, before=before, limit=limit + 1)
    items = [AuditOut.model_validate(r) for r in rows[:limit]]
    return AuditPage(total=total, items=items, next_before=items[-1].id if len(rows) > limit else None)
