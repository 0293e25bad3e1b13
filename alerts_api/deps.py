"""Request dependencies: database session, the caller (role and area scope), and the caller's rate limit."""
from __future__ import annotations

import hmac
import math
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from alerts_api.auth.roles import ROLES, STATIC_TOKEN_ROLE, Role
from alerts_api.auth.tokens import hash_token
from alerts_api.store.users import owner_by_hash, owner_of

bearer = HTTPBearer(auto_error=False, description="API token (`earlywarn users token`, or EW_API_TOKENS)")


@dataclass(frozen=True)
class Caller:
    token: str
    area_scope: str | None
    """area-code prefix this caller may see; None = every area"""
    role_name: str = STATIC_TOKEN_ROLE
    user: str = ""
    """the user's name; empty for an EW_API_TOKENS token"""
    token_hash: str = ""
    """the user's token's SHA-256, by which it is looked up again (a ticket's caller has no token, only this)"""

    @property
    def role(self) -> Role:
        return ROLES[self.role_name]

    @property
    def kinds(self) -> frozenset[str] | None:
        return self.role.kinds

    @property
    def token_hint(self) -> str:
        """Who, for the audit log: ``user:<name>`` (no user can pass for the sink or a job), or a static token's start."""
        return f"user:{self.user}" if self.user else self.token[:4] + "…"


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def current_caller(request: Request,
                   creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    tokens: dict[str, str | None] = request.app.state.tokens
    if creds is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    for token, area in tokens.items():
        if hmac.compare_digest(token.encode(), creds.credentials.encode()):
            return Caller(token=token, area_scope=area)
    with request.app.state.sessions() as session:   # looked up on every request: a revoke counts at once
        owner = owner_of(session, creds.credentials)
    if owner is not None:
        return Caller(token=creds.credentials, area_scope=owner.area_scope, role_name=owner.role, user=owner.name,
                      token_hash=hash_token(creds.credentials))
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked token",
                        headers={"WWW-Authenticate": "Bearer"})


def caller_by_hash(request: Request, token_hash: str) -> Caller | None:
    """The caller whose token has SHA-256 ``token_hash`` (a stream ticket's), or None once it no longer works."""
    for token, area in request.app.state.tokens.items():
        if hmac.compare_digest(hash_token(token), token_hash):
            return Caller(token=token, area_scope=area)
    with request.app.state.sessions() as session:
        owner = owner_by_hash(session, token_hash)
    if owner is None:
        return None
    return Caller(token=f"#{token_hash}", area_scope=owner.area_scope, role_name=owner.role, user=owner.name,
                  token_hash=token_hash)   # '#…': the rate limiter's key; no token starts so


def token_hash_of(caller: Caller) -> str:
    return caller.token_hash or hash_token(caller.token)


def rate_limited_caller(request: Request, caller: Caller = Depends(current_caller)) -> Caller:
    """The caller, if their token has a request left in its bucket; else 429 with Retry-After."""
    wait = request.app.state.rate_limiter.wait(caller.token)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"rate limit: {request.app.state.rate_limiter.rate:g} requests a second per token; "
                            f"retry after {math.ceil(wait)} s",
                            headers={"Retry-After": str(math.ceil(wait))})
    return caller


def _forbidden(caller: Caller, what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, f"role {caller.role_name} may not {what}")


def case_reader(caller: Caller = Depends(rate_limited_caller)) -> Caller:
    """A caller whose role reads alerts and cases (every role but admin)."""
    if not caller.role.reads_cases:
        raise _forbidden(caller, "read alerts or cases")
    return caller


def case_mover(caller: Caller = Depends(rate_limited_caller)) -> Caller:
    """A caller whose role takes steps on cases (inspector, stability officer)."""
    if not caller.role.moves_cases:
        raise _forbidden(caller, "take steps on cases")
    return caller


def personal_reader(caller: Caller = Depends(rate_limited_caller)) -> Caller:
    """A caller whose role sees enterprises by name and id (inspector, stability officer)."""
    if not caller.role.personal:
        raise _forbidden(caller, "read enterprise records")
    return caller


def admin(caller: Caller = Depends(rate_limited_caller)) -> Caller:
    if not caller.role.admin:
        raise _forbidden(caller, "manage users or read the audit log (admin only)")
    return caller
