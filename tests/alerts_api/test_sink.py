"""The alert sink through a real broker into SQLite and PostgreSQL: nothing lost, nothing doubled, nothing stuck.

Issue #19: one alert the store could not take (``Infinity`` on PostgreSQL, a
null record or a 1e20 headcount on SQLite) stalled the sink for good while
``/healthz`` said ok. Here poison records sit among good ones, and the store
itself goes away for a while.
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import select, text

from alerts_api.main import create_app
from alerts_api.sink import AlertSink, Backoff
from alerts_api.store.db import make_engine, migrate, session_factory
from alerts_api.store.models import Alert
from earlywarn.settings import Settings
from tests.conftest import fresh_topics
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e

T0 = "2026-03-01T09:00:00+08:00"


def wire_alert(alert_id: str, **change) -> dict:
    a = {"alert_id": alert_id, "kind": "complaint_surge", "subject_id": "330110001|wage",
         "subject_name": "wage complaints in 330110001", "area_code": "330110001", "level": "red", "level_rank": 3,
         "status": "open", "score": 0.99, "workers_at_risk": 0, "expected_harm": 12.0,
         "reasons": [{"signal": "complaint_surge", "label": "wage complaints", "contribution": 9.5,
                      "detail": "12 on 2026-03-01 against 1.0 expected", "event_id": "", "event_time": 1.77e9}],
         "episode_start": T0, "raised_at": T0, "changed_at": T0, "deadline": "2026-03-08T09:00:00+08:00",
         "rules_version": "surge-combined-1"}
    a.update(change)
    return a


def poison_records(run: str) -> dict[bytes | None, str]:
    """Raw record → the words its dead letter must give as the reason."""
    inf = json.dumps(wire_alert(f"p-inf-{run}", reasons=[dict(wire_alert("x")["reasons"][0],
                                                               contribution=float("inf"))])).encode()
    assert b"Infinity" in inf  # what the worker used to send for a count against a zero baseline
    return {
        None: "empty record",
        b"null": "expected a JSON object",
        f'{{"alert_id": "p-trunc-{run}", '.encode(): "not JSON",
        inf: "reasons.0.contribution",
        json.dumps(wire_alert(f"p-big-{run}", workers_at_risk=10**20)).encode(): "workers_at_risk",
        json.dumps(wire_alert(f"p-nul-{run}", subject_name="a\x00b")).encode(): "NUL",
        json.dumps(wire_alert(f"p-huge-{run}", subject_name="x" * 300_000)).encode(): "at most",
        json.dumps(wire_alert(f"refused-{run}")).encode(): "store refused alert",
    }


def refuse_in_the_database(url: str) -> None:
    """The database itself refuses alert ids starting 'refused-' (a value the schema lets through)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON alerts WHEN NEW.alert_id LIKE 'refused-%' "
                              "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"))
        else:
            conn.execute(text("ALTER TABLE alerts ADD CONSTRAINT refuse CHECK (alert_id NOT LIKE 'refused-%')"))
    engine.dispose()


def send(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=2_000_000)
    for i, value in enumerate(values):
        producer.send(topic, key=f"k{i}".encode(), value=value)
    producer.flush()
    producer.close()


def read_all(bootstrap: str, topic: str) -> list[dict]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
                             consumer_timeout_ms=2000)
    out = [json.loads(m.value) for m in consumer]
    consumer.close()
    return out


def stored_ids(url: str) -> set[str]:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        ids = set(s.execute(select(Alert.alert_id)).scalars())
    engine.dispose()
    return ids


