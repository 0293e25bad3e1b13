"""Alert routes: the ranked list and one alert with its reasons."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, current_caller, get_session
from alerts_api.schemas import AlertOut, AlertPage
from alerts_api.store import alerts as store

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=AlertPage)
def list_alerts(
    caller: Caller = Depends(current_caller),
    session: Session = Depends(get_session),
    area: str | None = Query(None, pattern=r"^\d{6}(\d{3}){0,3}$", description="area-code prefix"),
    level: Literal["blue", "yellow", "red", "closed"] | None = None,
    status: Literal["open", "closed"] | None = None,
    kind: str | None = Query(None, max_length=32),
    alert_list: Literal["inspect_now", "early_warning"] | None = Query(
        None, alias="list", description="wage-arrears list: inspect_now or early_warning"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> AlertPage:
    """Alerts in the caller's area, ranked by expected harm (probability × workers)."""
    total, rows = store.list_alerts(session, area_scope=caller.area_scope, area=area, level=level,
                                    status=status, kind=kind, alert_list=alert_list, limit=limit,
                                    offset=offset)
    return AlertPage(total=total, items=[AlertOut.model_validate(r) for r in rows])


@router.get("/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: str, caller: Caller = Depends(current_caller),
              session: Session = Depends(get_session)) -> AlertOut:
    row = store.get_alert(session, alert_id, area_scope=caller.area_scope)
    if row is None:
        raise HTTPException(404, f"no alert {alert_id!r} in your area")
    return AlertOut.model_validate(row)
