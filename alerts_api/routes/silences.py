"""Silence routes: mute an enterprise verified no_risk, list silences, lift one early.

Scope as for cases: a token silences and sees only enterprises in its area.
Every silence and every lift is on the case timeline and in the audit log.
"""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, case_mover, get_session, personal_reader
from alerts_api.outcome_schemas import SilenceIn, SilenceOut, SilencePage
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.schemas import Problem
from alerts_api.store import cases as case_store
from alerts_api.store import silences as store
from alerts_api.store.models import Case, Silence

router = APIRouter(prefix="/silences", tags=["silences"], responses=RESPONSES)
NOT_FOUND = {404: {"model": Problem, "description": "no such case or silence in the caller's area"}}
CONFLICT = {409: {"model": Problem, "description": "the case is not verified no_risk, the enterprise is already "
                                                   "silenced, or the silence has ended"}}


def _out(session: Session, silence: Silence) -> SilenceOut:
    case = session.get(Case, silence.case_id)
    return SilenceOut.model_validate({**{c: getattr(silence, c) for c in SilenceOut.model_fields if c != "case_code"},
                                      "case_code": case.case_code})


@router.post("", status_code=201, response_model=SilenceOut, dependencies=[only_query()],
             responses={**NOT_FOUND, **CONFLICT, 400: {"model": Problem, "description": "the body is not JSON"}})
def create_silence(request: Request, body: SilenceIn = Body(...), caller: Caller = Depends(case_mover),
                   session: Session = Depends(get_session)):
    """Silence a case's enterprise for ``days``: its alerts go on the timeline and notify nobody until it ends."""
    case = case_store.get_case(session, body.case_code, area_scope=caller.area_scope, kinds=caller.kinds)
    if case is None:
        raise HTTPException(404, f"no case {body.case_code!r} in your area")
    try:
        silence = store.create(session, case, body.days, body.reason, caller.token_hint, request.app.state.clock())
    except store.NotSilenceable as exc:
        session.rollback()
        return JSONResponse(status_code=409, content={"detail": str(exc)})
    session.commit()
    return _out(session, silence)


@router.get("", response_model=SilencePage, dependencies=[only_query("active", "limit", "offset")])
def list_silences(caller: Caller = Depends(personal_reader), session: Session = Depends(get_session),
                  active: bool = Query(True, description="only silences not yet ended"),
                  limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    """Silences in the caller's area, newest first."""
    total, rows = store.list_silences(session, area_scope=caller.area_scope, active_only=active, limit=limit,
                                      offset=offset)
    return SilencePage(total=total, items=[_out(session, s) for s in rows])


@router.delete("/{silence_id}", response_model=SilenceOut, dependencies=[only_query()],
               responses={**NOT_FOUND, **CONFLICT})
def lift_silence(request: Request, silence_id: int = Path(ge=1, le=2**31 - 1),
                 caller: Caller = Depends(case_mover), session: Session = Depends(get_session)):
    """End a silence now: the newest muted alert is applied and the unit told the real state."""
    silence = store.get(session, silence_id, area_scope=caller.area_scope)
    if silence is None:
        raise HTTPException(404, f"no silence {silence_id} in your area")
    if silence.ended_at is not None:
        return JSONResponse(status_code=409, content={"detail": f"silence {silence_id} has ended already"})
    store.end(session, silence, request.app.state.clock(), request.app.state.policy, caller.token_hint, "lifted")
    session.commit()
    return _out(session, silence)
