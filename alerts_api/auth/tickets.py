"""Short-lived stream tickets: how a browser opens the live feed without putting its token in a URL.

Why: a browser's ``EventSource`` cannot send an ``Authorization`` header, and a
bearer token in a query string ends up in proxy and server logs for as long as
it is valid. So a client that holds a token asks ``POST /cases/stream/tickets``
for a ticket, valid for ``EW_STREAM_TICKET_SECONDS`` (60 s), and opens
``GET /cases/stream?ticket=…`` with it. A logged ticket is worth a minute.

A ticket is the token's SHA-256 (what the user table already stores, never
the token) and an expiry, signed with HMAC-SHA-256 under the API's ticket key:
stateless, so any API process that shares the key (``EW_STREAM_TICKET_KEY``;
by default a random key per process) accepts it, and a revoked token's
tickets die with it, because the caller is looked up again from the hash.

>>> key = b"k" * 32
>>> t = issue("ab" * 32, key, expires=100.0)
>>> verify(t, key, now=99.0)
'abababababababababababababababababababababababababababababababab'
>>> verify(t, key, now=101.0)
Traceback (most recent call last):
...
alerts_api.auth.tickets.TicketError: the stream ticket has expired: ask POST /cases/stream/tickets for a new one
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

VERSION = "t1"
_HASH = re.compile(r"^[0-9a-f]{64}$")


class TicketError(ValueError):
    """Why a ticket was refused (the API answers 401 with it)."""


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(token_hash: str, key: bytes, expires: float) -> str:
    """A ticket for the holder of the token whose SHA-256 is ``token_hash``, good until ``expires`` (Unix s)."""
    body = f"{VERSION}.{token_hash}.{int(expires)}"
    return f"{body}.{_mac(key, body)}"


def verify(ticket: str, key: bytes, now: float) -> str:
    """The token hash a good ticket carries; :class:`TicketError` saying why a bad one is refused."""
    parts = ticket.split(".")
    if len(parts) != 4 or parts[0] != VERSION or not _HASH.match(parts[1]) or not parts[2].isdigit():
        raise TicketError("not a stream ticket: ask POST /cases/stream/tickets for one")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, body), parts[3]):
        raise TicketError("the stream ticket's signature is wrong (issued by another API key, or altered)")
    if int(parts[2]) < now:
        raise TicketError("the stream ticket has expired: ask POST /cases/stream/tickets for a new one")
    return parts[1]
