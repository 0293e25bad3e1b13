"""The enterprise register the API keeps from ``ew.enterprise_registry``, and the spot-check slice drawn from it.

Issue #20: the random verification slice estimates recall only if it is drawn from every enterprise of the
area; drawn from the alert store alone it saw only enterprises the scorer had once raised.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts_api.cases.routing import Policy
from alerts_api.intake import AlertRecord
from alerts_api.main import create_app
from alerts_api.register import TOPIC, take_in_register
from alerts_api.sink import AlertSink
from alerts_api.store.alerts import upsert_alert
from alerts_api.store.db import make_engine, migrate, session_factory
from alerts_api.store.models import Enterprise
from alerts_api.store.spot_checks import draw, population
from earlywarn.identifiers import make_uscc
from earlywarn.settings import Settings
from streams.records import EnterpriseRecord, to_json
from tests.alerts_api.test_store_and_api import T0, alert, sessions  # noqa: F401  (fixture)
from tests.alerts_api.test_sink import send, wait_until
from tests.conftest import fresh_topics

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def code(i: int) -> str:
    return make_uscc(f"91330110MA{i:07d}")


def registry(i: int, area: str = "330110001005001", name: str | None = None, day: int = 1) -> bytes:
    return to_json(EnterpriseRecord(event_id=f"reg-{i}-{day}", occurred_at=f"2026-03-{day:02d}T00:00:00+08:00",
                                    enterprise_id=code(i), name=name or f"Firm {i}", industry="construction",
                                    area_code=area, employees=10 + i))


def records(values: list[bytes | None]) -> list[AlertRecord]:
    return [AlertRecord(TOPIC, 0, i, v) for i, v in enumerate(values)]


def register(sessions) -> dict[str, tuple[str, str]]:
    with sessions() as s:
        return {e.subject_id: (e.name, e.area_code) for e in s.execute(select(Enterprise)).scalars()}


def test_registry_records_become_the_register_newest_first_and_refused_ones_are_skipped(sessions):
    late_old = registry(1, name="Old name", day=1)
    intake = take_in_register(sessions, records([registry(1, name="New name", day=5), registry(2), b"{oops",
                                                 None, registry(3, area="330110002001001")]))
    assert (intake.changed, intake.letters) == (3, [])   # the worker dead-letters the bad ones, not the API too
    intake = take_in_register(sessions, records([late_old, registry(2)]))   # a late old record, a replay
    assert intake.changed == 1                             # the replayed record rewrites itself, nothing else
    assert register(sessions) == {code(1): ("New name", "330110001005001"), code(2): ("Firm 2", "330110001005001"),
                                  code(3): ("Firm 3", "330110002001001")}


def test_the_slice_is_drawn_from_the_whole_register_not_only_from_enterprises_once_alerted(sessions):
    take_in_register(sessions, records([registry(i) for i in range(30)] + [registry(99, area="330110002001001")]))
    with sessions() as s, s.begin():   # one registered enterprise was alerted, and one unregistered one too
        upsert_alert(s, alert(alert_id="wa-reg", area="330110001005001", level="closed", rank=0, status="closed")
                     .model_copy(update={"subject_id": code(4)}), "test", T0)
        upsert_alert(s, alert(alert_id="wa-unreg", area="330110001005001", level="closed", rank=0, status="closed")
                     .model_copy(update={"subject_id": code(500)}), "test", T0)
    with sessions() as s:
        people = population(s, "330110001", NOW)
    assert [p[0] for p in people] == sorted([code(i) for i in range(30)] + [code(500)])
    assert dict((p[0], p[1]) for p in people)[code(4)] == "Firm 4"   # the register names it
    with sessions() as s, s.begin():
        row, opened = draw(s, "2026-05", "330110001", 7, Policy(spot_check_share=0.1), "test", NOW)
    assert row.population == 31 and len(opened) == 4
    with sessions() as s:   # those now under a spot-check case are not drawn from next month
        assert len(population(s, "330110001", NOW)) == 27


@pytest.mark.e2e
def test_the_api_takes_the_register_in_from_the_real_broker(kafka, database_url):
    (topic,) = fresh_topics(kafka, "registry")
    send(kafka, topic, [registry(i) for i in range(25)] + [b"not json"])
    migrate(database_url)
    app = create_app(Settings(database_url=database_url, api_tokens="t"))
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    app.state.register = sink = AlertSink(kafka, sessions, topic=topic, group_id=f"reg-{uuid.uuid4().hex[:8]}",
                                          take=take_in_register)
    try:
        with TestClient(app) as client:
            assert wait_until(lambda: len(register(sessions)) == 25), sink.health()
            health = client.get("/healthz").json()
            assert health["enterprise_register"]["healthy"] and health["enterprise_register"]["lag"] == 0, health
    finally:
        engine.dispose()
