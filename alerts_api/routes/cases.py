"""Case routes: a unit's list, one case with its timeline, and the steps people take on it.

Scope: a caller sees and moves only cases whose area lies under its scope
(as for alerts) and of the kinds its role handles (an inspector: wage
arrears); an engineer reads them with personal fields blanked and moves none.
Every read of a case (listed or opened) and every step is in the audit log.
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from alerts_api.cases.lifecycle import IllegalTransition, allowed
from alerts_api.auth.roles import redact
from alerts_api.deps import Caller, case_mover, case_reader, get_session
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.schemas import CaseDetail, CaseEventOut, CaseOut, CasePage, Conflict, Problem, TransitionIn, UnitLevel
from alerts_api.store import cases as store
from alerts_api.store.audit import record_reads

router = APIRouter(prefix="/cases", tags=["cases"], responses=RESPONSES)
NOT_FOUND = {404: {"model": Problem, "description": "no such case in the caller's area"}}


@router.get("", response_model=CasePage,
            dependencies=[only_query("state", "kind", "unit_level", "overdue", "open", "limit", "offset")])
def list_cases(
    request: Request,
    caller: Caller = Depends(case_reader),
    session: Session = Depends(get_session),
    state: Literal["new", "dispatched", "acknowledged", "verified", "contested", "closed"] | None = None,
    kind: str | None = Query(None, max_length=32),
    unit_level: UnitLevel | None = Query(None, description="the level's feed: cases that unit level now holds"),
    overdue: bool | None = Query(None, description="only cases that missed a deadline (or only those that did not)"),
    open_: bool = Query(False, alias="open", description="only open cases"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> CasePage:
    """Cases in the caller's area, the most serious first, then the nearest deadline."""
    total, rows = store.list_cases(session, area_scope=caller.area_scope, state=state, kind=kind,
                                   unit_level=unit_level, overdue=overdue, open_only=open_, limit=limit,
                                   offset=offset, kinds=caller.kinds)
    record_reads(session, request.app.state.clock(), caller.token_hint, "case.list", [r.case_code for r in rows])
    session.commit()
    return CasePage(total=total, items=[case_out(r, caller) for r in rows])


def case_out(case, caller: Caller) -> CaseOut:
    """A case as this caller may see it (personal fields blanked for a role without personal access)."""
    out = CaseOut.model_validate(case)
    return out if caller.role.personal else CaseOut.model_validate(redact(out.model_dump()))


def _detail(session: Session, case, caller: Caller) -> CaseDetail:
    beneath = []
    if case.kind == "group_incident" and case.area_code:  # inhibition: the wage-arrears cases its gathering stands over
        beneath = store.list_cases(session, area_scope=case.area_code, kind="wage_arrears", open_only=True,
                                   limit=200, kinds=caller.kinds)[1]
    data = {**CaseOut.model_validate(case).model_dump(), "outcome_note": case.outcome_note,
            "allowed_actions": allowed(case.state) if caller.role.moves_cases else [],
            "timeline": [CaseEventOut.model_validate(e).model_dump() for e in store.timeline(session, case)],
            "beneath": [CaseOut.model_validate(c).model_dump() for c in beneath]}
    return CaseDetail.model_validate(data if caller.role.personal else redact(data))


@router.get("/{case_code}", response_model=CaseDetail, dependencies=[only_query()], responses=NOT_FOUND)
def get_case(request: Request, case_code: str = Path(max_length=24), caller: Caller = Depends(case_reader),
             session: Session = Depends(get_session)) -> CaseDetail:
    """One case with its timeline (every alert behind it and every step) and what may be done next."""
    case = store.get_case(session, case_code, area_scope=caller.area_scope, kinds=caller.kinds)
    if case is None:
        raise HTTPException(404, f"no case {case_code!r} in your area")
    record_reads(session, request.app.state.clock(), caller.token_hint, "case.read", [case.case_code])
    session.commit()
    return _detail(session, case, caller)


@router.post("/{case_code}/transitions", response_model=CaseDetail, dependencies=[only_query()],
             responses={**NOT_FOUND, 409: {"model": Conflict, "description": "not allowed in the case's state"},
                        400: {"model": Problem, "description": "the body is not JSON"}})
def move_case(request: Request, case_code: str = Path(max_length=24), step: TransitionIn = Body(...),
              caller: Caller = Depends(case_mover), session: Session = Depends(get_session)):
    """Take one step on a case (dispatch, acknowledge, verify with an outcome, contest, review, close)."""
    case = store.get_case(session, case_code, area_scope=caller.area_scope, kinds=caller.kinds)
    if case is None:
        raise HTTPException(404, f"no case {case_code!r} in your area")
    try:
        store.transition(session, case, step.action, actor=caller.token_hint, now=request.app.state.clock(),
                         outcome=step.outcome, note=step.note, inspector=step.inspector,
                         unit_level=step.unit_level, satisfaction=step.satisfaction)
    except IllegalTransition as exc:
        session.rollback()
        return JSONResponse(status_code=409, content={"detail": str(exc), "state": exc.state,
                                                       "allowed": exc.allowed})
    except store.MissingField as exc:
        session.rollback()
        return JSONResponse(status_code=422, content={"detail": [
            {"loc": ["body", exc.field], "msg": str(exc), "type": "value_error", "input": None}]})
    session.commit()
    return _detail(session, case, caller)
