"""The wage-arrears credit record on SQLite and PostgreSQL (issue #20): listed by an arrears_confirmed
verification, listed and exported within the caller's area, removed after repayment and the rule file's waiting
period on a controlled clock, and sent back to the scorer on a real broker's ew.credit topic."""
from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts_api.cases.notify import KafkaPublisher
from alerts_api.cases.routing import Policy
from alerts_api.main import expire_once
from alerts_api.store.cases import on_alert, transition
from alerts_api.store.credit import TOPIC
from alerts_api.store.models import AuditEntry, Case
from alerts_api.store.outbox import Senders, drain_once
from tests.alerts_api.test_cases import auth, clocked_api
from tests.alerts_api.test_store_and_api import T0, alert, sessions  # noqa: F401  (fixture)

POLICY = Policy(credit_waiting_days=30)


@pytest.fixture
def api(database_url, sessions):
    with clocked_api(database_url, POLICY) as running:
        yield running


def confirmed(sessions, subject: str, alert_id: str, now, name="Acme", close=True) -> str:
    """A case for ``subject`` taken through to verified arrears_confirmed (and closed)."""
    with sessions() as s, s.begin():
        case = on_alert(s, alert(alert_id=alert_id).model_copy(update={"subject_id": subject,
                                                                      "subject_name": name}), now, POLICY)
        for action in ("dispatch", "acknowledge", "verify") + (("close",) if close else ()):
            transition(s, case, action, "insp", now, outcome="arrears_confirmed", inspector="li", satisfaction=3)
        return case.case_code


def test_listed_on_confirmation_exported_and_removed_after_repayment_and_waiting(api, sessions):
    app, client, clock = api
    subject = f"9133011{uuid.uuid4().hex[:11].upper()}"
    first = confirmed(sessions, subject, "wa-c1", T0, name="=HYPERLINK(\"http://x\")")
    page = client.get("/credit-record", headers=auth("street-1")).json()
    assert page["total"] == 1
    entry = page["items"][0]
    assert (entry["subject_id"], entry["case_code"], entry["repaid_at"]) == (subject, first, None)
    assert entry["listed_at"].startswith("2026-03-01")
    assert client.get("/credit-record", headers=auth("street-2")).json()["total"] == 0   # another street
    assert client.post(f"/credit-record/{entry['id']}/repayment", json={"repaid_at": T0.isoformat()},
                       headers=auth("street-2")).status_code == 404

    r = client.get("/credit-record.csv", headers=auth("street-1"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 1 and rows[0]["case_code"] == first and rows[0]["subject_id"] == subject
    assert rows[0]["subject_name"] == "'=HYPERLINK(\"http://x\")"   # a spreadsheet does not run it
    assert client.get("/credit-record.csv", headers=auth("street-2")).text.count("\n") == 1   # header only

    clock.t = T0 + timedelta(days=5)
    r = client.post(f"/credit-record/{entry['id']}/repayment", json={"repaid_at": (clock.t + timedelta(days=1))
                                                                      .isoformat()}, headers=auth("street-1"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "repaid_at"]
    for bad in ("yesterday", "0001-01-01T00:00:00+00:01"):   # the second overflowed on its way to UTC
        r = client.post(f"/credit-record/{entry['id']}/repayment", json={"repaid_at": bad}, headers=auth("street-1"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "repaid_at"]
    repaid = T0 + timedelta(days=4)
    r = client.post(f"/credit-record/{entry['id']}/repayment", json={"repaid_at": repaid.isoformat()},
                    headers=auth("street-1"))
    assert r.status_code == 200 and r.json()["remove_after"].startswith("2026-04-04")   # 4 March + 30 days
    assert client.post(f"/credit-record/{entry['id']}/repayment", json={"repaid_at": repaid.isoformat()},
                       headers=auth("street-1")).status_code == 409

    clock.t = repaid + timedelta(days=30) - timedelta(seconds=1)
    assert expire_once(app) == (0, 0)
    assert client.get("/credit-record", headers=auth("street-1")).json()["total"] == 1
    clock.t = repaid + timedelta(days=30)
    assert expire_once(app) == (0, 1)
    assert client.get("/credit-record", headers=auth("street-1")).json()["total"] == 0
    gone = client.get("/credit-record", params={"listed": "false"}, headers=auth("street-1")).json()["items"]
    assert [e["case_code"] for e in gone] == [first] and gone[0]["removed_at"] is not None
    with sessions() as s:
        actions = {a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.alert_id == first))}
        assert {"case.credit_listed", "case.credit_repaid", "case.credit_removed"} <= actions
    assert client.get("/credit-record", params={"limit": 201}, headers=auth("street-1")).status_code == 422
    assert client.get("/credit-record", params={"lsted": "true"}, headers=auth("street-1")).status_code == 422
    r = client.get("/credit-record?listed=true&listed=false", headers=auth("street-1"))   # not the last one quietly
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "listed"]


def test_listings_and_removals_reach_the_scorer_on_the_credit_topic(database_url, sessions, kafka):
    from kafka import KafkaConsumer

    subject = f"9133011{uuid.uuid4().hex[:11].upper()}"
    first = confirmed(sessions, subject, "wa-k1", T0)
    second = confirmed(sessions, subject, "wa-k2", T0 + timedelta(days=40), close=False)   # a repeat offender
    with sessions() as s, s.begin():   # a contest and review that confirms again does not list it twice
        case = s.execute(select(Case).where(Case.case_code == second)).scalar_one()
        transition(s, case, "contest", "firm", T0 + timedelta(days=41))
        transition(s, case, "review", "district", T0 + timedelta(days=42), outcome="arrears_confirmed")
    publisher = KafkaPublisher(kafka)
    try:
        senders = Senders(POLICY, kafka=publisher)
        assert drain_once(sessions, T0 + timedelta(days=43), senders) == 2
        assert drain_once(sessions, T0 + timedelta(days=44), senders) == 0
    finally:
        publisher.close()
    consumer = KafkaConsumer(TOPIC, bootstrap_servers=kafka, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, group_id=None)
    mine = [json.loads(m.value) for m in consumer if m.key == subject.encode()]
    consumer.close()
    assert [(m["event"], m["case_code"], m["offences"]) for m in mine] == [("listed", first, 1),
                                                                          ("listed", second, 2)]
