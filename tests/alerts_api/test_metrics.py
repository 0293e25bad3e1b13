"""GET /metrics on SQLite and PostgreSQL: who may read it, the request counters, and the store's gauges read at
scrape time (open and overdue cases by level and district, outcomes, effective and strict warning rate)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from alerts_api.cases.routing import Policy
from alerts_api.main import create_app
from alerts_api.store.alerts import upsert_alert
from alerts_api.store.cases import escalate_overdue, on_alert, transition
from alerts_api.store.models import Case
from earlywarn.settings import Settings
from tests.alerts_api.test_store_and_api import T0, alert, sessions  # noqa: F401  (fixture)

POLICY = Policy()
OPS = {"Authorization": "Bearer ops"}
# (subject, area, level, steps after opening, outcome)
CASES = [
    ("s1", "330110001002003", "yellow", ["dispatch", "acknowledge", "verify", "close"], "arrears_confirmed"),
    ("s2", "330110001002003", "red", ["dispatch", "acknowledge", "verify"], "arrears_confirmed"),
    ("s3", "330110002001001", "yellow", ["dispatch", "acknowledge", "verify"], "hidden_risk"),
    ("s4", "330106001001001", "blue", ["dispatch", "acknowledge", "verify"], "no_risk"),
    ("s5", "330106001001001", "red", ["dispatch", "acknowledge", "verify"], "unable_to_verify"),
    ("s6", "330106002002002", "red", [], None),
]
RANK = {"blue": 1, "yellow": 2, "red": 3}


def samples(body: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def pick(found: dict, name: str) -> dict[tuple, float]:
    return {labels: value for (n, labels), value in found.items() if n == name}


@pytest.fixture
def client(database_url, sessions):
    for subject, area, level, steps, outcome in CASES:
        a = alert(alert_id=f"wa-{subject}", level=level, rank=RANK[level], area=area).model_copy(
            update={"subject_id": subject})
        with sessions() as s, s.begin():
            upsert_alert(s, a, "test", T0)
            case = on_alert(s, a, T0, POLICY)
            for step in steps:
                transition(s, case, step, "inspector-1", T0, outcome=outcome if step == "verify" else None,
                           inspector="li", satisfaction=4 if step == "close" else None)
    with sessions() as s, s.begin():
        assert len(escalate_overdue(s, T0 + timedelta(days=30), POLICY)) == 1   # s6, never verified
    settings = Settings(database_url=database_url, api_tokens="ops,street-1:330110001")
    with TestClient(create_app(settings)) as c:
        yield c


def test_metrics_need_an_operator_token(client):
    assert client.get("/metrics").status_code == 401
    scoped = client.get("/metrics", headers={"Authorization": "Bearer street-1"})
    assert scoped.status_code == 403 and "every area" in scoped.json()["detail"]
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    refused = client.get("/metrics", headers=OPS, params={"district": "330110"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "district"]
    ok = client.get("/metrics", headers=OPS)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_store_gauges_by_level_and_district(client):
    found = samples(client.get("/metrics", headers=OPS).text)
    assert pick(found, "earlywarn_store_up") == {(): 1.0}
    assert pick(found, "earlywarn_cases_open") == {
        (("district", "330110"), ("level", "red")): 1.0, (("district", "330110"), ("level", "yellow")): 1.0,
        (("district", "330106"), ("level", "blue")): 1.0, (("district", "330106"), ("level", "red")): 2.0}
    assert pick(found, "earlywarn_cases_overdue") == {(("district", "330106"),): 1.0}
    assert pick(found, "earlywarn_case_outcomes") == {
        (("outcome", "arrears_confirmed"), ("rules_version", "r1")): 2.0,
        (("outcome", "hidden_risk"), ("rules_version", "r1")): 1.0,
        (("outcome", "no_risk"), ("rules_version", "r1")): 1.0,
        (("outcome", "unable_to_verify"), ("rules_version", "r1")): 1.0}
    # (2 confirmed + 1 hidden risk) / 4 judged; unable-to-verify is left out of the denominator (DESIGN §2)
    assert pick(found, "earlywarn_effective_warning_rate") == {(("rules_version", "r1"),): 0.75}
    assert pick(found, "earlywarn_strict_warning_rate") == {(("rules_version", "r1"),): 0.5}
    stored = pick(found, "earlywarn_alerts_stored")
    assert sum(stored.values()) == len(CASES)
    assert stored[(("district", "330106"), ("kind", "wage_arrears"), ("level", "red"), ("rules_version", "r1"))] == 2.0
    assert stored[(("district", "330110"), ("kind", "wage_arrears"), ("level", "red"), ("rules_version", "r1"))] == 1.0


def test_gauges_follow_the_store_at_scrape_time(client, sessions):
    with sessions() as s, s.begin():
        case = s.execute(select(Case).where(Case.subject_id == "s2")).scalar_one()
        transition(s, case, "close", "inspector-1", T0, satisfaction=5)
    found = samples(client.get("/metrics", headers=OPS).text)
    assert (("district", "330110"), ("level", "red")) not in pick(found, "earlywarn_cases_open")


def test_requests_are_counted_by_route_template_not_path(client):
    def count(route: str, status: str) -> float:
        found = samples(client.get("/metrics", headers=OPS).text)
        return pick(found, "earlywarn_api_requests_total").get(
            (("method", "GET"), ("route", route), ("status", status)), 0.0)

    before_list, before_one = count("/alerts", "200"), count("/alerts/{alert_id}", "404")
    assert client.get("/alerts", headers=OPS).status_code == 200
    for n in range(3):
        assert client.get(f"/alerts/wa-missing-{n}", headers=OPS).status_code == 404
    assert count("/alerts", "200") == before_list + 1
    assert count("/alerts/{alert_id}", "404") == before_one + 3
    client.request("BREW", "/no/such/path/1")
    client.get("/no/such/path/2")
    body = client.get("/metrics", headers=OPS).text
    assert "wa-missing" not in body and "/no/such" not in body   # no label per alert, case, enterprise or path
    assert "BREW" not in body and 'method="OTHER",route="unmatched"' in body
    assert 'earlywarn_api_request_seconds_bucket{le="+Inf",method="GET",route="/alerts"}' in body


def test_a_store_that_fails_still_answers_the_scrape(client, sessions):
    for attempt in range(5):  # the API's background jobs may hold the tables: PostgreSQL can pick us as a deadlock victim
        try:
            with sessions() as s, s.begin():
                s.execute(text("ALTER TABLE case_events RENAME TO case_events_gone"))  # the queries fail; dropping
                s.execute(text("ALTER TABLE cases RENAME TO cases_gone"))              # needs CASCADE on PostgreSQL
            break
        except DBAPIError:
            time.sleep(0.5)
    else:
        pytest.fail("could not break the store")
    response = client.get("/metrics", headers=OPS)
    assert response.status_code == 200
    found = samples(response.text)
    assert pick(found, "earlywarn_store_up") == {(): 0.0}
    assert not pick(found, "earlywarn_cases_open")
