"""API and wire schemas (pydantic), kept apart from the storage models."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Reason(BaseModel):
    signal: str
    label: str
    contribution: float
    detail: str = ""
    event_id: str = ""
    event_time: float = 0.0


class AlertIn(BaseModel):
    """An alert as the worker announces it on ``ew.alerts``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    alert_id: str = Field(min_length=1, max_length=64)
    kind: str
    alert_list: Literal["", "inspect_now", "early_warning"] = Field(
        default="", alias="list", description="wage arrears: inspect_now (risk today) or early_warning (onset "
        "within 90 days, not yet showing); empty for area alerts")
    subject_id: str
    subject_name: str = ""
    area_code: str = ""
    level: str
    level_rank: int = Field(ge=0, le=3)
    status: str
    score: float = Field(ge=0, le=1)
    workers_at_risk: int = Field(default=0, ge=0)
    expected_harm: float = Field(default=0.0, ge=0)
    reasons: list[Reason] = []
    episode_start: datetime
    raised_at: datetime
    changed_at: datetime
    deadline: datetime
    rules_version: str

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
    total: int
    items: list[AlertOut]


class Problem(BaseModel):
    detail: Any
