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
