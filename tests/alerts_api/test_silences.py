"""Silences and inhibition on SQLite and PostgreSQL (issue #20): alerts of a silenced enterprise go on the timeline
and notify nobody; when the silence ends the real current state is restored and announced (risk or resolution);
a group-incident case lists the wage-arrears cases beneath it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts_api.cases.routing import Policy
from alerts_api.main import expire_once
from alerts_api.store.cases import on_alert, timeline
from alerts_api.store.models import AuditEntry, Case, Outbox
from rules.schema import UnitChannels
from tests.alerts_api.test_cases import auth, clocked_api
from tests.alerts_api.test_store_and_api import T0, alert, sessions  # noqa: F401  (fixture)

POLICY = Policy(channels={"330110": UnitChannels(webhook="http://127.0.0.1:9/never-drained",
                                                 secret_env="EW_TEST_UNUSED")})
ACME = "91350100M000100Y43"


@pytest.fixture
def api(database_url, sessions):
    with clocked_api(database_url, POLICY) as running:
        yield running


def arrive(sessions, a, now):
    with sessions() as s, s.begin():
        return on_alert(s, a, now, POLICY).case_code


def messages(sessions):
    with sessions() as s:
        return [(o.event, o.case_code, o.payload.get("at_risk")) for o in
                s.execute(select(Outbox).order_by(Outbox.id)).scalars()]


def verify_no_risk(client, code, close=True):
    for step in ({"action": "dispatch"}, {"action": "acknowledge"},
                 {"action": "verify", "outcome": "no_risk", "inspector": "li"}):
        assert client.post(f"/cases/{code}/transitions", json=step, headers=auth("street-1")).status_code == 200
    if close:
        assert client.post(f"/cases/{code}/transitions", json={"action": "close", "satisfaction": 4},
                           headers=auth("street-1")).status_code == 200


def test_a_silence_mutes_new_alerts_and_its_end_restores_and_announces_the_real_state(api, sessions):
    app, client, clock = api
    code = arrive(sessions, alert(alert_id="wa-1"), T0)
    r = client.post("/silences", json={"case_code": code, "days": 10, "reason": "checked"}, headers=auth("street-1"))
    assert r.status_code == 409 and "no_risk" in r.json()["detail"]   # not verified yet
    verify_no_risk(client, code)
    assert client.post("/silences", json={"case_code": code, "days": 10, "reason": "visited"},
                       headers=auth("street-2")).status_code == 404   # another street's case
    for bad in ({"days": 0}, {"days": 400}, {"days": -1}, {"reason": ""}):
        r = client.post("/silences", json={"case_code": code, "days": 10, "reason": "ok", **bad},
                        headers=auth("street-1"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == next(iter(bad))
    r = client.post("/silences", json={"case_code": code, "days": 10, "reason": "wages paid, books seen"},
                    headers=auth("street-1"))
    assert r.status_code == 201, r.text
    silence = r.json()
    assert silence["subject_id"] == ACME and silence["ended_at"] is None
    assert client.post("/silences", json={"case_code": code, "days": 5, "reason": "again"},
                       headers=auth("street-1")).status_code == 409
    before = messages(sessions)

    clock.t = T0 + timedelta(days=2)   # the score climbs to red while silenced: nobody is told, no case opens
    assert arrive(sessions, alert(alert_id="wa-2", level="red", rank=3, changed=clock.t), clock.t) == code
    assert messages(sessions) == before
    with sessions() as s:
        assert s.execute(select(Case).where(Case.open_key.is_not(None))).first() is None
        events = [e.action for e in timeline(s, s.execute(select(Case).where(Case.case_code == code)).scalar_one())]
        assert events[-2:] == ["silenced", "alert_silenced"]
    assert client.get("/silences", headers=auth("street-1")).json()["items"][0]["muted"] == 1

    clock.t = T0 + timedelta(days=10, seconds=1)
    assert expire_once(app) == (1, 0)
    new = messages(sessions)[len(before):]   # the red alert is applied as if it had just come, and announced
    assert [e for e, _, _ in new] == ["case.opened", "silence.ended"]
    reopened = new[0][1]
    assert reopened != code and new[1] == ("silence.ended", reopened, True)
    detail = client.get(f"/cases/{reopened}", headers=auth("street-1")).json()
    assert (detail["level"], detail["state"], detail["unit_level"]) == ("red", "new", "district")
    assert client.get("/silences", headers=auth("street-1")).json()["total"] == 0
    with sessions() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.alert_id == code))]
        assert {"case.silenced", "case.alert_silenced", "case.silence_ended"} <= set(actions)
    assert expire_once(app) == (0, 0)


def test_a_silence_that_ends_on_a_closed_alert_sends_the_resolution(api, sessions):
    app, client, clock = api
    code = arrive(sessions, alert(alert_id="wa-1"), T0)
    verify_no_risk(client, code, close=False)   # verified, not yet closed: the case is still open
    sid = client.post("/silences", json={"case_code": code, "days": 3, "reason": "seasonal"},
                      headers=auth("street-1")).json()["id"]
    arrive(sessions, alert(alert_id="wa-1", level="red", rank=3, changed=T0 + timedelta(hours=1)), T0)
    arrive(sessions, alert(alert_id="wa-1", level="closed", rank=0, status="closed", changed=T0 + timedelta(days=1)),
           T0 + timedelta(days=1))
    before = messages(sessions)
    clock.t = T0 + timedelta(days=1, hours=1)
    r = client.delete(f"/silences/{sid}", headers=auth("street-1"))   # lifted early
    assert r.status_code == 200 and r.json()["ended_at"] is not None and r.json()["muted"] == 2
    assert messages(sessions)[len(before):] == [("silence.ended", code, False)]   # resolved, and said so
    detail = client.get(f"/cases/{code}", headers=auth("street-1")).json()
    assert (detail["level"], detail["state"]) == ("yellow", "verified")
    assert detail["timeline"][-1]["action"] == "silence_ended" and detail["timeline"][-1]["detail"]["why"] == "lifted"
    assert client.delete(f"/silences/{sid}", headers=auth("street-1")).status_code == 409
    assert client.delete(f"/silences/{sid}", headers=auth("street-2")).status_code == 404
    assert client.delete("/silences/0", headers=auth("street-1")).status_code == 422


def test_a_group_incident_case_lists_the_wage_arrears_cases_beneath_it(api, sessions):
    app, client, clock = api
    gathering = alert(alert_id="gi-1", level="red", rank=3, area="330110001").model_copy(
        update={"kind": "group_incident", "subject_id": "g-1"})
    gi = arrive(sessions, gathering, T0)
    under = arrive(sessions, alert(alert_id="wa-u", area="330110001002003"), T0)
    arrive(sessions, alert(alert_id="wa-o", area="330110002001001").model_copy(
        update={"subject_id": "91330110MA00000002"}), T0)   # another street
    done = arrive(sessions, alert(alert_id="wa-c", area="330110001009001").model_copy(
        update={"subject_id": "91330110MA00000003"}), T0)
    verify_no_risk(client, done)   # closed: no longer beneath anything
    detail = client.get(f"/cases/{gi}", headers=auth("all-areas")).json()
    assert [c["case_code"] for c in detail["beneath"]] == [under]
    assert client.get(f"/cases/{under}", headers=auth("street-1")).json()["beneath"] == []
