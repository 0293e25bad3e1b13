"""Event contracts: one record type and one topic (``ew.<class>``) per data class.

These are the ten data classes of the Yuhang wage-arrears platform, the 12345
hotline, gathering reports from the grid, and the enterprise registry
(reference data). On the wire every record is one JSON object. Validation is
strict where a wrong value would mislead an inspector (credit-code check
character, area codes, time zones, non-negative amounts, enumerations) and
every event carries an ``event_id`` so that replays are counted once.

Every size and magnitude is bounded (issue #19): a 401-digit headcount, a
megabyte name or a complaint dated in the year 9999 is a dead letter at the
door, not an overflow in the engine, a row the store refuses or days of
empty buckets for the surge counter. Times must lie between
:data:`EARLIEST` and one day after the receiving clock (pass ``now``, epoch
seconds, in the validation context; the wall clock otherwise).

``docs/events.md`` is generated from these models (``earlywarn docs``).
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from earlywarn.identifiers import area_problem, uscc_problem

EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
"""no source system here holds records older than this"""
MAX_AHEAD = timedelta(days=1)
"""how far an event time may run ahead of the receiving clock (clock skew, time zones), no more"""
MAX_PEOPLE = 10_000_000
"""headcounts, employees, petitioners: more than any enterprise employs or any square holds"""
MAX_MONTHS = 1200
MAX_AMOUNT = 1e13
"""yuan: ten trillion, more than any one enterprise owes"""
MAX_COUNT = 10**12
"""views and shares"""


def _check_uscc(value: str) -> str:
    problem = uscc_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_area(value: str) -> str:
    problem = area_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _check_time(value: datetime, info: ValidationInfo) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone, e.g. 2026-01-05T09:00:00+08:00")
    if value < EARLIEST:
        raise ValueError(f"timestamp before {EARLIEST.date()} is not plausible")
    now = (info.context or {}).get("now")
    now = time.time() if now is None else float(now)
    ahead = value.timestamp() - now
    if ahead > MAX_AHEAD.total_seconds():
        raise ValueError(f"timestamp is {ahead / 86400:,.1f} days ahead of the receiving clock "
                         f"(at most {MAX_AHEAD.total_seconds() / 86400:g})")
    return value


_CONTROL = re.compile("[\x00-\x1f\x7f]")
"""the C0 control characters and DEL"""


def _check_text(value: str) -> str:
    """Identifiers and names go into alerts, logs and PostgreSQL: no control characters, valid Unicode."""
    if _CONTROL.search(value):   # a compiled scan: the per-character generator was a tenth of a backtest
        raise ValueError("text must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


CreditCode = Annotated[str, AfterValidator(_check_uscc), Field(
    description="unified social credit code, 18 characters, check character verified (GB 32100-2015)")]
AreaCode = Annotated[str, AfterValidator(_check_area), Field(
    description="hierarchical area code: 6-digit county + 3 street + 3 community + 3 grid; may stop at any level")]
Timestamp = Annotated[datetime, AfterValidator(_check_time), Field(
    description="ISO 8601 timestamp with time zone, from 2000 to one day after the receiving clock")]
Text = Annotated[str, AfterValidator(_check_text)]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False, description="amount in yuan, non-negative")]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT, description="non-negative count")]
People = Annotated[int, Field(ge=0, le=MAX_PEOPLE, description="number of people")]
Months = Annotated[int, Field(ge=0, le=MAX_MONTHS, description="number of months")]


class Industry(str, Enum):
    construction = "construction"
    manufacturing_labour = "manufacturing_labour"
    manufacturing = "manufacturing"
    catering = "catering"
    retail = "retail"
    logistics = "logistics"
    services = "services"
    real_estate = "real_estate"
    other = "other"


class ComplaintTopic(str, Enum):
    wage = "wage"
    construction_payment = "construction_payment"
    social_insurance = "social_insurance"
    property = "property"
    environment = "environment"
    consumer = "consumer"
    other = "other"


WAGE_TOPICS = frozenset({ComplaintTopic.wage, ComplaintTopic.construction_payment})


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True, allow_inf_nan=False)
    topic_class: ClassVar[str] = ""
    subject_field: ClassVar[str | None] = "enterprise_id"

    event_id: Text = Field(min_length=1, max_length=128, description="unique id of this event at its source; duplicates are counted once")
    occurred_at: Timestamp = Field(description="when the fact happened at the source (event time)")
    source: Text = Field(default="", max_length=64, description="the source system that reported it")

    @classmethod
    def topic(cls) -> str:
        return f"ew.{cls.topic_class}"


class WaterArrears(Event):
    """Water bill overdue (水费欠费), one record per enterprise per billing report."""

    topic_class: ClassVar[str] = "water_arrears"
    enterprise_id: CreditCode
    months_overdue: Months = Field(description="consecutive months overdue; 0 means paid up")
    overdue_amount: Amount
    usual_monthly_bill: Amount = Field(description="the enterprise's usual monthly bill, to weigh the overdue amount")
    disconnected: bool = Field(default=False, description="supply cut off for non-payment")


class ElectricityArrears(WaterArrears):
    """Electricity bill overdue (电费欠费); same fields as water arrears."""

    topic_class: ClassVar[str] = "electricity_arrears"


class SocialInsuranceArrears(Event):
    """Social-insurance contributions unpaid (社保欠费)."""

    topic_class: ClassVar[str] = "social_insurance_arrears"
    enterprise_id: CreditCode
    months_unpaid: Months
    amount_owed: Amount
    insured_headcount: People = Field(description="employees registered for insurance")
    paid_headcount: People = Field(description="employees whose contributions were paid this month")


class BlacklistAction(str, Enum):
    listed = "listed"
    removed = "removed"


class CourtBlacklist(Event):
    """Court list of dishonest judgment debtors (法院黑名单, 失信被执行人)."""

    topic_class: ClassVar[str] = "court_blacklist"
    enterprise_id: CreditCode
    action: BlacklistAction
    case_number: Text = Field(default="", max_length=64)
    amount: Amount = 0.0


class LitigationRole(str, Enum):
    defendant = "defendant"
    plaintiff = "plaintiff"


class LitigationStatus(str, Enum):
    filed = "filed"
    judged_against = "judged_against"
    judged_for = "judged_for"
    settled = "settled"
    dismissed = "dismissed"


class Litigation(Event):
    """Economic litigation (经济诉讼): a suit involving the enterprise."""

    topic_class: ClassVar[str] = "litigation"
    enterprise_id: CreditCode
    role: LitigationRole
    status: LitigationStatus = LitigationStatus.filed
    case_type: Text = Field(default="contract", max_length=64, description="e.g. contract, loan, labour, construction")
    amount: Amount = 0.0
    case_number: Text = Field(default="", max_length=64)


class PenaltyKind(str, Enum):
    abnormal_operations = "abnormal_operations"
    fine = "fine"
    licence_revoked = "licence_revoked"
    removed_from_abnormal = "removed_from_abnormal"


class MarketPenalty(Event):
    """Market-regulation penalty (工商处罚): abnormal-operations list and the like."""

    topic_class: ClassVar[str] = "market_penalty"
    enterprise_id: CreditCode
    kind: PenaltyKind
    amount: Amount = 0.0


class ProjectStatus(str, Enum):
    active = "active"
    stalled = "stalled"
    suspended = "suspended"
    completed = "completed"


class ConstructionProject(Event):
    """Project under construction (在建项目): status report for one project."""

    topic_class: ClassVar[str] = "construction_project"
    enterprise_id: CreditCode = Field(description="the contractor responsible for wages on site")
    project_id: Text = Field(min_length=1, max_length=64)
    developer_id: CreditCode | None = Field(default=None, description="the developer behind the project, if known")
    area_code: AreaCode
    status: ProjectStatus
    workers_on_site: People = 0


class WageAccount(Event):
    """Dedicated project wage account (工资专户): one pay period of one project."""

    topic_class: ClassVar[str] = "wage_account"
    enterprise_id: CreditCode
    project_id: Text = Field(min_length=1, max_length=64)
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="pay period, YYYY-MM")
    payroll_due: Amount
    payroll_paid: Amount
    deposit_balance: Amount = 0.0


class Petition(Event):
    """Petition (信访), possibly collective, possibly naming an enterprise."""

    topic_class: ClassVar[str] = "petition"
    subject_field: ClassVar[str | None] = "enterprise_id"
    enterprise_id: CreditCode | None = None
    area_code: AreaCode
    topic_name: ComplaintTopic = Field(alias="topic", description="what the petition is about")
    petitioners: int = Field(default=1, ge=1, le=MAX_PEOPLE, description="people who signed or came")
    collective: bool = False

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True, populate_by_name=True)


class HotlineComplaint(Event):
    """12345 hotline complaint, possibly naming an enterprise."""

    topic_class: ClassVar[str] = "hotline_complaint"
    enterprise_id: CreditCode | None = None
    area_code: AreaCode
    topic_name: ComplaintTopic = Field(alias="topic", description="complaint category")
    callers: int = Field(default=1, ge=1, le=MAX_PEOPLE)

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True, populate_by_name=True)


class PublicOpinion(Event):
    """Public-opinion item (舆情): a post or report picked up by monitoring."""

    topic_class: ClassVar[str] = "public_opinion"
    enterprise_id: CreditCode | None = None
    area_code: AreaCode
    wage_related: bool = False
    sentiment: float = Field(default=0.0, ge=-1.0, le=1.0, description="-1 very negative .. 1 very positive")
    reach: Count = Field(default=0, description="views or shares when picked up")


class GatheringCause(str, Enum):
    wage = "wage"
    construction_payment = "construction_payment"
    property_buyers = "property_buyers"
    creditors = "creditors"
    other = "other"


class GatheringReport(Event):
    """A gathering observed by the grid: headcount at a time and place."""

    topic_class: ClassVar[str] = "gathering_report"
    subject_field: ClassVar[str | None] = None
    area_code: AreaCode
    gathering_id: Text = Field(min_length=1, max_length=64, description="the same id for successive counts of one gathering")
    headcount: People
    cause: GatheringCause = GatheringCause.other
    enterprise_id: CreditCode | None = None


class CreditEvent(str, Enum):
    listed = "listed"
    repaid = "repaid"
    removed = "removed"


class CreditRecord(Event):
    """The wage-arrears credit record's changes, sent back by the API (``alerts_api/store/credit.py``): an
    enterprise listed after a case verified ``arrears_confirmed``, its repayment, its removal."""

    topic_class: ClassVar[str] = "credit"
    subject_field: ClassVar[str | None] = None
    subject_id: CreditCode = Field(description="the enterprise (named subject_id: the record is about a case's "
                                               "subject, not evidence the engine scores)")
    event: CreditEvent
    case_code: Text = Field(min_length=1, max_length=24, description="the case that listed it")
    offences: int = Field(ge=0, le=10_000, description="listings of this enterprise so far, this one included")
    area_code: AreaCode | None = None


class EnterpriseRecord(Event):
    """Enterprise registry (reference data): who the enterprise is and where."""

    topic_class: ClassVar[str] = "enterprise_registry"
    enterprise_id: CreditCode
    name: Text = Field(min_length=1, max_length=200)
    industry: Industry
    area_code: AreaCode
    employees: People


SOURCE_RECORDS: tuple[type[Event], ...] = (
    Petition, MarketPenalty, WaterArrears, ElectricityArrears, ConstructionProject,
    WageAccount, SocialInsuranceArrears, PublicOpinion, CourtBlacklist, Litigation,
    HotlineComplaint, GatheringReport, EnterpriseRecord, CreditRecord,
)
"""Every input record type: the ten Yuhang classes, hotline, gatherings, registry, and the credit record the API
sends back."""

MAX_RECORD_BYTES = 1_000_000
"""one Kafka record (Faust's and most brokers' default limit)"""
MAX_EVENT_BYTES = 16_384
"""one event's JSON: the longest fields together are under 1 kB"""
MAX_BULK_ITEMS = 5_000

