"""Users and their tokens in the store; every change is written to the audit log.

The CLI (``earlywarn users``) and the admin routes both go through here, so a
user added either way is checked the same way. A revoked token or a disabled
user stops working at the next request: each request looks the token up.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.auth.roles import ROLE_NAMES, SCOPED_ROLES
from alerts_api.auth.tokens import hash_token, new_token
from alerts_api.store.models import ApiToken, AuditEntry, User
from earlywarn.identifiers import area_problem

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,47}")


class UserError(ValueError):
    """A user or token request that cannot be done; ``field`` and ``value`` name what was wrong."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field, self.value = field, value
        super().__init__(message)


class UserNotFound(UserError):
    pass


class UserExists(UserError):
    pass


@dataclass(frozen=True)
class TokenOwner:
    """Who a presented token belongs to, as a request needs it."""

    user_id: int
    name: str
    role: str
    area_scope: str | None


def _audit(session: Session, at: datetime, actor: str, action: str, name: str, **detail: object) -> None:
    session.add(AuditEntry(at=at, actor=actor[:64], action=action, alert_id=f"user:{name}"[:64],
                           detail=json.dumps(detail, default=str)))


def get_user(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise UserNotFound("name", name, f"no user {name!r}")
    return user


def add_user(session: Session, name: str, role: str, area_scope: str | None, *, actor: str, now: datetime) -> User:
    """A new user; inspectors and stability officers need an area, which must be a whole area code."""
    if not NAME.fullmatch(name):
        raise UserError("name", name, "a user name is 1-48 of a-z 0-9 . _ -, starting with a letter or digit")
    if role not in ROLE_NAMES:
        raise UserError("role", role, f"role must be one of {', '.join(ROLE_NAMES)}")
    if area_scope is not None and (problem := area_problem(area_scope)):
        raise UserError("area", area_scope, problem)
    if area_scope is None and role in SCOPED_ROLES:
        raise UserError("area", None, f"a {role} answers for an area: give its area code")
    if session.execute(select(User.id).where(User.name == name)).first() is not None:
        raise UserExists("name", name, f"user {name!r} exists already")
    user = User(name=name, role=role, area_scope=area_scope, created_at=now)
    session.add(user)
    session.flush()
    _audit(session, now, actor, "user.add", name, role=role, area_scope=area_scope)
    return user


def issue_token(session: Session, name: str, *, actor: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for an active user: the row (hash only) and the token, shown once and never stored."""
    user = get_user(session, name)
    if user.disabled_at is not None:
        raise UserError("name", name, f"user {name!r} is revoked; add a new user instead")
    token = new_token()
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now)
    session.add(row)
    session.flush()
    _audit(session, now, actor, "token.issue", name, token_id=row.id)
    return row, token


def revoke(session: Session, name: str, *, actor: str, now: datetime, token_id: int | None = None) -> list[int]:
    """Revoke one token of ``name`` (``token_id``) or the user and all their tokens; the ids revoked."""
    user = get_user(session, name)
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    rows = session.execute(stmt).scalars().all()
    if token_id is not None and not rows:
        raise UserNotFound("token_id", token_id, f"user {name!r} has no active token {token_id}")
    for row in rows:
        row.revoked_at = now
    if token_id is None:
        user.disabled_at = user.disabled_at or now
    _audit(session, now, actor, "token.revoke" if token_id is not None else "user.revoke", name,
           token_ids=[r.id for r in rows])
    return [r.id for r in rows]


def list_users(session: Session, *, name: str | None = None, limit: int | None = None,
               offset: int = 0) -> tuple[int, list[tuple[User, int]]]:
    """Users (all, or the one called ``name``) with the number of their active tokens, by name; and how many."""
    active = (select(ApiToken.user_id, func.count().label("n")).where(ApiToken.revoked_at.is_(None))
              .group_by(ApiToken.user_id).subquery())
    stmt = select(User, func.coalesce(active.c.n, 0)).outerjoin(active, active.c.user_id == User.id)
    if name is not None:
        stmt = stmt.where(User.name == name)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(User.name).limit(limit).offset(offset)).all()
    return total, [(u, int(n)) for u, n in rows]


def owner_of(session: Session, token: str) -> TokenOwner | None:
    """The active user holding ``token``, or None (unknown, revoked, or the user revoked)."""
    return owner_by_hash(session, hash_token(token))


def owner_by_hash(session: Session, token_hash: str) -> TokenOwner | None:
    """:func:`owner_of` from the token's SHA-256 (a stream ticket carries that, never the token)."""
    row = session.execute(
        select(User.id, User.name, User.role, User.area_scope).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None),
               User.disabled_at.is_(None), User.role.in_(ROLE_NAMES))).first()   # a role edited in by hand: no access
    return TokenOwner(*row) if row else None
