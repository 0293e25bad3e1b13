"""Health check: the only route without a token."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        db = "ok"
    except Exception as exc:  # report, don't raise: a probe wants a status
        db = f"error: {type(exc).__name__}"
    sink = request.app.state.sink
    body = {"status": "ok" if db == "ok" else "degraded", "database": db,
            "sink": "off" if sink is None else sink.status()}
    return JSONResponse(body, status_code=200 if db == "ok" else 503)
