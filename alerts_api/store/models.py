"""Storage models: alerts (one row per alert id) and the audit log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Alert(Base):
    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    alert_list: Mapped[str] = mapped_column(String(16), default="", index=True)
    """inspect_now (risk today) or early_warning (onset ahead); empty for area alerts"""
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_name: Mapped[str] = mapped_column(String(200), default="")
    area_code: Mapped[str] = mapped_column(String(15), index=True)
    level: Mapped[str] = mapped_column(String(16))
    level_rank: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    workers_at_risk: Mapped[int] = mapped_column(Integer, default=0)
    expected_harm: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    episode_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rules_version: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_alerts_status_harm", "status", "expected_harm"),)


class Case(Base):
    """What an alert becomes so that somebody handles it: one open case per (kind, subject) (issue #20)."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_code: Mapped[str] = mapped_column(String(24), unique=True)
    query_code: Mapped[str] = mapped_column(String(12), unique=True)
    """short code a caller (the enterprise, a worker) can quote to ask about the case"""
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_name: Mapped[str] = mapped_column(String(200), default="")
    area_code: Mapped[str] = mapped_column(String(15), index=True)
    level: Mapped[str] = mapped_column(String(16))
    level_rank: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    """kind|subject while the case is open, NULL once closed: the store itself refuses a second open case"""
    unit_level: Mapped[str] = mapped_column(String(16))
    unit_area: Mapped[str] = mapped_column(String(15), index=True)
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    inspector: Mapped[str] = mapped_column(String(64), default="")
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rules_version: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[str] = mapped_column(String(64))
    """the latest alert behind the case"""
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CaseEvent(Base):
    """A case's timeline: every alert behind it and every step taken on it."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditEntry(Base):
    """Every state change, who made it and what it was (``alert_id``: the alert or case code it concerns)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class User(Base):
    """A person who uses the API: a role and the area they answer for (issue #20)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)
    role: Mapped[str] = mapped_column(String(24))
    """inspector, stability_officer, engineer or admin (alerts_api/auth/roles.py)"""
    area_scope: Mapped[str | None] = mapped_column(String(15), nullable=True)
    """area-code prefix the user sees; None = every area"""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiToken(Base):
    """A user's bearer token, stored only as its SHA-256: the database never holds the token itself."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Silence(Base):
    """An enterprise muted for N days after a ``no_risk`` verification (issue #20).

    While it lasts, its alerts go on the case timeline only; ``latest_*`` keeps
    the newest of them so that the end of the silence restores and announces
    the real state (Alertmanager never sends a silenced alert's resolution).
    """

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    area_code: Mapped[str] = mapped_column(String(15), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """set when the end was processed (expiry or lifted early); NULL = active or due"""
    muted: Mapped[int] = mapped_column(Integer, default=0)
    latest_alert: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    """the newest alert that arrived while silenced (as the sink read it)"""


class Outbox(Base):
    """A message to deliver, written in the transaction of the change it announces; drained by the API."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    """webhook, sms or kafka"""
    target: Mapped[str] = mapped_column(String(200))
    """the unit's area code (webhook, sms) or the topic (kafka)"""
    case_code: Mapped[str] = mapped_column(String(24), index=True)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """pending, sending (claimed by a drainer, see store/outbox.py), delivered or gave_up"""
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Delivery(Base):
    """The delivery log: every attempt to deliver an outbox message, and how it went."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    case_code: Mapped[str] = mapped_column(String(24), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    """delivered, failed (retried later) or gave_up"""
    error: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CreditEntry(Base):
    """An enterprise on the wage-arrears record after a case verified ``arrears_confirmed``."""

    __tablename__ = "credit_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_name: Mapped[str] = mapped_column(String(200), default="")
    area_code: Mapped[str] = mapped_column(String(15), index=True)
    case_code: Mapped[str] = mapped_column(String(24), unique=True)
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    repaid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    remove_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


class SpotCheckDraw(Base):
    """One month's random verification slice in one area: who drew it, with which seed, from how many."""

    __tablename__ = "spot_check_draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    area_code: Mapped[str] = mapped_column(String(15))
    seed: Mapped[int] = mapped_column(Integer)
    share: Mapped[float] = mapped_column(Float)
    population: Mapped[int] = mapped_column(Integer)
    drawn: Mapped[list] = mapped_column(JSON)
    drawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ux_spot_check_month_area", "month", "area_code", unique=True),)


class Enterprise(Base):
    """The enterprise register as the API knows it, from ``ew.enterprise_registry`` (:mod:`alerts_api.register`).

    Why: the random verification slice must be drawn from every enterprise in an area, not only from those
    the scorer once alerted, or the recall it estimates is recall among the already suspected.
    """

    __tablename__ = "enterprises"

    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """unified social credit code"""
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(32))
    area_code: Mapped[str] = mapped_column(String(15), index=True)
    employees: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """the ``occurred_at`` of the newest registry record taken in: an older one arriving late changes nothing"""
