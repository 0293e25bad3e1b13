"""Replay an event log to Kafka: each record to its topic ``ew.<class>``, in the log's time order, at any speed.

The value is exactly the record JSON of the log line, keyed by enterprise id
(else area code) so one enterprise's events stay in order on one partition.
A malformed delivery (``raw`` in the one-file form, a line of a per-class
file that is not a JSON object) is sent as its bytes, unkeyed, so the stream
dead-letters it just as the backtest counts it. A line that cannot be read as
a log line at all (no class, bad ``at``) has no topic: it is skipped and
reported with its file and line number.

Order and pace follow each line's time: ``at`` when the line carries one
(delivery time), else ``occurred_at`` (event time). ``speed`` N sends at N
times real time (N log seconds per wall-clock second); 0 = as fast as the
broker takes them.
"""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from simulators.evaluation.logfiles import LineProblems, LogItem, iter_lines, read_events
from streams.records import RECORD_BY_CLASS


def encode(item: LogItem) -> tuple[str, bytes | None, bytes]:
    """(topic, key, value) for one log item."""
    topic = RECORD_BY_CLASS[item.cls].topic()
    if item.event is not None:
        ev = item.event
        key = str(ev.get("enterprise_id") or ev.get("area_code") or "").encode() or None
        return topic, key, json.dumps(ev, ensure_ascii=False, separators=(",", ":")).encode()
    return topic, None, (item.raw or "").encode()


def replay_items(items: Iterable[LogItem], bootstrap: str, speed: float = 0.0, progress: bool = True,
                 producer: Any = None) -> dict[str, Any]:
    """Send ``items`` in their order; sleep so that log time runs ``speed`` times faster than the wall clock."""
    from kafka import KafkaProducer

    own = producer is None
    if own:
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks=1, batch_size=256 * 1024)
    sent: Counter[str] = Counter()
    first_at: float | None = None
    wall0 = time.monotonic()
    try:
        for item in tqdm(items, desc="replay", unit="event", disable=not progress, leave=False, mininterval=0.5):
            topic, key, value = encode(item)
            if speed > 0 and math.isfinite(item.at):
                first_at = item.at if first_at is None else first_at
                wait = (item.at - first_at) / speed - (time.monotonic() - wall0)
                if wait > 0:
                    producer.flush()
                    time.sleep(wait)
            producer.send(topic, key=key, value=value)
            sent[topic] += 1
        producer.flush()
    finally:
        if own:
            producer.close()
    return {"sent": sum(sent.values()), "by_topic": dict(sorted(sent.items())),
            "seconds": round(time.monotonic() - wall0, 2)}


def replay_log(path: Path, bootstrap: str, speed: float = 0.0, progress: bool = True,
               producer: Any = None) -> dict[str, Any]:
    """Replay the log at ``path`` (file or directory, docs/event-log.md); skipped lines are in the result."""
    problems = LineProblems()
    result = replay_items(read_events(Path(path), problems, progress=progress), bootstrap, speed, progress=False,
                          producer=producer)
    result["skipped_lines"] = problems.summary()
    return result


def replay(lines: Iterable[str], bootstrap: str, speed: float = 0.0, progress: bool = True,
           producer: Any = None) -> dict[str, Any]:
    """Replay one-file log lines held in memory (the simulator's output)."""
    problems = LineProblems()
    result = replay_items(iter_lines(lines, "<log>", problems), bootstrap, speed, progress, producer)
    result["skipped_lines"] = problems.summary()
    return result
