"""Request dependencies: database session and the caller's area scope."""
from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

bearer = HTTPBearer(auto_error=False, description="API token (EW_API_TOKENS)")


@dataclass(frozen=True)
class Caller:
    token_hint: str
    area_scope: str | None
    """area-code prefix this caller may see; None = every area"""


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
            return Caller(token_hint=token[:4] + "…", area_scope=area)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked token",
                        headers={"WWW-Authenticate": "Bearer"})
