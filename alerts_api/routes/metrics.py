"""``GET /metrics``: the API process's Prometheus metrics, with the store's gauges read at scrape time.

Needs a bearer token whose scope is every area (an operator's): the counts
span all districts, so an area-scoped token gets 403. Not rate-limited, so a
busy token never turns into a scrape failure that pages someone as "API down".
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, generate_latest

from alerts_api.deps import Caller, current_caller
from alerts_api.routes.alerts import RESPONSES, only_query

router = APIRouter(tags=["metrics"])


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class QueryRefused(BaseModel):
    """422: a query parameter was given (this route takes none); ``loc`` names it."""

    detail: list[FieldError]


OPENAPI_RESPONSES = {
    200: {"description": "Prometheus text exposition format 0.0.4 (what every Prometheus 2.x reads)",
          "content": {"text/plain": {"schema": {"type": "string"}}}},
    401: RESPONSES[401],
    403: {"model": RESPONSES[403]["model"], "description": "the token is area-scoped; metrics span every area"},
    422: {"model": QueryRefused, "description": "a query parameter was given; this route takes none"},
}


@router.get("/metrics", response_class=Response, responses=OPENAPI_RESPONSES, dependencies=[only_query()])
def metrics(request: Request, caller: Caller = Depends(current_caller)) -> Response:
    """Request, sink and notification counters, and the open/overdue cases and warning rates in the store."""
    if caller.area_scope is not None:
        raise HTTPException(403, f"metrics span every area; this token is scoped to {caller.area_scope}")
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.store_metrics)
    return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
