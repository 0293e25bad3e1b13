"""The random verification slice: draw a month's spot checks in an area (seeded, audited), list past draws."""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, case_mover, case_reader, get_session
from alerts_api.outcome_schemas import MAX_SEED, SpotDrawIn, SpotDrawOut, SpotDrawPage
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.schemas import Problem
from alerts_api.store import spot_checks as store

router = APIRouter(prefix="/spot-checks", tags=["spot checks"], responses=RESPONSES)


@router.post("/draws", status_code=201, response_model=SpotDrawOut, dependencies=[only_query()],
             responses={409: {"model": Problem, "description": "this month's slice for this area exists"},
                        400: {"model": Problem, "description": "the body is not JSON"}})
def draw(request: Request, body: SpotDrawIn = Body(...), caller: Caller = Depends(case_mover),
         session: Session = Depends(get_session)):
    """Draw the month's share (rule file ``spot_check_share``) of unflagged enterprises and open spot_check cases."""
    scope = caller.area_scope
    area = body.area or scope or ""
    if scope and not area.startswith(scope):
        raise HTTPException(403, f"area {area} is outside your scope {scope}")
    seed = body.seed if body.seed is not None else secrets.randbelow(MAX_SEED + 1)
    try:
        row, cases = store.draw(session, body.month, area, seed, request.app.state.policy, caller.token_hint,
                                request.app.state.clock())
        session.flush()
    except (store.AlreadyDrawn, IntegrityError) as exc:  # IntegrityError: a simultaneous draw won the race
        session.rollback()
        detail = str(exc) if isinstance(exc, store.AlreadyDrawn) else f"the spot checks of {body.month} for area " \
            f"{area} were drawn already"
        return JSONResponse(status_code=409, content={"detail": detail})
    session.commit()
    return SpotDrawOut.model_validate({**_fields(row), "cases": [c.case_code for c in cases]})


@router.get("/draws", response_model=SpotDrawPage, dependencies=[only_query("limit", "offset")])
def list_draws(caller: Caller = Depends(case_reader), session: Session = Depends(get_session),
               limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    """Past draws in the caller's area, newest month first, with their seed and population."""
    total, rows = store.draws(session, area_scope=caller.area_scope, limit=limit, offset=offset)
    return SpotDrawPage(total=total, items=[SpotDrawOut.model_validate(_fields(r)) for r in rows])


def _fields(row) -> dict:
    return {c: getattr(row, c) for c in SpotDrawOut.model_fields if c != "cases"}
