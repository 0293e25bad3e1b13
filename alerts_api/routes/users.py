"""Users and tokens, for admins (the same store functions as ``earlywarn users``); every change is audited."""
from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, admin, get_session
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.schemas import Problem
from alerts_api.store import users as store
from alerts_api.view_schemas import RevokeIn, TokenOut, UserIn, UserOut, UserPage

router = APIRouter(prefix="/users", tags=["users"], responses=RESPONSES)
NAME = Path(max_length=48, description="user name")
NOT_FOUND = {404: {"model": Problem, "description": "no such user (or token)"}}
NOT_JSON = {400: {"model": Problem, "description": "the body is not JSON"}}


def _out(user, active: int) -> UserOut:
    return UserOut(name=user.name, role=user.role, area_scope=user.area_scope, created_at=user.created_at,
                   disabled_at=user.disabled_at, active_tokens=active)


def _refused(exc: store.UserError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [
        {"loc": ["body", exc.field], "msg": str(exc), "type": "value_error", "input": exc.value}]})


def _active(session: Session, name: str) -> int:
    return store.list_users(session, name=name)[1][0][1]


@router.get("", response_model=UserPage, dependencies=[only_query("limit", "offset")])
def list_users(caller: Caller = Depends(admin), session: Session = Depends(get_session),
               limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> UserPage:
    """Users by name: role, area and number of active tokens."""
    total, rows = store.list_users(session, limit=limit, offset=offset)
    return UserPage(total=total, items=[_out(u, n) for u, n in rows])


@router.post("", response_model=UserOut, status_code=201, dependencies=[only_query()],
             responses={**NOT_JSON, 409: {"model": Problem, "description": "a user of that name exists"}})
def add_user(request: Request, body: UserIn = Body(...), caller: Caller = Depends(admin),
             session: Session = Depends(get_session)):
    """Add a user with a role (and the area they answer for); then issue them a token."""
    try:
        user = store.add_user(session, body.name, body.role, body.area, actor=caller.token_hint,
                              now=request.app.state.clock())
    except store.UserExists as exc:
        session.rollback()
        raise HTTPException(409, str(exc)) from None
    except store.UserError as exc:
        session.rollback()
        return _refused(exc)
    session.commit()
    return _out(user, 0)


@router.post("/{name}/tokens", response_model=TokenOut, status_code=201, dependencies=[only_query()],
             responses={**NOT_FOUND, 409: {"model": Problem, "description": "the user is revoked"}})
def issue_token(request: Request, name: str = NAME, caller: Caller = Depends(admin),
                session: Session = Depends(get_session)) -> TokenOut:
    """A new token for the user, shown once."""
    try:
        row, token = store.issue_token(session, name, actor=caller.token_hint, now=request.app.state.clock())
    except store.UserNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except store.UserError as exc:
        session.rollback()
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return TokenOut(user=name, token_id=row.id, token=token)


@router.post("/{name}/revoke", response_model=UserOut, dependencies=[only_query()],
             responses={**NOT_FOUND, **NOT_JSON})
def revoke(request: Request, name: str = NAME, body: RevokeIn | None = Body(None), caller: Caller = Depends(admin),
           session: Session = Depends(get_session)) -> UserOut:
    """Revoke one token (``token_id``) or the user and every token they hold; refused from the next request on."""
    try:
        store.revoke(session, name, actor=caller.token_hint, now=request.app.state.clock(),
                     token_id=body.token_id if body else None)
    except store.UserNotFound as exc:
        session.rollback()
        raise HTTPException(404, str(exc)) from None
    session.commit()
    return _out(store.get_user(session, name), _active(session, name))
