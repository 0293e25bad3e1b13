"""The wage-arrears credit record: listed, exported as CSV, and repayments recorded (scoped to the caller's area).

A listing comes from a case verified ``arrears_confirmed`` (never by hand);
a repayment starts the waiting period after which the entry comes off
(rule file ``credit_waiting_days``), done by the API's periodic job.
"""
from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, case_mover, get_session, personal_reader
from alerts_api.outcome_schemas import CreditEntryOut, CreditPage, RepaymentIn
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.schemas import Problem
from alerts_api.store import credit as store
from alerts_api.store.models import AuditEntry

router = APIRouter(tags=["credit record"], responses=RESPONSES)
MAX_EXPORT = 50_000
COLUMNS = list(CreditEntryOut.model_fields)
Listed = Query(True, description="true: on the record now; false: removed after repayment")
Subject = Query(None, max_length=64, description="one enterprise's credit code")


class CSVResponse(Response):
    """(Not the route's response_class: FastAPI would then document its 401/403/422 JSON bodies as text/csv.)"""

    media_type = "text/csv"


@router.get("/credit-record", response_model=CreditPage,
            dependencies=[only_query("listed", "subject_id", "limit", "offset")])
def list_credit_record(caller: Caller = Depends(personal_reader), session: Session = Depends(get_session),
                       listed: bool = Listed, subject_id: str | None = Subject,
                       limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    """Enterprises on the wage-arrears record in the caller's area, newest first."""
    total, rows = store.list_entries(session, area_scope=caller.area_scope, listed=listed, subject_id=subject_id,
                                     limit=limit, offset=offset)
    return CreditPage(total=total, items=[CreditEntryOut.model_validate(r) for r in rows])


@router.get("/credit-record.csv", response_model=None, dependencies=[only_query("listed", "subject_id")],
            responses={200: {"description": f"the record as CSV (at most {MAX_EXPORT} rows), one line per entry",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export_credit_record(request: Request, caller: Caller = Depends(personal_reader),
                         session: Session = Depends(get_session), listed: bool = Listed,
                         subject_id: str | None = Subject) -> CSVResponse:
    """The same entries as CSV for a spreadsheet (cells that a spreadsheet would run as a formula are quoted)."""
    _, rows = store.list_entries(session, area_scope=caller.area_scope, listed=listed, subject_id=subject_id,
                                 limit=MAX_EXPORT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        data = CreditEntryOut.model_validate(row).model_dump(mode="json")
        writer.writerow([_cell(data[c]) for c in COLUMNS])
    session.add(AuditEntry(at=request.app.state.clock(), actor=caller.token_hint, action="credit.export",
                           alert_id="credit-record", detail=f"{len(rows)} rows"))
    session.commit()
    return CSVResponse(out.getvalue(), headers={"Content-Disposition": 'attachment; filename="credit-record.csv"'})


@router.post("/credit-record/{entry_id}/repayment", response_model=CreditEntryOut, dependencies=[only_query()],
             responses={404: {"model": Problem, "description": "no such entry in the caller's area"},
                        409: {"model": Problem, "description": "the repayment was recorded already"},
                        400: {"model": Problem, "description": "the body is not JSON"}})
def record_repayment(request: Request, entry_id: int = Path(ge=1, le=2**31 - 1), body: RepaymentIn = Body(...),
                     caller: Caller = Depends(case_mover), session: Session = Depends(get_session)):
    """The enterprise repaid its arrears: its entry comes off after the waiting period."""
    now = request.app.state.clock()
    if body.repaid_at > now:
        raise RequestValidationError([{"loc": ("body", "repaid_at"), "msg": "repayment date is in the future",
                                       "type": "value_error", "input": body.repaid_at.isoformat()}])
    entry = store.get(session, entry_id, area_scope=caller.area_scope)
    if entry is None:
        raise HTTPException(404, f"no credit entry {entry_id} in your area")
    try:
        store.record_repayment(session, entry, body.repaid_at, request.app.state.policy.credit_waiting_days,
                               caller.token_hint, now)
    except store.AlreadyRepaid as exc:
        session.rollback()
        return JSONResponse(status_code=409, content={"detail": str(exc)})
    session.commit()
    return CreditEntryOut.model_validate(entry)


def _cell(value: object) -> str:
    """OWASP CSV injection: a text starting with = + - @ (or a tab/CR) is prefixed with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
