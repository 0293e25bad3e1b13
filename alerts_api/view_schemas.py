"""API schemas of the views added for roles, audit, enterprises and areas (issue #20).

Kept apart from ``schemas.py`` (alerts and cases) so each view's shape is in one place.
"""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alerts_api.auth.roles import RoleName
from alerts_api.outcome_schemas import CreditEntryOut
from alerts_api.schemas import AlertOut, CaseOut, StoredText, _utc


class _Utc(BaseModel):
    @field_validator("at", "created_at", "disabled_at", check_fields=False)
    @classmethod
    def _utc_times(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _utc(v)


class AuditOut(_Utc):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str = Field(description="user:<name>, alert-sink, deadline-job, cli:<login>, or a static token's start")
    action: str = Field(description="e.g. case.read, case.list, case.stream, case.verify, alert.open.red, user.add")
    subject: str = Field(validation_alias="alert_id", description="the case code, alert id or user:<name> concerned")
    detail: str = Field(description="JSON of what changed (empty for a read)")


class AuditPage(BaseModel):
    total: int = Field(description="entries matching the filters")
    items: list[AuditOut]
    next_before: int | None = Field(default=None, description="pass as `before` for the next (older) page")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StoredText = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    role: RoleName
    area: str | None = Field(default=None, pattern=r"^[0-9]{6}([0-9]{3}){0,3}$",
                             description="area code the user answers for; required for inspector and "
                             "stability_officer; none = every area")


class UserOut(_Utc):
    name: str
    role: str
    area_scope: str | None
    created_at: datetime
    disabled_at: datetime | None = Field(description="set once the user is revoked")
    active_tokens: int


class UserPage(BaseModel):
    total: int
    items: list[UserOut]


class TokenOut(BaseModel):
    user: str
    token_id: int
    token: str = Field(description="the bearer token; shown this once, the store keeps only its SHA-256")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                 description="revoke this token only; without it the user and all their tokens")


class ScorePoint(_Utc):
    at: datetime = Field(description="when the store recorded this score")
    alert_id: str
    status: str
    level: str
    score: float | None
    rules_version: str


class EnterpriseView(BaseModel):
    enterprise_id: str
    name: str
    area_code: str
    current: AlertOut = Field(description="the enterprise's latest alert: its score, level, list and reasons")
    score_history: list[ScorePoint] = Field(description="every score the store recorded for it, oldest first "
                                            "(the last 500)")
    credit_record: list[CreditEntryOut] = Field(
        description="its wage-arrears record entries in the caller's area, listed and removed, newest first "
        "(the last 100)")
    cases: list[CaseOut] = Field(description="its cases in the caller's area, newest first (the last 100)")


class Counts(BaseModel):
    total: int = 0
    by_level: dict[str, int] = Field(default_factory=dict)
    by_kind: dict[str, int] = Field(default_factory=dict)
    by_state: dict[str, int] = Field(default_factory=dict)


class ChildArea(BaseModel):
    area_code: str
    level: str
    open_cases: Counts


class AreaView(BaseModel):
    area_code: str
    level: str = Field(description="district, street, community or grid")
    parent: str | None
    open_cases_total: int
    open_cases: list[CaseOut] = Field(description="a page of its open cases, most serious first")
    counts: Counts = Field(description="open cases in the whole area")
    here: Counts = Field(description="open cases coded to this area itself, in none of its children")
    children: list[ChildArea] = Field(description="one level down, each child area with open cases")


class FeedEvent(BaseModel):
    """The JSON in a live-feed message's ``data``: the case as it is now, and the step that made the event."""

    event_id: int
    case_code: str
    kind: str
    area_code: str
    subject_id: str = Field(description="blank for a role without personal access (as are subject_name, actor)")
    subject_name: str
    level: str
    state: str
    unit_level: str
    unit_area: str
    overdue: bool
    action: str = Field(description="opened, alert, alert_closed, level_raised, escalated, dispatch, acknowledge, "
                        "verify, contest, review, close")
    at: datetime
    actor: str
    detail: dict


FEED_MESSAGE = {
    "type": "object", "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$", "description": "the event id; send it back as Last-Event-ID"},
        "event": {"type": "string", "enum": ["case"]},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": FeedEvent.model_json_schema()},
    },
}
"""one Server-Sent Event of GET /cases/stream (OpenAPI before 3.2: the schema of each event)"""


class StreamTicket(BaseModel):
    """A short-lived ticket that opens the caller's live feed (alerts_api/auth/tickets.py)."""

    ticket: str
    expires_at: datetime = Field(description="the ticket opens no feed after this (a feed opened before runs on)")
    stream_url: str = Field(description="the feed's path with the ticket: give it to EventSource as it is")


class AreaMonthOut(BaseModel):
    month: str = Field(description="YYYY-MM (UTC)")
    warnings: int = Field(description="alerts of any kind raised in the area this month (one per episode)")
    incidents: int = Field(description="group-incident alerts raised this month")
    index: float = Field(description="stability index: 100 = no warnings, 50 = a typical month of the report")
    flagged: bool = Field(description="flagged for supervised rectification this month (see rule)")
    why: str = ""


class AreaIndexRow(BaseModel):
    area_code: str
    flagged_now: bool = Field(description="flagged in the report's last month")
    months: list[AreaMonthOut]


class AreaIndexView(BaseModel):
    """The area index (Shandong practice, DESIGN §2) of the areas one level down (or ``by``)."""

    area_code: str
    by: str = Field(description="the level the areas are reported at: street, community or grid")
    months: list[str]
    rule: str
    flagged: list[str] = Field(description="areas flagged in the last month")
    areas: list[AreaIndexRow] = Field(description="every area at that level with an alert in the months")
