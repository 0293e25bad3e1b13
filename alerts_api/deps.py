"""Request dependencies: database session, the caller's area scope, and the caller's rate limit."""
from __future__ import annotations

import hmac
import math
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

bearer = HTTPBearer(auto_error=False, description="API token (EW_API_TOKENS)")


@dataclass(frozen=True)
class Caller:
    token: str
    area_scope: str | None
    """area-code prefix this caller may see; None = every area"""

    @property
    def token_hint(self) -> str:
        return self.token[:4] + "…"


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
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked token",
                        headers={"WWW-Authenticate": "Bearer"})


def rate_limited_caller(request: Request, caller: Caller = Depends(current_caller)) -> Caller:
    """The caller, if their token has a request left in its bucket; else 429 with Retry-After."""
    wait = request.app.state.rate_limiter.wait(caller.token)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"rate limit: {request.app.state.rate_limiter.rate:g} requests a second per token; "
                            f"retry after {math.ceil(wait)} s",
                            headers={"Retry-After": str(math.ceil(wait))})
    return caller