def wait_until(predicate, timeout: float = 45.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(every)
    return predicate()


def test_every_poison_alert_is_dead_lettered_with_its_reason_and_never_blocks_the_rest(kafka, database_url):
    alerts_topic, letters_topic = fresh_topics(kafka, "alerts", "dead")
    migrate(database_url)
    refuse_in_the_database(database_url)
    run = uuid.uuid4().hex[:8]
    poison = poison_records(run)
    good = [f"good-{run}-{i}" for i in range(40)]
    values: list[bytes | None] = []
    for i, raw in enumerate(poison):  # each poison record among good ones, the first one before any good one
        values.append(raw)
        values += [json.dumps(wire_alert(a)).encode() for a in good[5 * i:5 * i + 5]]
    send(kafka, alerts_topic, values)

    app = create_app(Settings(database_url=database_url, api_tokens="t"))
    engine = make_engine(database_url)
    app.state.sink = sink = AlertSink(kafka, session_factory(engine), topic=alerts_topic,
                                      dead_letter_topic=letters_topic, group_id=f"sink-{run}")
    with TestClient(app) as client:
        assert wait_until(lambda: sink.stored + sink.rejected >= len(good) + len(poison)), sink.health()
        health = client.get("/healthz")
        assert health.status_code == 200, health.json()
        assert health.json()["sink"]["healthy"] and health.json()["sink"]["lag"] == 0
    engine.dispose()

    assert stored_ids(database_url) == set(good)
    assert (sink.stored, sink.rejected) == (len(good), len(poison))
    letters = read_all(kafka, letters_topic)
    assert len(letters) == len(poison)
    by_raw = {base64.b64decode(d["raw_b64"]): d for d in letters}
    for raw, needle in poison.items():
        letter = by_raw[raw or b""]
        assert needle in letter["error"], letter["error"]
        assert letter["source_topic"] == alerts_topic and letter["offset"] >= 0 and not letter["raw_truncated"]
        assert len(letter["error"]) < 1200  # the 300,000-character name is not repeated in the reason


@pytest.mark.postgres
def test_a_database_outage_is_retried_reported_unhealthy_and_loses_nothing(kafka):
    from tests.conftest import _postgres_url

    urls = _postgres_url()
    direct = next(urls)
    try:
        parts = urlsplit(direct)
        proxy = TcpProxy((parts.hostname, parts.port or 5432)).start()
        via_proxy = direct.replace(f"{parts.hostname}:{parts.port or 5432}", f"127.0.0.1:{proxy.port}", 1)
        alerts_topic, letters_topic = fresh_topics(kafka, "alerts", "dead")
        run = uuid.uuid4().hex[:8]
        app = create_app(Settings(database_url=via_proxy, api_tokens="t"))
        engine = make_engine(via_proxy)
        app.state.sink = sink = AlertSink(kafka, session_factory(engine), topic=alerts_topic,
                                          dead_letter_topic=letters_topic, group_id=f"sink-{run}",
                                          stall_after=1.0, backoff=Backoff(first=0.2, most=1.0))
        with TestClient(app) as client:
            assert wait_until(lambda: sink.status() == "running")
            proxy.cut()
            first = [f"during-{run}-{i}" for i in range(20)]
            send(kafka, alerts_topic, [json.dumps(wire_alert(a)).encode() for a in first])

            def unhealthy():
                r = client.get("/healthz")
                return r if r.status_code == 503 and "alert sink stuck" in r.json()["reason"] else None
            r = wait_until(unhealthy, timeout=30)
            assert r is not None, client.get("/healthz").json()
            assert "alert store unavailable" in r.json()["reason"] and "OperationalError" in r.json()["reason"]
            assert sink.rejected == 0  # an outage is not the alerts' fault: none is dead-lettered

            proxy.restore()
            assert wait_until(lambda: sink.stored == len(first)), sink.health()
            assert wait_until(lambda: client.get("/healthz").status_code == 200)
        engine.dispose()
        proxy.cut()
        assert stored_ids(direct) == set(first)
        assert read_all(kafka, letters_topic) == []
    finally:
        urls.close()


def test_a_sink_far_behind_is_unhealthy_until_it_catches_up(kafka, tmp_path):
    """The store is held by another writer while 1,200 alerts wait: /healthz says how far behind, then recovers."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    migrate(url)
    alerts_topic, letters_topic = fresh_topics(kafka, "alerts", "dead")
    run = uuid.uuid4().hex[:8]
    send(kafka, alerts_topic, [json.dumps(wire_alert(f"lag-{run}-{i}")).encode() for i in range(1200)])
    engine = make_engine(url)
    engine.connect().close()  # the store's WAL mode, so readers go on while a writer holds it
    blocker = sqlite3.connect(tmp_path / "alerts.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a real writer holding the database
    app = create_app(Settings(database_url=url, api_tokens="t"))
    app.state.sink = sink = AlertSink(kafka, session_factory(engine), topic=alerts_topic,
                                      dead_letter_topic=letters_topic, group_id=f"sink-{run}", max_lag=100)
    try:
        with TestClient(app) as client:
            def lagging():
                r = client.get("/healthz")
                return r if r.status_code == 503 and "behind" in r.json()["reason"] else None
            r = wait_until(lagging, timeout=30)
            assert r is not None and "1200 records behind" in r.json()["reason"], r and r.json()
            blocker.execute("ROLLBACK")
            assert wait_until(lambda: sink.stored == 1200, timeout=60), sink.health()
            assert wait_until(lambda: client.get("/healthz").status_code == 200)
            assert client.get("/healthz").json()["sink"]["lag"] == 0
    finally:
        blocker.close()
        engine.dispose()
