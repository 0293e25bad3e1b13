"""GET /cases/stream: the live feed of case events in the caller's area, as Server-Sent Events.

Each event's ``id`` is its ``case_events`` row id; a client that reconnects
with ``Last-Event-ID`` gets exactly the events it missed (EventSource does this
by itself). Without it the feed starts at the newest event, and says so at once
with an id-only message, so even a client that saw nothing resumes from there. The feed polls the
store (``EW_STREAM_POLL_SECONDS``), so it sees changes made by any process: the
sink, the deadline job, other API workers. A connection ends after
``EW_STREAM_MAX_SECONDS``, or at once when the caller's token is revoked; each
event sent is a case read in the audit log (``case.stream``).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from sse_starlette import EventSourceResponse, ServerSentEvent

from alerts_api.auth.roles import redact
from alerts_api.auth import tickets
from alerts_api.deps import (Caller, bearer, caller_by_hash, case_reader, current_caller, rate_limited_caller,
                             token_hash_of)
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.store.audit import record_reads
from alerts_api.store.feed import Cursor, events_after, newest_event_id
from alerts_api.store.models import Case, CaseEvent
from alerts_api.store.users import owner_by_hash
from alerts_api.view_schemas import FEED_MESSAGE, FeedEvent, StreamTicket

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
        return owner_by_hash(session, token_hash_of(caller)) is not None


def feed_caller(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer),
                ticket: str | None = Query(None, max_length=200, description="a stream ticket (POST "
                                           "/cases/stream/tickets), for a browser's EventSource, which cannot "
                                           "send a bearer token")) -> Caller:
    """The caller, by bearer token or by stream ticket; then as for any case reader (role, rate limit)."""
    if creds is not None:
        caller = current_caller(request, creds)
    elif ticket is not None:
        try:
            token_hash = tickets.verify(ticket, request.app.state.ticket_key, time.time())
        except tickets.TicketError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        found = caller_by_hash(request, token_hash)
        if found is None:
            raise HTTPException(401, "the token this ticket was issued for is unknown or revoked",
                                headers={"WWW-Authenticate": "Bearer"})
        caller = found
    else:
        raise HTTPException(401, "missing bearer token or stream ticket: send 'Authorization: Bearer <token>', or "
                                 "?ticket= from POST /cases/stream/tickets", headers={"WWW-Authenticate": "Bearer"})
    return case_reader(rate_limited_caller(request, caller))


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


def _position(cursor: Cursor) -> ServerSentEvent:
    """An id-only message: no event fires, but the client's Last-Event-ID becomes the feed's position.

    Why: a connection ends every ``EW_STREAM_MAX_SECONDS`` (or drops); a client that saw no case event on it
    would reconnect without Last-Event-ID and start at the newest event, missing whatever happened while it
    was away. Sent at the start and whenever the feed moved past events that were not the caller's."""
    return ServerSentEvent(id=str(cursor.position), comment="position")


async def _feed(request: Request, caller: Caller, cursor: Cursor) -> AsyncIterator[ServerSentEvent]:
    every, until = request.app.state.stream_poll_seconds, time.monotonic() + request.app.state.stream_max_seconds
    told = cursor.position
    yield _position(cursor)
    while time.monotonic() < until:
        was = cursor.position
        messages = await asyncio.to_thread(_poll, request, caller, cursor)
        if messages is None:
            return
        for message in messages:
            yield message
        if messages:
            told = int(messages[-1].id)
        if cursor.position != told:   # moved past other areas' events: resume from here, not from before them
            told = cursor.position
            yield _position(cursor)
        if cursor.position == was:   # caught up (a backlog of other areas' events is read on without a pause)
            await asyncio.sleep(every)


@router.post("/stream/tickets", status_code=201, response_model=StreamTicket, dependencies=[only_query()])
def new_ticket(request: Request, caller: Caller = Depends(case_reader)) -> StreamTicket:
    """A ticket that opens your live feed for the next ``EW_STREAM_TICKET_SECONDS``: ``GET /cases/stream?ticket=…``.

    For browsers: EventSource cannot send your token, and a token in a URL would be logged for as long as it
    works. The feed it opens is yours (your role and area), and it stops working when your token does."""
    expires = time.time() + request.app.state.ticket_seconds
    ticket = tickets.issue(token_hash_of(caller), request.app.state.ticket_key, expires)
    return StreamTicket(ticket=ticket, expires_at=datetime.fromtimestamp(int(expires), tz=timezone.utc),
                        stream_url=f"/cases/stream?ticket={ticket}")


@router.get("/stream", response_class=EventSourceResponse, dependencies=[only_query("ticket", "last_event_id")],
            responses={200: {"description": "`event: case` messages; `data` is the case (as now) and the step",
                             "content": {"text/event-stream": {"schema": FEED_MESSAGE}}}})
async def stream(request: Request, caller: Caller = Depends(feed_caller),
                 last_event_id: str | None = Header(None, alias="Last-Event-ID", pattern=r"^[0-9]{1,18}$",
                                                    description="resume after this event id"),
                 resume_after: str | None = Query(None, alias="last_event_id", pattern=r"^[0-9]{1,18}$",
                                                  description="the same as the Last-Event-ID header, for a client "
                                                  "that opens a new EventSource (it cannot set the header)")
                 ) -> EventSourceResponse:
    """Case events as they happen (opened, alert, level_raised, escalated, dispatch, verify, …) in your area."""
    last_event_id = last_event_id if last_event_id is not None else resume_after
    if last_event_id is None:
        with request.app.state.sessions() as session:
            start = await asyncio.to_thread(newest_event_id, session)
    else:
        start = int(last_event_id)
    return EventSourceResponse(_feed(request, caller, Cursor(start)), ping=15)
