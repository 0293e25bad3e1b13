"""GET /enterprises/{id}: one enterprise as its alerts and cases show it, within the caller's area and kinds.

The score, its reasons and its history come from the alerts stored for the
enterprise (the history from the audit log, which holds every score the store
recorded); ``credit_record`` holds its wage-arrears record entries. Only roles
with personal access (inspector, stability officer) may read it, and the read
is audited, as are the cases it shows.
"""
from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, get_session, personal_reader
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.schemas import AlertOut, CaseOut, Problem
from alerts_api.store.alerts import scoped
from alerts_api.outcome_schemas import CreditEntryOut
from alerts_api.store.audit import record_reads
from alerts_api.store.credit import list_entries
from alerts_api.store.models import Alert, AuditEntry, Case
from alerts_api.view_schemas import EnterpriseView, ScorePoint
from earlywarn.identifiers import uscc_problem

router = APIRouter(prefix="/enterprises", tags=["enterprises"], responses=RESPONSES)
HISTORY, CASES = 500, 100


@router.get("/{enterprise_id}", response_model=EnterpriseView, dependencies=[only_query()],
            responses={404: {"model": Problem, "description": "no alert on this enterprise in the caller's area"}})
def get_enterprise(request: Request, enterprise_id: str = Path(max_length=18, description="unified social credit code"),
                   caller: Caller = Depends(personal_reader), session: Session = Depends(get_session)) -> EnterpriseView:
    """The enterprise's current score and reasons, its score history, credit record and cases."""
    if problem := uscc_problem(enterprise_id):
        raise RequestValidationError([{"loc": ("path", "enterprise_id"), "msg": problem, "type": "value_error",
                                       "input": enterprise_id}])
    alerts = session.execute(scoped(select(Alert).where(Alert.subject_id == enterprise_id), Alert.area_code,
                                    caller.area_scope, Alert.kind, caller.kinds)
                             .order_by(Alert.changed_at.desc(), Alert.alert_id)).scalars().all()
    if not alerts:
        raise HTTPException(404, f"no enterprise {enterprise_id!r} with alerts in your area")
    current = alerts[0]
    cases = session.execute(scoped(select(Case).where(Case.subject_id == enterprise_id), Case.area_code,
                                   caller.area_scope, Case.kind, caller.kinds)
                            .order_by(Case.opened_at.desc(), Case.id.desc()).limit(CASES)).scalars().all()
    now = request.app.state.clock()
    record_reads(session, now, caller.token_hint, "enterprise.read", [enterprise_id])
    record_reads(session, now, caller.token_hint, "case.read", [c.case_code for c in cases], via="enterprise")
    session.commit()
    return EnterpriseView(enterprise_id=enterprise_id, name=current.subject_name, area_code=current.area_code,
                          current=AlertOut.model_validate(current),
                          score_history=_history(session, [a.alert_id for a in alerts]),
                          credit_record=[CreditEntryOut.model_validate(e) for e in list_entries(
                              session, area_scope=caller.area_scope, listed=None, subject_id=enterprise_id,
                              limit=CASES)[1]],
                          cases=[CaseOut.model_validate(c) for c in cases])


def _history(session: Session, alert_ids: list[str]) -> list[ScorePoint]:
    """Each change of these alerts the store recorded (``alert.<status>.<level>`` audit rows), oldest first."""
    rows = session.execute(select(AuditEntry).where(AuditEntry.alert_id.in_(alert_ids),
                                                    AuditEntry.action.startswith("alert."))
                           .order_by(AuditEntry.id.desc()).limit(HISTORY)).scalars().all()
    points = []
    for row in reversed(rows):
        _, status, level = (row.action.split(".") + ["", ""])[:3]
        try:
            detail = json.loads(row.detail) if row.detail else {}
        except ValueError:
            detail = {}
        score = detail.get("score")
        points.append(ScorePoint(at=row.at, alert_id=row.alert_id, status=status, level=level,
                                 score=score if isinstance(score, (int, float)) else None,
                                 rules_version=str(detail.get("rules_version", ""))))
    return points
