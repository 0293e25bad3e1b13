"""Which store errors are worth retrying: the database being away, not the value being bad.

Why it matters: the sink retries a transient error with back-off and keeps
the alert, but dead-letters an alert the database refuses for what it is. A
wrong guess either way loses (dead-lettering a good alert during an outage)
or blocks (retrying a poison alert forever, issue #19).
"""
from __future__ import annotations

from sqlalchemy import exc as sa_exc

TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
             ConnectionError, TimeoutError)
"""Connection refused or lost, database locked or shutting down, pool exhausted."""


def is_transient(exc: BaseException) -> bool:
    """True if the same write may succeed later unchanged (the database, not the alert, is the problem)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT)


def describe(exc: BaseException) -> str:
    """The database's own complaint, without the SQL text and parameters SQLAlchemy appends."""
    inner = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    first = (str(inner).strip().splitlines() or [""])[0]
    return f"{type(inner).__name__}: {first}"[:300]
