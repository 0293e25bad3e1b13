"""Decode and validate raw Kafka records; say exactly why a bad one is bad.

A record that fails is never dropped silently: the caller sends the
:class:`DeadLetter` built here to ``ew.dead-letter`` and carries on. Decoding
never raises, whatever the bytes (a decoder that raised took its whole
micro-batch with it, issue #19): sizes are checked before parsing, and any
error while parsing or validating becomes the record's dead letter.
"""
from __future__ import annotations

import json
import time

from pydantic import ValidationError

from detectors.engine import DecodedEvent
from earlywarn.validation import describe_validation
from streams.deadletter import DeadLetter, dead_letter
from streams.records import MAX_BULK_ITEMS, MAX_EVENT_BYTES, MAX_RECORD_BYTES, RECORD_BY_TOPIC

__all__ = ["DeadLetter", "decode", "decode_many", "describe_validation"]


def decode(topic: str, raw: bytes | None, partition: int = -1, offset: int = -1,
           now: float | None = None) -> DecodedEvent | DeadLetter:
    """A validated event, or the dead letter that explains why not."""
    results = decode_many(topic, raw, partition, offset, allow_bulk=False, now=now)
    return results[0]


def decode_many(topic: str, raw: bytes | None, partition: int = -1, offset: int = -1,
                allow_bulk: bool = True, now: float | None = None) -> list[DecodedEvent | DeadLetter]:
    """Decode one Kafka record holding one event, or (bulk sources) a JSON array of events.

    Monthly utility and social-insurance files arrive as many events per
    record, because the stream's cost is per message (DESIGN §7). Each item is
    validated on its own: a bad item is dead-lettered with its index and its
    own bytes, and the good ones go on. ``now`` (epoch seconds, default the
    wall clock) is the receiving clock event times are checked against.
    """
    def dead(error: str, payload: bytes | None = raw) -> DeadLetter:
        return dead_letter(error, topic, partition, offset, payload)

    try:
        return _decode(topic, raw, allow_bulk, time.time() if now is None else now, dead)
    except Exception as exc:  # RecursionError on deep nesting, or a bug: this record, not the worker, fails
        return [dead(f"decoder failed: {type(exc).__name__}: {exc}")]


def _decode(topic: str, raw: bytes | None, allow_bulk: bool, now: float,
            dead) -> list[DecodedEvent | DeadLetter]:
    record = RECORD_BY_TOPIC.get(topic)
    if record is None:
        return [dead(f"no event contract for topic {topic!r}")]
    if not raw:
        return [dead("empty record")]
    if len(raw) > MAX_RECORD_BYTES:
        return [dead(f"record of {len(raw):,} bytes; at most {MAX_RECORD_BYTES:,}")]
    try:
        data = json.loads(raw.decode("utf-8"))  # strict: json.loads(bytes) would let encoded surrogates through
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError, an integer of over 4,300 digits
        return [dead(f"not JSON: {exc}")]
    if isinstance(data, list) and allow_bulk:
        if not data:
            return [dead("empty bulk record (JSON array with no events)")]
        if len(data) > MAX_BULK_ITEMS:
            return [dead(f"bulk record of {len(data):,} events; at most {MAX_BULK_ITEMS:,}")]
        out: list[DecodedEvent | DeadLetter] = []
        for i, item in enumerate(data):
            item_raw = json.dumps(item, ensure_ascii=False).encode("utf-8", "backslashreplace")
            one = _validate(record, item, len(item_raw), now)
            out.append(dead(f"bulk item {i}: {one}", item_raw) if isinstance(one, str) else one)
        return out
    one = _validate(record, data, len(raw), now)
    return [dead(one) if isinstance(one, str) else one]


def _validate(record: type, data: object, size: int, now: float) -> DecodedEvent | str:
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    if size > MAX_EVENT_BYTES:
        return f"event of {size:,} bytes; one event is at most {MAX_EVENT_BYTES:,}"
    try:
        event = record.model_validate(data, context={"now": now})
    except ValidationError as exc:
        return f"invalid {record.__name__}: {describe_validation(exc)}"
    fields = event.model_dump(mode="json", by_alias=True)
    return DecodedEvent(record.topic_class, fields, event.occurred_at.timestamp())
