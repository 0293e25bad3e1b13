"""API and wire schemas (pydantic), kept apart from the storage models.

The alert schema is the contract of ``ew.alerts`` as the sink reads it:
finite numbers only (``allow_inf_nan=False``: PostgreSQL's JSON has no
Infinity, and the published schema says *number*), integers and strings within
what the store's columns hold, so a value the database would refuse is refused
here first, with its field named.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

MAX_INT = 2**31 - 1
"""the store's INTEGER columns; larger headcounts are not real"""


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _storable(value: str) -> str:
    """No NUL (PostgreSQL text cannot hold it) and no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


StoredText = Annotated[str, AfterValidator(_storable)]


class Reason(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    signal: StoredText = Field(max_length=64)
    label: StoredText = Field(max_length=200)
    contribution: float = Field(ge=-1e6, le=1e6, description="log-odds (or −log10 p) this signal adds")
    detail: StoredText = Field(default="", max_length=1000)
    event_id: StoredText = Field(default="", max_length=128)
    event_time: float = Field(default=0.0, ge=0, le=1e11, description="epoch seconds")


class AlertIn(BaseModel):
    """An alert as the worker announces it on ``ew.alerts``."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, populate_by_name=True)

    alert_id: StoredText = Field(min_length=1, max_length=64)
    kind: StoredText = Field(max_length=32)
    alert_list: Literal["", "inspect_now", "early_warning"] = Field(
        default="", alias="list", description="wage arrears: inspect_now (risk today) or early_warning (onset "
        "within 90 days, not yet showing); empty for area alerts")
    subject_id: StoredText = Field(max_length=64)
    subject_name: StoredText = Field(default="", max_length=200)
    area_code: StoredText = Field(default="", max_length=15, pattern=r"^(\d{6}(\d{3}){0,3})?$")
    level: StoredText = Field(max_length=16)
    level_rank: int = Field(ge=0, le=3)
    status: StoredText = Field(max_length=16)
    score: float = Field(ge=0, le=1)
    workers_at_risk: int = Field(default=0, ge=0, le=MAX_INT)
    expected_harm: float = Field(default=0.0, ge=0, le=1e12)
    reasons: list[Reason] = Field(default_factory=list, max_length=20)
    episode_start: datetime
    raised_at: datetime
    changed_at: datetime
    deadline: datetime
    rules_version: StoredText = Field(max_length=64)

    @field_validator("episode_start", "raised_at", "changed_at", "deadline")
    @classmethod
    def _to_utc(cls, v: datetime) -> datetime:
        return _utc(v)


class AlertOut(AlertIn):
    model_config = ConfigDict(from_attributes=True)
    stored_at: datetime

    @field_validator("stored_at")
    @classmethod
    def _stored_utc(cls, v: datetime) -> datetime:
        return _utc(v)


class AlertPage(BaseModel):
    total: int = Field(description="alerts matching the filters in the caller's area")
    items: list[AlertOut]
    next_cursor: str | None = Field(default=None, description="pass as `cursor` for the next page; null on the last")


class Problem(BaseModel):
    """Why a request was refused (401, 403, 404, 429); 422 has FastAPI's validation shape."""

    detail: str


UnitLevel = Literal["grid", "community", "street", "district"]


class CaseOut(BaseModel):
    """A case as a unit's list shows it."""

    model_config = ConfigDict(from_attributes=True)

    case_code: str
    query_code: str
    kind: str
    subject_id: str
    subject_name: str
    area_code: str
    level: str
    state: str
    unit_level: str
    unit_area: str
    deadline: datetime
    overdue: bool = Field(description="missed a deadline: lit red and taken over one level up")
    escalations: int
    outcome: str | None
    inspector: str
    satisfaction: int | None
    rules_version: str
    alert_id: str = Field(description="the latest alert behind the case")
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @field_validator("deadline", "opened_at", "updated_at", "closed_at")
    @classmethod
    def _times_utc(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _utc(v)


class CaseEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    action: str
    detail: dict

    @field_validator("at")
    @classmethod
    def _at_utc(cls, v: datetime) -> datetime:
        return _utc(v)


class CaseDetail(CaseOut):
    outcome_note: str
    allowed_actions: list[str] = Field(description="what may be done next (the transition table)")
    timeline: list[CaseEventOut]
    beneath: list[CaseOut] = Field(default_factory=list, description="group incident: the open wage-arrears cases "
                                   "in its area (inhibition: handled under it), most serious first, at most 200")


class CasePage(BaseModel):
    total: int
    items: list[CaseOut]


class TransitionIn(BaseModel):
    """One step on a case. ``verify`` and ``review`` need an ``outcome``; ``verify`` the ``inspector``."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["dispatch", "acknowledge", "verify", "contest", "review", "close"]
    outcome: Literal["arrears_confirmed", "hidden_risk", "no_risk", "unable_to_verify"] | None = None
    note: StoredText = Field(default="", max_length=2000)
    inspector: StoredText = Field(default="", max_length=64)
    unit_level: UnitLevel | None = Field(default=None, description="dispatch: the unit level to send it to")
    satisfaction: int | None = Field(default=None, ge=1, le=5, strict=True,
                                     description="close: the evaluation, 1–5 (true is not 1)")


class Conflict(BaseModel):
    """409: the action is not allowed in the case's current state."""

    detail: str
    state: str
    allowed: list[str]
