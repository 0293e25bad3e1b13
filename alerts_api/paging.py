"""Opaque cursors for deep paging through the ranked alert list.

Why not offsets all the way down: ``OFFSET n`` makes the database walk n
rows for every page, and an offset past 2^63 was a 500 (issue #19). Offsets
stop at :data:`MAX_OFFSET`; beyond that, each page carries ``next_cursor``,
the rank of its last alert (expected harm, alert id), and the next page
starts after it whatever was inserted meanwhile.

>>> c = encode_cursor(12.5, "wa-1")
>>> decode_cursor(c)
(12.5, 'wa-1')
>>> decode_cursor("bm90IGEgY3Vyc29y")
Traceback (most recent call last):
...
alerts_api.paging.CursorError: not a cursor this API issued
"""
from __future__ import annotations

import base64
import binascii
import json
import math

MAX_OFFSET = 10_000
MAX_LIMIT = 200


class CursorError(ValueError):
    """A cursor that this API did not issue (or that was altered)."""


def encode_cursor(expected_harm: float, alert_id: str) -> str:
    raw = json.dumps([float(expected_harm), alert_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        harm, alert_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise CursorError("not a cursor this API issued") from None
    if (not isinstance(harm, (int, float)) or isinstance(harm, bool) or not math.isfinite(harm)
            or not isinstance(alert_id, str) or not 0 < len(alert_id) <= 64):
        raise CursorError("not a cursor this API issued")
    return float(harm), alert_id
