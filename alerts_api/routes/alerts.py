"""Alert routes: the ranked list and one alert with its reasons.

Every answer a caller can get is in the OpenAPI schema (``RESPONSES``), and
every 422 has FastAPI's validation shape, so a generated client never meets
an undocumented status or body.
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from alerts_api.auth.roles import redact
from alerts_api.deps import Caller, case_reader, get_session
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET, CursorError, decode_cursor, encode_cursor
from alerts_api.schemas import AlertOut, AlertPage, Problem
from alerts_api.store import alerts as store

RESPONSES = {
    401: {"model": Problem, "description": "missing, unknown or revoked bearer token",
          "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}},
    403: {"model": Problem, "description": "the area asked for lies outside the caller's area scope, or the "
          "caller's role may not use this route"},
    429: {"model": Problem, "description": "this token's rate limit (EW_API_RATE_PER_SECOND, EW_API_RATE_BURST)",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}},
}

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=RESPONSES)


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def only_query(*names: str):
    """Refuse query parameters the route does not know, and any given twice: ``?areas=330110`` must not quietly
    mean every area, nor ``?subject=a&subject=b`` quietly mean b."""
    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            raise RequestValidationError([{"loc": ("query", name), "msg": "unknown query parameter",
                                           "type": "extra_forbidden"} for name in unknown])
        twice = sorted(n for n in set(request.query_params) if len(request.query_params.getlist(n)) > 1)
        if twice:
            raise RequestValidationError([{"loc": ("query", name), "msg": "given more than once; give it once",
                                           "type": "value_error", "input": request.query_params.getlist(name)}
                                          for name in twice])
    return Depends(check)


@router.get("", response_model=AlertPage,
            dependencies=[only_query("area", "level", "status", "kind", "limit", "offset", "cursor")])
def list_alerts(
    caller: Caller = Depends(case_reader),
    session: Session = Depends(get_session),
    area: str | None = Query(None, pattern=r"^[0-9]{6}([0-9]{3}){0,3}$", description="area-code prefix"),
    level: Literal["blue", "yellow", "red", "closed"] | None = None,
    status: Literal["open", "closed"] | None = None,
    kind: str | None = Query(None, max_length=32),
    alert_list: Literal["inspect_now", "early_warning"] | None = Query(
        None, alias="list", description="wage-arrears list: inspect_now or early_warning"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description=f"at most {MAX_OFFSET}; page deeper with `cursor`"),
    cursor: str | None = Query(None, max_length=200, description="`next_cursor` of the previous page"),
) -> AlertPage:
    """Alerts in the caller's area, ranked by expected harm (probability × workers).

    Page with ``offset`` up to 10,000, or with ``cursor`` (the previous
    page's ``next_cursor``) to any depth; not both.
    """
    scope = caller.area_scope
    if area and scope and not (area.startswith(scope) or scope.startswith(area)):
        raise HTTPException(403, f"area {area} is outside your scope {scope}")
    after = None
    if cursor is not None:
        if offset:
            raise _invalid("cursor", "give either offset or cursor, not both")
        try:
            after = decode_cursor(cursor)
        except CursorError as exc:
            raise _invalid("cursor", str(exc)) from None
    total, rows = store.list_alerts(session, area_scope=scope, area=area, level=level, status=status, kind=kind,
                                    alert_list=alert_list, limit=limit + 1, offset=offset, after=after,
                                    kinds=caller.kinds)
    items = [alert_out(r, caller) for r in rows[:limit]]
    more = len(rows) > limit
    return AlertPage(total=total, items=items,
                     next_cursor=encode_cursor(items[-1].expected_harm, items[-1].alert_id) if more else None)


@router.get("/{alert_id}", response_model=AlertOut, dependencies=[only_query()],
            responses={404: {"model": Problem, "description": "no such alert in the caller's area"}})
def get_alert(alert_id: str = Path(max_length=64), caller: Caller = Depends(case_reader),
              session: Session = Depends(get_session)) -> AlertOut:
    row = store.get_alert(session, alert_id, area_scope=caller.area_scope, kinds=caller.kinds)
    if row is None:
        raise HTTPException(404, f"no alert {alert_id!r} in your area")
    return alert_out(row, caller)


def alert_out(row, caller: Caller) -> AlertOut:
    """The alert as this caller may see it (no enterprise name or id for a role without personal access)."""
    out = AlertOut.model_validate(row)
    return out if caller.role.personal else AlertOut.model_validate(redact(out.model_dump(by_alias=True)))