RECORD_BY_TOPIC: dict[str, type[Event]] = {r.topic(): r for r in SOURCE_RECORDS}
RECORD_BY_CLASS: dict[str, type[Event]] = {r.topic_class: r for r in SOURCE_RECORDS}


def to_json(event: Event) -> bytes:
    """The wire form: JSON with aliases, so it round-trips through validation."""
    return event.model_dump_json(by_alias=True).encode()


def contracts_markdown() -> str:
    """Markdown description of every contract, for docs/events.md."""
    lines = ["# Event contracts", "",
             "Generated from `streams/records.py` by `earlywarn docs`; do not edit by hand.", "",
             "Every record is one JSON object on its topic (bulk sources may send a JSON array of them). "
             "Unknown fields are refused, and so are values out of their bounds: numbers below or above "
             "the limits shown, strings longer than shown or holding control characters, non-finite numbers, "
             f"and times before {EARLIEST.date()} or more than {MAX_AHEAD.total_seconds() / 3600:g} hours "
             "ahead of the worker's clock. "
             f"A record is at most {MAX_RECORD_BYTES:,} bytes, one event at most {MAX_EVENT_BYTES:,} bytes, "
             f"a bulk array at most {MAX_BULK_ITEMS:,} events. "
             "A record that fails to decode or validate goes to `ew.dead-letter` with the error, "
             "source topic, partition, offset and raw bytes (base64; cut, with its length and sha256, "
             "only if the letter would not fit the producer's 1 MB limit).", ""]
    for record in SOURCE_RECORDS:
        lines += [f"## `{record.topic()}` — {record.__name__}", "", (record.__doc__ or "").strip(), "",
                  "| field | type | required | description |", "|---|---|---|---|"]
        schema = record.model_json_schema(by_alias=True)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            typ = _schema_type(prop, schema)
            desc = prop.get("description", "")
            bounds = [f"≥ {_number(prop['minimum'])}" if "minimum" in prop else "",
                      f"≤ {_number(prop['maximum'])}" if "maximum" in prop else "",
                      f"at most {prop['maxLength']} characters" if "maxLength" in prop else ""]
            if any(bounds):
                desc = (desc + f" ({', '.join(b for b in bounds if b)})").strip()
            lines.append(f"| `{name}` | {typ} | {'yes' if name in required else 'no'} | {desc} |")
        lines.append("")
    return "\n".join(lines)


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _schema_type(prop: dict, schema: dict) -> str:
    if "$ref" in prop:
        ref = schema["$defs"][prop["$ref"].split("/")[-1]]
        return "one of " + ", ".join(f"`{v}`" for v in ref.get("enum", []))
    if "anyOf" in prop:
        return " or ".join(_schema_type(p, schema) for p in prop["anyOf"])
    if prop.get("format") == "date-time":
        return "timestamp"
    return prop.get("type", "any")
