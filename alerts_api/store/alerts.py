"""Alert queries and the idempotent upsert the sink relies on."""
from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timezone

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts_api.schemas import AlertIn
from alerts_api.store.models import Alert, AuditEntry

_UPDATABLE = ("subject_name", "area_code", "level", "level_rank", "status", "score", "workers_at_risk",
              "expected_harm", "reasons", "changed_at", "deadline", "rules_version", "stored_at")


def upsert_alert(session: Session, alert: AlertIn, actor: str, now: datetime) -> bool:
    """Insert or update one alert by id; True if the store changed.

    A row changes only for a newer announcement (later ``changed_at``, or the
    same instant at a higher level), so replaying a batch, or an old
    announcement arriving late, changes nothing. Every change is audited.
    """
    row = alert.model_dump(mode="python")
    row["reasons"] = [r for r in row["reasons"]]
    row["stored_at"] = now
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"alert store supports sqlite and postgresql, not {dialect}")
    stmt = insert(Alert).values(**row)
    newer = or_(stmt.excluded.changed_at > Alert.changed_at,
                (stmt.excluded.changed_at == Alert.changed_at) & (stmt.excluded.level_rank > Alert.level_rank))
    stmt = stmt.on_conflict_do_update(index_elements=[Alert.alert_id],
                                      set_={k: getattr(stmt.excluded, k) for k in _UPDATABLE}, where=newer)
    changed = session.execute(stmt).rowcount > 0
    if changed:
        session.add(AuditEntry(at=now, actor=actor, action=f"alert.{alert.status}.{alert.level}",
                               alert_id=alert.alert_id,
                               detail=json.dumps({"score": alert.score, "rules_version": alert.rules_version})))
    return changed


def scoped(stmt, area_column, area_scope: str | None, kind_column=None, kinds: Collection[str] | None = None):
    """Rows whose area lies under ``area_scope`` (None: all) and, given ``kinds``, of those kinds only (a role's
    kinds: an inspector sees wage arrears only), for alerts and cases alike.

    autoescape: '_' and '%' in a prefix are characters, never LIKE wildcards (issue #19: '33011_' spanned counties).
    """
    if kinds is not None:
        stmt = stmt.where(kind_column.in_(sorted(kinds)))
    return stmt.where(area_column.startswith(area_scope, autoescape=True)) if area_scope else stmt


def list_alerts(session: Session, *, area_scope: str | None, area: str | None = None, level: str | None = None,
                status: str | None = None, kind: str | None = None, alert_list: str | None = None,
                limit: int = 50, offset: int = 0, after: tuple[float, str] | None = None,
                kinds: Collection[str] | None = None) -> tuple[int, list[Alert]]:
    """Alerts in scope, most expected harm first (how an inspector's list is ranked).

    ``after`` (expected harm, alert id) starts the page after that alert in
    the ranking: keyset paging, as deep as needed at the cost of one page.
    """
    stmt = scoped(select(Alert), Alert.area_code, area_scope, Alert.kind, kinds)
    if area:
        stmt = stmt.where(Alert.area_code.startswith(area, autoescape=True))
    if level:
        stmt = stmt.where(Alert.level == level)
    if status:
        stmt = stmt.where(Alert.status == status)
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if alert_list:
        stmt = stmt.where(Alert.alert_list == alert_list)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    if after is not None:
        harm, alert_id = after
        stmt = stmt.where(or_(Alert.expected_harm < harm,
                              and_(Alert.expected_harm == harm, Alert.alert_id > alert_id)))
    rows = session.execute(stmt.order_by(Alert.expected_harm.desc(), Alert.alert_id)
                           .limit(limit).offset(offset)).scalars().all()
    return total, list(rows)


def get_alert(session: Session, alert_id: str, *, area_scope: str | None,
              kinds: Collection[str] | None = None) -> Alert | None:
    return session.execute(scoped(select(Alert).where(Alert.alert_id == alert_id), Alert.area_code,
                                  area_scope, Alert.kind, kinds)).scalar_one_or_none()


def count_alerts(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Alert)).scalar_one()


def utcnow() -> datetime:
    """The one place the API reads the clock (stored_at, audit times)."""
    return datetime.now(timezone.utc)
