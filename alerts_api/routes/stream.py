"""GET /cases/stream: the live feed of case events in the caller's area, as Server-Sent Events.

Each event's ``id`` is its ``case_events`` row id; a client that reconnects
with ``Last-Event-ID`` gets exactly the events it missed (EventSource does this
by itself). Without it the feed starts at the newest event. The feed polls the
store (``EW_STREAM_POLL_SECONDS``), so it sees changes made by any process: the
sink, the deadline job, other API workers. A connection ends after
``EW_STREAM_MAX_SECONDS``, or at once when the caller's token is revoked; each
event sent is a case read in the audit log (``case.stream``).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timezone

from fastapi import APIRouter, Depends, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from alerts_api.auth.roles import redact
from alerts_api.deps import Caller, case_reader
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.store.audit import record_reads
from alerts_api.store.feed import Cursor, events_after, newest_event_id
from alerts_api.store.models import Case, CaseEvent
from alerts_api.store.users import owner_of
from alerts_api.view_schemas import FEED_MESSAGE, FeedEvent

router = APIRouter(prefix="/cases", tags=["cases"], responses=RESPONSES)


def _message(event: CaseEvent, case: Case, caller: Caller) -> ServerSentEvent:
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=timezone.utc)
    data = {"event_id": event.id, "case_code": case.case_code, "kind": case.kind, "area_code": case.area_code,
            "subject_id": case.subject_id, "subject_name": case.subject_name, "level": case.level,
            "state": case.state, "unit_level": case.unit_level, "unit_area": case.unit_area,
            "overdue": case.overdue, "action": event.action, "at": at, "actor": event.actor,
            "detail": event.detail}
    if not caller.role.personal:
        data = redact(data)
    return ServerSentEvent(FeedEvent.model_validate(data).model_dump_json(), event="case", id=str(event.id))


def _still_valid(request: Request, caller: Caller) -> bool:
    if not caller.user:
        return caller.token in request.app.state.tokens
    with request.app.state.sessions() as session:
        return owner_of(session, caller.token) is not None


def _poll(request: Request, caller: Caller, cursor: Cursor) -> list[ServerSentEvent] | None:
    """The next messages; None once the caller's token no longer works."""
    if not _still_valid(request, caller):
        return None
    sessions = request.app.state.sessions
    with sessions() as session:
        rows = events_after(session, cursor, time.monotonic(), area_scope=caller.area_scope, kinds=caller.kinds)
        if rows:
            record_reads(session, request.app.state.clock(), caller.token_hint, "case.stream",
                         [c.case_code for _, c in rows])
            session.commit()
        return [_message(e, c, caller) for e, c in rows]


async def _feed(request: Request, caller: Caller, cursor: Cursor) -> AsyncIterator[ServerSentEvent]:
    every, until = request.app.state.stream_poll_seconds, time.monotonic() + request.app.state.stream_max_seconds
    while time.monotonic() < until:
        was = cursor.position
        messages = await asyncio.to_thread(_poll, request, caller, cursor)
        if messages is None:
            return
        for message in messages:
            yield message
        if cursor.position == was:   # caught up (a backlog of other areas' events is read on without a pause)
            await asyncio.sleep(every)


@router.get("/stream", response_class=EventSourceResponse, dependencies=[only_query()],
            responses={200: {"description": "`event: case` messages; `data` is the case (as now) and the step",
                             "content": {"text/event-stream": {"schema": FEED_MESSAGE}}}})
async def stream(request: Request, caller: Caller = Depends(case_reader),
                 last_event_id: str | None = Header(None, alias="Last-Event-ID", pattern=r"^[0-9]{1,18}$",
                                                    description="resume after this event id")) -> EventSourceResponse:
    """Case events as they happen (opened, alert, level_raised, escalated, dispatch, verify, …) in your area."""
    if last_event_id is None:
        with request.app.state.sessions() as session:
            start = await asyncio.to_thread(newest_event_id, session)
    else:
        start = int(last_event_id)
    return EventSourceResponse(_feed(request, caller, Cursor(start)), ping=15)
