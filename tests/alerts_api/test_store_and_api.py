"""Alert store and API on SQLite and PostgreSQL: idempotent upsert, audit, tokens, area scope."""
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from alerts_api.main import create_app
from alerts_api.schemas import AlertIn
from alerts_api.store.alerts import list_alerts, upsert_alert
from alerts_api.store.db import make_engine, migrate, session_factory
from alerts_api.store.models import AuditEntry
from earlywarn.settings import Settings

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def alert(alert_id="wa-1", level="yellow", rank=2, changed=T0, area="330110001002003", harm=10.0, status="open"):
    return AlertIn(alert_id=alert_id, kind="wage_arrears", subject_id="91350100M000100Y43", subject_name="Acme",
                   area_code=area, level=level, level_rank=rank, status=status, score=0.5, workers_at_risk=20,
                   expected_harm=harm, reasons=[{"signal": "social_insurance", "label": "si unpaid", "contribution": 1.2,
                                                "detail": "2 months", "event_id": "s1", "event_time": 0.0}],
                   episode_start=T0, raised_at=T0, changed_at=changed, deadline=changed + timedelta(days=3),
                   rules_version="r1")


@pytest.fixture
def sessions(database_url):
    migrate(database_url)
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


def audit_count(session):
    return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def test_upsert_is_idempotent_and_audited(sessions):
    with sessions() as s, s.begin():
        assert upsert_alert(s, alert(), "test", T0) is True
        assert upsert_alert(s, alert(), "test", T0) is False  # replay: nothing changes
    with sessions() as s, s.begin():
        assert upsert_alert(s, alert(level="red", rank=3, changed=T0 + timedelta(days=5)), "test", T0) is True
        # an old announcement arriving late must not downgrade the alert
        assert upsert_alert(s, alert(), "test", T0) is False
    with sessions() as s:
        total, rows = list_alerts(s, area_scope=None)
        assert total == 1 and rows[0].level == "red"
        assert audit_count(s) == 2


def test_area_scope_and_ranking(sessions):
    with sessions() as s, s.begin():
        upsert_alert(s, alert("wa-a", area="330110001002003", harm=5), "test", T0)
        upsert_alert(s, alert("wa-b", area="330110001002004", harm=50), "test", T0)
        upsert_alert(s, alert("wa-c", area="330110002001001", harm=20), "test", T0)
    with sessions() as s:
        total, rows = list_alerts(s, area_scope="330110001")
        assert total == 2 and [r.alert_id for r in rows] == ["wa-b", "wa-a"]
        total, rows = list_alerts(s, area_scope=None)
        assert [r.alert_id for r in rows] == ["wa-b", "wa-c", "wa-a"]


@pytest.fixture
def client(database_url, sessions):
    settings = Settings(database_url=database_url, api_tokens="all-areas,street-1:330110001")
    with sessions() as s, s.begin():
        upsert_alert(s, alert("wa-in", area="330110001002003"), "test", T0)
        upsert_alert(s, alert("wa-out", area="330110002001001"), "test", T0)
    with TestClient(create_app(settings)) as c:
        yield c


def get(client, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers, params=params)


def test_health_needs_no_token(client):
    r = get(client, "/healthz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


def test_every_other_route_needs_a_valid_token(client):
    assert get(client, "/alerts").status_code == 401
    r = get(client, "/alerts", token="wrong")
    assert r.status_code == 401 and "unknown or revoked token" in r.json()["detail"]
    assert get(client, "/alerts/wa-in").status_code == 401


def test_a_scoped_token_sees_only_its_area(client):
    r = get(client, "/alerts", token="street-1")
    assert [a["alert_id"] for a in r.json()["items"]] == ["wa-in"]
    assert get(client, "/alerts/wa-out", token="street-1").status_code == 404
    body = get(client, "/alerts/wa-in", token="street-1").json()
    assert body["reasons"][0]["detail"] == "2 months" and body["rules_version"] == "r1"
    r = get(client, "/alerts", token="all-areas")
    assert r.json()["total"] == 2


def test_bad_query_says_what_was_wrong(client):
    r = get(client, "/alerts", token="all-areas", level="purple")
    assert r.status_code == 422 and "level" in str(r.json()["detail"])
    r = get(client, "/alerts", token="all-areas", area="33A")
    assert r.status_code == 422 and "area" in str(r.json()["detail"])
