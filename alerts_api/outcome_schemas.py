"""API schemas for what follows a verification: silences, the credit record, the random slice, the statistics."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alerts_api.schemas import StoredText, _utc

AREA = r"^[0-9]{6}([0-9]{3}){0,3}$"
MAX_SEED = 2**31 - 1


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_validator("*", mode="after")
    @classmethod
    def _times_utc(cls, v: object) -> object:
        return _utc(v) if isinstance(v, datetime) else v


class SilenceIn(BaseModel):
    """Silence the enterprise of a case verified ``no_risk``."""

    model_config = ConfigDict(extra="forbid")

    case_code: StoredText = Field(min_length=1, max_length=24, description="the case verified no_risk")
    days: float = Field(gt=0, le=365, allow_inf_nan=False, strict=True, description="how long, in days")
    reason: StoredText = Field(min_length=1, max_length=1000)


class SilenceOut(_Out):
    id: int
    subject_id: str
    area_code: str
    case_code: str
    reason: str
    created_by: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = Field(description="when the silence ended (expired or lifted); null while active")
    muted: int = Field(description="alerts that arrived while silenced (on the case timeline, nobody told)")


class SilencePage(BaseModel):
    total: int
    items: list[SilenceOut]


class CreditEntryOut(_Out):
    id: int
    subject_id: str
    subject_name: str
    area_code: str
    case_code: str = Field(description="the case verified arrears_confirmed")
    listed_at: datetime
    repaid_at: datetime | None
    remove_after: datetime | None = Field(description="repaid_at plus the rule file's credit_waiting_days")
    removed_at: datetime | None


class CreditPage(BaseModel):
    total: int
    items: list[CreditEntryOut]


class RepaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repaid_at: datetime = Field(description="when the arrears were repaid (not in the future)")

    @field_validator("repaid_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if not 2000 <= v.year <= 2100:  # also keeps 0001-01-01+00:01 from overflowing on the way to UTC
            raise ValueError("repayment date must lie between the years 2000 and 2100")
        return _utc(v)


class SpotDrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    area: str | None = Field(default=None, pattern=AREA, description="area-code prefix; default the token's scope")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, strict=True,
                             description="default: drawn at random and recorded")


class SpotDrawOut(_Out):
    id: int
    month: str
    area_code: str
    seed: int
    share: float
    population: int = Field(description="unflagged enterprises the slice was drawn from")
    drawn: list[str] = Field(description="credit codes drawn")
    drawn_at: datetime
    actor: str
    cases: list[str] = Field(default_factory=list, description="spot_check cases opened (on this request only)")


class SpotDrawPage(BaseModel):
    total: int
    items: list[SpotDrawOut]


class LevelResponse(BaseModel):
    answered: int
    median_hours: float | None
    deadline_hours: float
    due: int = Field(description="cases answered or past their deadline")
    in_time_share: float | None


class GroupStats(BaseModel):
    key: str
    cases: int
    verified: int = Field(description="outcome arrears_confirmed, hidden_risk or no_risk")
    arrears_confirmed: int
    hidden_risk: int
    no_risk: int
    unable_to_verify: int
    not_verified: int
    effective_rate: float | None = Field(description="(arrears_confirmed + hidden_risk) / verified (Yuhang)")
    strict_rate: float | None = Field(description="arrears_confirmed / verified")
    precision_at_capacity: float | None
    capacity: int
    response: dict[str, LevelResponse]


class SliceStats(BaseModel):
    checked: int
    positives: int
    population: int
    positive_rate: float | None
    positive_rate_ci95: tuple[float, float] | None
    method: str
    estimated_missed: float | None
    recall: float | None
    recall_ci95: tuple[float, float] | None


class Effectiveness(BaseModel):
    kind: str
    by: str
    groups: list[GroupStats]
    random_slice: SliceStats = Field(description="spot checks of unflagged enterprises and the recall they imply")
