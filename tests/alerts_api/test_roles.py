"""Roles and area scopes on SQLite and PostgreSQL (issue #20): nobody sees or changes another area's case through
any route; an inspector sees wage arrears only; an engineer gets no personal field; only an admin reads the audit
log and manages users; every case read and change is in GET /audit."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from alerts_api.main import create_app
from earlywarn.settings import Settings
from tests.alerts_api.people import ENT_A, ENT_B, NAMES, STREET_A, STREET_B, auth, district, raise_alert
from tests.alerts_api.test_store_and_api import T0, sessions  # noqa: F401  (fixture)


@pytest.fixture
def world(database_url, sessions):
    d = district(sessions)
    app = create_app(Settings(database_url=database_url, api_tokens="", api_rate_per_second=0),
                     clock=lambda: T0)   # the deadline job must not escalate behind the test's back
    with TestClient(app) as client:
        yield client, d


def codes(page) -> set[str]:
    return {c["case_code"] for c in page.json()["items"]}


def test_a_user_of_one_area_cannot_see_or_change_a_case_of_another(world):
    client, d = world
    b, a = auth(d.tokens["officer-b"]), auth(d.tokens["officer-a"])
    assert codes(client.get("/cases", headers=b)) == {d.cases["wa-b"]}
    assert codes(client.get("/cases", headers=a)) == {d.cases["wa-a"], d.cases["wa-a2"], d.cases["gi-a"]}
    assert {x["area_code"][:9] for x in client.get("/alerts", headers=b).json()["items"]} == {STREET_B}
    for label in ("wa-a", "gi-a"):
        code = d.cases[label]
        assert client.get(f"/cases/{code}", headers=b).status_code == 404
        r = client.post(f"/cases/{code}/transitions", json={"action": "dispatch"}, headers=b)
        assert r.status_code == 404 and code in r.json()["detail"]
        assert client.get(f"/cases/{code}", headers=a).json()["state"] == "new"   # unchanged
    assert client.get("/alerts/wa-a", headers=b).status_code == 404
    r = client.get(f"/enterprises/{ENT_A}", headers=b)
    assert r.status_code == 404 and ENT_A in r.json()["detail"]
    for area in (STREET_A, STREET_A + "001", "330110"):   # another street, inside it, or the district above both
        r = client.get(f"/areas/{area}", headers=b)
        assert r.status_code == 403 and area in r.json()["detail"] and STREET_B in r.json()["detail"]
    own = client.get(f"/areas/{STREET_B}", headers=b).json()
    assert own["counts"]["total"] == 1 and {c["case_code"] for c in own["open_cases"]} == {d.cases["wa-b"]}


def test_an_inspector_sees_wage_arrears_in_their_area_only(world):
    client, d = world
    i = auth(d.tokens["insp-a"])
    assert codes(client.get("/cases", headers=i)) == {d.cases["wa-a"], d.cases["wa-a2"]}
    assert codes(client.get("/cases", headers=i, params={"kind": "group_incident"})) == set()
    assert client.get(f"/cases/{d.cases['gi-a']}", headers=i).status_code == 404
    assert client.post(f"/cases/{d.cases['gi-a']}/transitions", json={"action": "dispatch"},
                       headers=i).status_code == 404
    assert {x["kind"] for x in client.get("/alerts", headers=i).json()["items"]} == {"wage_arrears"}
    assert client.get("/alerts/gi-a", headers=i).status_code == 404
    area = client.get(f"/areas/{STREET_A}", headers=i).json()
    assert area["counts"]["by_kind"] == {"wage_arrears": 2}
    assert client.get(f"/enterprises/{ENT_B}", headers=i).status_code == 404
    r = client.post(f"/cases/{d.cases['wa-a']}/transitions", json={"action": "dispatch"}, headers=i)
    assert r.status_code == 200 and r.json()["state"] == "dispatched"
    # an officer of the same street sees the group incident the inspector does not
    assert client.get(f"/cases/{d.cases['gi-a']}", headers=auth(d.tokens["officer-a"])).status_code == 200


def test_an_engineer_gets_no_personal_field_and_moves_nothing(world):
    client, d = world
    a, e = auth(d.tokens["officer-a"]), auth(d.tokens["eng"])
    code = d.cases["wa-a"]
    for action, extra in (("dispatch", {}), ("acknowledge", {}),
                          ("verify", {"outcome": "hidden_risk", "inspector": "Inspector Wang Li",
                                      "note": "owner Zhang Wei owes two months"})):
        assert client.post(f"/cases/{code}/transitions", json={"action": action, **extra}, headers=a).status_code == 200
    personal = [*NAMES.values(), *NAMES.keys(), "Inspector Wang Li", "Zhang Wei", "officer-a", "gathering-7"]
    answers = [client.get("/cases", headers=e), client.get(f"/cases/{code}", headers=e),
               client.get("/alerts", headers=e), client.get("/alerts/wa-a", headers=e),
               client.get("/areas/330110", headers=e)]
    for r in answers:
        assert r.status_code == 200, r.text
        leaked = [p for p in personal if p in r.text]
        assert not leaked, (r.url, leaked)
    detail = answers[1].json()
    assert detail["state"] == "verified" and detail["outcome"] == "hidden_risk"   # the statistics stay
    assert detail["inspector"] == "" and detail["outcome_note"] == "" and detail["allowed_actions"] == []
    assert answers[2].json()["total"] == 4 and {x["rules_version"] for x in answers[2].json()["items"]} == {"r1"}
    assert client.get("/areas/330110", headers=e).json()["counts"]["total"] == 4
    officer_view = client.get(f"/cases/{code}", headers=a).text
    assert "Zhang Wei" in officer_view and "Inspector Wang Li" in officer_view   # the test can fail: they exist
    r = client.post(f"/cases/{code}/transitions", json={"action": "close", "satisfaction": 5}, headers=e)
    assert r.status_code == 403 and "engineer" in r.json()["detail"]
    assert client.get(f"/enterprises/{ENT_A}", headers=e).status_code == 403
    assert client.get("/audit", headers=e).status_code == 403
    assert client.get("/users", headers=e).status_code == 403


def test_only_an_admin_reads_the_audit_log_and_manages_users(world):
    client, d = world
    for name in ("insp-a", "officer-a", "district", "eng"):
        h = auth(d.tokens[name])
        assert client.get("/audit", headers=h).status_code == 403
        assert client.get("/users", headers=h).status_code == 403
        r = client.post("/users", json={"name": "mallory", "role": "admin"}, headers=h)
        assert r.status_code == 403 and "admin" in r.json()["detail"]
        assert client.post("/users/eng/revoke", headers=h).status_code == 403
    adm = auth(d.tokens["adm"])
    assert client.get("/cases", headers=adm).status_code == 403   # an admin manages people, not cases
    assert client.get(f"/enterprises/{ENT_A}", headers=adm).status_code == 403
    assert client.get("/audit", headers=adm).status_code == 200
    r = client.post("/users", json={"name": "new-insp", "role": "inspector", "area": STREET_B}, headers=adm)
    assert r.status_code == 201 and r.json()["area_scope"] == STREET_B
    r = client.post("/users", json={"name": "no-area", "role": "inspector"}, headers=adm)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "area"]
    assert client.post("/users", json={"name": "new-insp", "role": "engineer"}, headers=adm).status_code == 409
    r = client.post("/users", json={"name": "x", "role": "boss"}, headers=adm)
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == "boss"
    token = client.post("/users/new-insp/tokens", headers=adm).json()["token"]
    assert codes(client.get("/cases", headers=auth(token))) == {d.cases["wa-b"]}
    assert client.post("/users/new-insp/revoke", headers=adm).json()["disabled_at"] is not None
    assert client.get("/cases", headers=auth(token)).status_code == 401
    page = client.get("/users", headers=adm).json()
    assert page["total"] == 7 and [u["name"] for u in page["items"]] == sorted(
        ["insp-a", "officer-a", "officer-b", "district", "eng", "adm", "new-insp"])
    assert [u["name"] for u in client.get("/users", params={"limit": 2, "offset": 1}, headers=adm).json()["items"]] \
        == ["district", "eng"]
    r = client.get("/users", params={"limit": 201}, headers=adm)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]


def test_every_case_read_and_change_is_in_the_audit_log(world, sessions):
    client, d = world
    a, i, adm = auth(d.tokens["officer-a"]), auth(d.tokens["insp-a"]), auth(d.tokens["adm"])
    code = d.cases["wa-a"]
    client.get("/cases", headers=i)
    client.get(f"/cases/{code}", headers=a)
    client.post(f"/cases/{code}/transitions", json={"action": "dispatch"}, headers=i)
    client.post(f"/cases/{code}/transitions", json={"action": "verify"}, headers=i)   # refused: nothing changes
    client.get(f"/enterprises/{ENT_A}", headers=a)
    client.get(f"/areas/{STREET_A}", headers=i)
    raise_alert(sessions, "wa-a-2", ENT_A, STREET_A + "001002", level="red", rank=3, score=0.9)  # the sink
    page = client.get("/audit", params={"subject": code, "limit": 200}, headers=adm).json()
    seen = [(e["actor"], e["action"]) for e in reversed(page["items"])]
    assert seen == [("alert-sink", "case.opened"), ("user:insp-a", "case.list"), ("user:officer-a", "case.read"),
                    ("user:insp-a", "case.dispatch"), ("user:officer-a", "case.read"), ("user:insp-a", "case.list"),
                    ("alert-sink", "case.alert"), ("alert-sink", "case.level_raised")]
    assert page["total"] == len(seen)
    users = client.get("/audit", params={"action": "token.", "limit": 1}, headers=adm).json()
    assert users["total"] == 6 and users["next_before"] is not None   # one token per user, paged one by one
    older = client.get("/audit", params={"action": "token.", "limit": 1, "before": users["next_before"]},
                       headers=adm).json()
    assert older["items"][0]["id"] < users["items"][0]["id"]
    r = client.get("/audit", params=[("subject", code), ("subject", "x")], headers=adm)
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == [code, "x"]   # not quietly the last one
    r = client.get("/audit", params={"before": 0}, headers=adm)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "before"]


def test_the_enterprise_view_has_its_score_history_reasons_and_cases(world, sessions):
    client, d = world
    a = auth(d.tokens["officer-a"])
    raise_alert(sessions, "wa-a", ENT_A, STREET_A + "001002", level="red", rank=3, score=0.8,
                now=T0.replace(day=5))
    body = client.get(f"/enterprises/{ENT_A}", headers=a).json()
    assert body["name"] == NAMES[ENT_A] and body["current"]["score"] == 0.8 and body["current"]["reasons"]
    assert [(p["level"], p["score"]) for p in body["score_history"]] == [("yellow", 0.5), ("red", 0.8)]
    assert body["credit_record"] == [] and [c["case_code"] for c in body["cases"]] == [d.cases["wa-a"]]
    r = client.get("/enterprises/91330110MA2AAAA01X", headers=a)
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == "91330110MA2AAAA01X"
    assert "check character" in r.json()["detail"][0]["msg"]


def test_the_area_view_rolls_open_cases_up_one_level(world):
    client, d = world
    body = client.get("/areas/330110", headers=auth(d.tokens["district"])).json()
    assert body["level"] == "district" and body["parent"] is None and body["open_cases_total"] == 4
    kids = {c["area_code"]: c["open_cases"] for c in body["children"]}
    assert set(kids) == {STREET_A, STREET_B} and all(c["level"] == "street" for c in body["children"])
    assert kids[STREET_A] == {"total": 3, "by_level": {"yellow": 1, "red": 2},
                              "by_kind": {"wage_arrears": 2, "group_incident": 1}, "by_state": {"new": 3}}
    assert kids[STREET_B]["total"] == 1 and body["here"]["total"] == 0
    street = client.get(f"/areas/{STREET_A}", headers=auth(d.tokens["officer-a"])).json()
    assert {c["area_code"] for c in street["children"]} == {STREET_A + "001", STREET_A + "003"}
    assert street["parent"] == "330110"
    community = client.get(f"/areas/{STREET_A}001", headers=auth(d.tokens["officer-a"])).json()
    assert community["here"]["by_kind"] == {"group_incident": 1}   # coded to the community itself
    assert [c["area_code"] for c in community["children"]] == [STREET_A + "001002"]
    page = client.get("/areas/330110", params={"limit": 1, "offset": 1}, headers=auth(d.tokens["district"])).json()
    assert len(page["open_cases"]) == 1 and page["open_cases_total"] == 4
    for bad, field in (("3301", "area_code"), ("3301100011", "area_code")):
        r = client.get(f"/areas/{bad}", headers=auth(d.tokens["district"]))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", field]
    r = client.get("/areas/330110", params={"limit": 500}, headers=auth(d.tokens["district"]))
    assert r.status_code == 422 and r.json()["detail"][0]["input"] == "500"


def test_statistics_credit_record_and_silences_follow_the_roles(world):
    client, d = world
    a, b, i = auth(d.tokens["officer-a"]), auth(d.tokens["officer-b"]), auth(d.tokens["insp-a"])
    e, adm = auth(d.tokens["eng"]), auth(d.tokens["adm"])
    code = d.cases["wa-a"]
    for action, extra in (("dispatch", {}), ("acknowledge", {}),
                          ("verify", {"outcome": "arrears_confirmed", "inspector": "Inspector Wang Li"})):
        assert client.post(f"/cases/{code}/transitions", json={"action": action, **extra}, headers=i).status_code == 200
    body = client.get(f"/enterprises/{ENT_A}", headers=i).json()
    assert [(c["case_code"], c["subject_id"]) for c in body["credit_record"]] == [(code, ENT_A)]
    assert client.get("/credit-record", headers=b).json()["total"] == 0          # another street's record
    assert client.get("/credit-record", headers=a).json()["total"] == 1
    for h in (e, adm):                                                              # names enterprises
        assert client.get("/credit-record", headers=h).status_code == 403
        assert client.get("/silences", headers=h).status_code == 403
    r = client.get("/stats/effectiveness", params={"area": STREET_A}, headers=b)
    assert r.status_code == 403 and STREET_A in r.json()["detail"]
    mine = client.get("/stats/effectiveness", headers=b).json()
    assert sum(g["cases"] for g in mine["groups"]) == 1                             # its one case, not street A's
    r = client.get("/stats/effectiveness", params={"kind": "group_incident"}, headers=i)
    assert r.status_code == 403 and "inspector" in r.json()["detail"]
    assert client.get("/stats/effectiveness", headers=adm).status_code == 403
    stats = client.get("/stats/effectiveness", params={"by": "area"}, headers=e)
    assert stats.status_code == 200 and not any(p in stats.text for p in (*NAMES, *NAMES.values()))
    r = client.post("/silences", json={"case_code": code, "days": 30, "reason": "x"}, headers=e)
    assert r.status_code == 403
