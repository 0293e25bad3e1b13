"""Through the real broker and worker: poison records among valid ones; every poison record is a dead letter
with its reason, every valid one is processed (issue #19: 600 of 600 valid events lost to one 401-digit
integer; 0.7 MB malformed records crashed the agent; a complaint dated 9999 kept the worker busy)."""
from __future__ import annotations

import json
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer

from earlywarn.identifiers import make_uscc
from streams.topics import DEAD_LETTER, RISK_SCORES
from tests.e2e.test_pipeline import wait_for

pytestmark = pytest.mark.e2e

T = "2026-03-01T09:00:00+08:00"


def enterprises(run: str, n: int) -> list[str]:
    digits = "".join(c for c in run if c.isdigit()).ljust(3, "7")[:3]
    return [make_uscc(f"91330110MA{digits}{i:04d}") for i in range(n)]


def water(event_id: str, enterprise: str, **change) -> dict:
    return {"event_id": event_id, "occurred_at": T, "enterprise_id": enterprise, "months_overdue": 1,
            "overdue_amount": 3000.0, "usual_monthly_bill": 3000.0, **change}


def poison(run: str, enterprise: str) -> dict[str, tuple[str, bytes | None, str]]:
    """key → (topic, value, words its dead letter must give)."""
    big_malformed = b'{"event_id": "' + run.encode() + b"x" * 700_000
    return {
        f"{run}-p401": ("ew.water_arrears",
                        json.dumps(water(f"{run}-p401", enterprise, months_overdue=int("9" * 401))).encode(),
                        "months_overdue"),
        f"{run}-big1": ("ew.water_arrears", big_malformed, "not JSON"),
        f"{run}-big2": ("ew.hotline_complaint", big_malformed + b"2", "not JSON"),
        f"{run}-big3": ("ew.petition", big_malformed + b"3", "not JSON"),
        f"{run}-y9999": ("ew.hotline_complaint", json.dumps({
            "event_id": f"{run}-y9999", "occurred_at": "9999-12-31T23:00:00+08:00", "area_code": "330110001",
            "topic": "wage"}).encode(), "days ahead of the receiving clock"),
        f"{run}-null": ("ew.litigation", None, "empty record"),
        f"{run}-inf": ("ew.litigation", json.dumps({"event_id": f"{run}-inf", "occurred_at": T,
                                                    "enterprise_id": enterprise, "role": "defendant",
                                                    "amount": float("inf")}).encode(), "amount"),
        f"{run}-utf8": ("ew.market_penalty", b'{"event_id": "\xff\xfe", "kind": "fine"}', "not JSON"),
        f"{run}-huge-int": ("ew.gathering_report", json.dumps({
            "event_id": f"{run}-g", "occurred_at": T, "area_code": "330110001002003", "gathering_id": "g",
            "headcount": 1e20}).encode(), "headcount"),
        f"{run}-deep": ("ew.petition", b"[" * 100_000 + b"]" * 100_000, "decoder failed"),
        f"{run}-longstr": ("ew.enterprise_registry", json.dumps({
            "event_id": f"{run}-r", "occurred_at": T, "enterprise_id": enterprise, "name": "n" * 900_000,
            "industry": "other", "area_code": "330110", "employees": 3}).encode(), "one event is at most"),
    }


def test_poison_records_are_dead_lettered_alone_and_every_valid_record_is_processed(stack):
    run = uuid.uuid4().hex[:8]
    ids = enterprises(run, 600)
    bad = poison(run, ids[0])
    keys = list(bad)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=5, max_request_size=4_000_000)
    for i, enterprise in enumerate(ids):  # poison spread through the valid ones, so they share micro-batches
        if i % 50 == 0 and keys:
            key = keys.pop()
            topic, value, _ = bad[key]
            producer.send(topic, key=key.encode(), value=value)
        producer.send("ew.water_arrears", key=enterprise.encode(),
                      value=json.dumps(water(f"{run}-w{i}", enterprise)).encode())
    for key in keys:
        topic, value, _ = bad[key]
        producer.send(topic, key=key.encode(), value=value)
    producer.flush()
    producer.close()

    wanted = set(ids)

    def scored() -> set[str]:
        consumer = KafkaConsumer(RISK_SCORES, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                                 group_id=None, consumer_timeout_ms=2000)
        seen = {m.key.decode() for m in consumer if m.key and m.key.decode() in wanted}
        consumer.close()
        return seen if seen == wanted else set()

    def letters() -> dict[str, dict]:
        consumer = KafkaConsumer(DEAD_LETTER, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                                 group_id=None, consumer_timeout_ms=2000, fetch_max_bytes=8_000_000,
                                 max_partition_fetch_bytes=8_000_000)
        out = {m.key.decode(): json.loads(m.value) for m in consumer if m.key and m.key.decode() in bad}
        consumer.close()
        return out if len(out) == len(bad) else {}

    assert wait_for(scored, timeout=120), f"not every valid event was processed; see {stack.workdir}"
    found = wait_for(letters, timeout=60)
    assert found, f"missing dead letters; see {stack.workdir}"
    for key, (topic, value, needle) in bad.items():
        letter = found[key]
        assert letter["source_topic"] == topic and needle in letter["error"], (key, letter["error"][:300])
        assert len(letter["error"]) < 1200
        assert letter["raw_length"] == len(value or b"")
    stack.check_alive()
