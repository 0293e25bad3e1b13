"""Dead letters: what the worker and the alert sink send to ``ew.dead-letter``, bounded in size.

Why bounded: a letter carries the refused record's bytes (base64, so nothing
is lost) beside the reason. A record near the producer's 1 MB limit no longer
fits once base64-encoded, and an error text that repeats the value doubles it;
a letter that cannot be sent stops its sender, and then the records behind it
are lost (issue #19). So the reason is cut to :data:`MAX_ERROR_CHARS` and the
payload is kept whole when the letter fits :data:`MAX_LETTER_BYTES`, else cut,
with its full length and sha256 recorded so it can still be matched with the
source system's copy.

>>> letter = dead_letter("not JSON", "ew.petition", 0, 7, b"x" * 2_000_000)
>>> letter.raw_truncated, letter.raw_length, len(letter.to_json()) <= MAX_LETTER_BYTES
(True, 2000000, True)
>>> dead_letter("e" * 10_000, "ew.petition", 0, 8, b"{}").error.endswith("[9,000 more characters]")
True
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass

MAX_LETTER_BYTES = 960_000
"""Faust's producer refuses records over 1,000,000 bytes; this leaves room for the key and framing."""
MAX_ERROR_CHARS = 1_000
MAX_KEY_BYTES = 256
"""a longer source key is replaced by its sha256 (hex) on the letter"""


@dataclass(frozen=True)
class DeadLetter:
    error: str
    source_topic: str
    partition: int
    offset: int
    raw_b64: str
    """the raw bytes, base64; all of them unless ``raw_truncated``"""
    raw_length: int = 0
    """length of the whole raw record in bytes"""
    raw_sha256: str = ""
    """sha256 (hex) of the whole raw record"""
    raw_truncated: bool = False

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode("utf-8", "backslashreplace")

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_b64)


def clip(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


def dead_letter(error: str, topic: str, partition: int, offset: int, payload: bytes | None) -> DeadLetter:
    """A letter that always fits :data:`MAX_LETTER_BYTES` (reason cut, payload kept whole if it fits)."""
    payload = payload or b""
    error = clip(error.encode("utf-8", "backslashreplace").decode("utf-8"))
    head = DeadLetter(error, clip(topic, 255), partition, offset, "", len(payload),
                      hashlib.sha256(payload).hexdigest(), False)
    room = MAX_LETTER_BYTES - len(head.to_json()) - len(b',"raw_truncated": true')
    if (len(payload) + 2) // 3 * 4 <= room:
        return DeadLetter(**{**asdict(head), "raw_b64": base64.b64encode(payload).decode()})
    keep = max(0, room // 4 * 3)
    return DeadLetter(**{**asdict(head), "raw_b64": base64.b64encode(payload[:keep]).decode(),
                         "raw_truncated": True})


def letter_key(key: bytes | None) -> bytes:
    """The source record's key for the letter, or its sha256 when it is too long to repeat."""
    key = key or b""
    return key if len(key) <= MAX_KEY_BYTES else hashlib.sha256(key).hexdigest().encode()
