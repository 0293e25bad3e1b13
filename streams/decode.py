"""Decode and validate raw Kafka records; say exactly why a bad one is bad.

A record that fails is never dropped silently: the caller sends the
:class:`DeadLetter` built here to ``ew.dead-letter`` and carries on.
"""
from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass

from pydantic import ValidationError

from detectors.engine import DecodedEvent
from earlywarn.validation import describe_validation
from streams.records import RECORD_BY_TOPIC


@dataclass(frozen=True)
class DeadLetter:
    error: str
    source_topic: str
    partition: int
    offset: int
    raw_b64: str
    """the raw bytes, base64, so nothing is lost"""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @property
    def raw(self) -> bytes:
        return base64.b64decode(self.raw_b64)


def decode(topic: str, raw: bytes | None, partition: int = -1, offset: int = -1) -> DecodedEvent | DeadLetter:
    """A validated event, or the dead letter that explains why not."""
    results = decode_many(topic, raw, partition, offset, allow_bulk=False)
    return results[0]


def decode_many(topic: str, raw: bytes | None, partition: int = -1, offset: int = -1,
                allow_bulk: bool = True) -> list[DecodedEvent | DeadLetter]:
    """Decode one Kafka record holding one event, or (bulk sources) a JSON array of events.

    Monthly utility and social-insurance files arrive as many events per
    record, because the stream's cost is per message (DESIGN §7). Each item is
    validated on its own: a bad item is dead-lettered with its index and its
    own bytes, and the good ones go on.
    """
    def dead(error: str, payload: bytes | None = raw) -> DeadLetter:
        return DeadLetter(error, topic, partition, offset, base64.b64encode(payload or b"").decode())

    record = RECORD_BY_TOPIC.get(topic)
    if record is None:
        return [dead(f"no event contract for topic {topic!r}")]
    if not raw:
        return [dead("empty record")]
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [dead(f"not JSON: {exc}")]
    if isinstance(data, list) and allow_bulk:
        if not data:
            return [dead("empty bulk record (JSON array with no events)")]
        out: list[DecodedEvent | DeadLetter] = []
        for i, item in enumerate(data):
            one = _validate(record, item)
            if isinstance(one, str):
                one = dead(f"bulk item {i}: {one}", json.dumps(item, ensure_ascii=False).encode())
            out.append(one)
        return out
    one = _validate(record, data)
    return [dead(one) if isinstance(one, str) else one]


def _validate(record: type, data: object) -> DecodedEvent | str:
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    try:
        event = record.model_validate(data)
    except ValidationError as exc:
        return f"invalid {record.__name__}: {describe_validation(exc)}"
    fields = event.model_dump(mode="json", by_alias=True)
    return DecodedEvent(record.topic_class, fields, event.occurred_at.timestamp())
