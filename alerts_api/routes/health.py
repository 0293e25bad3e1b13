"""Health check: the only route without a token.

503 with the reason when the database does not answer or the alert sink is
stuck or lagging (:meth:`alerts_api.sink.AlertSink.health`): a probe that
answered 200 while the sink retried one alert forever hid issue #19.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    """ok or unhealthy"""
    reason: str = ""
    database: str
    sink: dict | str
    enterprise_register: dict | str = "off"
    """the enterprise register's intake (alerts_api/register.py), healthy and unhealthy alike"""


@router.get("/healthz", response_model=Health, responses={503: {"model": Health, "description": "unhealthy, with the reason"}})
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        db = "ok"
    except Exception as exc:  # report, don't raise: a probe wants a status
        db = f"error: {type(exc).__name__}"
    sink, register = request.app.state.sink, getattr(request.app.state, "register", None)
    sink_health = sink.health() if sink is not None else None
    register_health = register.health() if register is not None else None
    reasons = ([] if db == "ok" else [f"database {db}"]) + \
        ([f"alert sink {sink_health.reason}"] if sink_health and not sink_health.healthy else []) + \
        ([f"enterprise register {register_health.reason}"] if register_health and not register_health.healthy
         else [])
    body = Health(status="unhealthy" if reasons else "ok", reason="; ".join(reasons), database=db,
                  sink="off" if sink_health is None else sink_health.as_dict(),
                  enterprise_register="off" if register_health is None else register_health.as_dict())
    return JSONResponse(body.model_dump(), status_code=503 if reasons else 200)
