"""Replay an event log to Kafka: each record to its topic ``ew.<class>``, at any speed.

The value is exactly the record JSON of the log line (or the raw malformed
payload), keyed by enterprise id so one enterprise's events stay in order on
one partition. ``speed`` is simulated seconds per wall-clock second (0 = as
fast as the broker takes them).
"""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tqdm import tqdm

from streams.records import RECORD_BY_CLASS


def encode(line: str) -> tuple[str, bytes | None, bytes, float]:
    """(topic, key, value, delivery epoch seconds) for one log line."""
    obj = json.loads(line)
    topic = RECORD_BY_CLASS[obj["class"]].topic()
    at = datetime.fromisoformat(obj["at"]).timestamp()
    if "event" in obj:
        ev = obj["event"]
        key = (ev.get("enterprise_id") or ev.get("area_code") or "").encode() or None
        return topic, key, json.dumps(ev, ensure_ascii=False, separators=(",", ":")).encode(), at
    return topic, None, obj["raw"].encode(), at


def replay(lines: Iterable[str], bootstrap: str, speed: float = 0.0, progress: bool = True,
           producer: Any = None) -> dict[str, Any]:
    from kafka import KafkaProducer

    own = producer is None
    if own:
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks=1, batch_size=256 * 1024)
    sent: Counter[str] = Counter()
    first_at = None
    wall0 = time.monotonic()
    lines = list(lines)
    for line in tqdm(lines, desc="replay", unit="event", disable=not progress, leave=False, mininterval=0.5):
        topic, key, value, at = encode(line)
        if speed > 0:
            first_at = at if first_at is None else first_at
            wait = (at - first_at) / speed - (time.monotonic() - wall0)
            if wait > 0:
                time.sleep(wait)
        producer.send(topic, key=key, value=value)
        sent[topic] += 1
    producer.flush()
    if own:
        producer.close()
    return {"sent": sum(sent.values()), "by_topic": dict(sorted(sent.items())),
            "seconds": round(time.monotonic() - wall0, 2)}
