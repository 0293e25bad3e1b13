"""Effectiveness from outcomes and the random verification slice on SQLite and PostgreSQL (issue #20).

Ten wage-arrears cases with known outcomes and verification times; every expected number below was worked
out by hand from this table (not by the code under test). The slice is drawn from a known population, is the
same for the same seed whatever order the store holds it in, is audited, and its positives give a recall
estimate with a Wilson interval computed here from its formula.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts_api.cases.routing import Policy
from alerts_api.main import create_app
from alerts_api.store.alerts import upsert_alert
from alerts_api.store.cases import on_alert, transition
from alerts_api.store.db import make_engine, migrate, session_factory
from alerts_api.store.models import AuditEntry, Case
from alerts_api.store.spot_checks import draw, pick
from earlywarn.settings import Settings
from tests.alerts_api.test_cases import Clock, auth
from tests.alerts_api.test_store_and_api import T0, alert, sessions  # noqa: F401  (fixture)

POLICY = Policy(spot_check_share=0.1)
APR = datetime(2026, 4, 2, tzinfo=timezone.utc)
RANK = {"blue": 1, "yellow": 2, "red": 3}
# (level, rules version, street, opened, hours to verification or None, outcome, expected harm)
TABLE = [
    ("red", "r1", "330110001", T0, 24, "arrears_confirmed", 100),
    ("red", "r1", "330110001", T0, 200, "hidden_risk", 90),
    ("red", "r2", "330110002", T0, 48, "no_risk", 80),
    ("yellow", "r1", "330110001", T0, 10, "hidden_risk", 70),
    ("yellow", "r2", "330110002", APR, 100, "no_risk", 60),
    ("yellow", "r2", "330110002", APR, 20, "unable_to_verify", 50),
    ("blue", "r1", "330110001", APR, 5, "arrears_confirmed", 40),
    ("blue", "r2", "330110002", APR, None, None, 30),
    ("blue", "r1", "330110002", APR, 30, "no_risk", 20),
    ("red", "r2", "330110002", APR, 12, "hidden_risk", 10),
]
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def subject(i: int) -> str:
    return f"91330110MA{i:08d}"


def build(sessions) -> None:
    for i, (level, rv, street, opened, hours, outcome, harm) in enumerate(TABLE):
        at = opened + timedelta(hours=i)
        a = alert(alert_id=f"wa-t{i}", level=level, rank=RANK[level], area=f"{street}001001", harm=harm,
                  changed=at).model_copy(update={"subject_id": subject(i), "rules_version": rv})
        with sessions() as s, s.begin():
            upsert_alert(s, a, "test", at)
            case = on_alert(s, a, at, POLICY)
            if hours is not None:
                transition(s, case, "dispatch", "t", at)
                transition(s, case, "acknowledge", "t", at)
                transition(s, case, "verify", "t", at + timedelta(hours=hours), outcome=outcome, inspector="li")


def unflagged(sessions, n: int, order=1) -> list[str]:
    """``n`` enterprises with a stored alert and no case (closed or never opened): the slice's population."""
    people = [subject(100 + i) for i in range(n)]
    with sessions() as s, s.begin():
        for p in people[::order]:
            upsert_alert(s, alert(alert_id=f"wa-{p}", area="330110001005001", level="closed", rank=0,
                                  status="closed").model_copy(update={"subject_id": p}), "test", T0)
    return people


@pytest.fixture
def api(database_url, sessions):
    clock = Clock(NOW)
    app = create_app(Settings(database_url=database_url, api_tokens="all-areas,street-1:330110001",
                              api_rate_per_second=0, case_deadline_check_seconds=3600,
                              notify_drain_seconds=3600), clock=clock)
    app.state.policy = POLICY
    build(sessions)
    with TestClient(app) as client:
        yield app, client, clock


def stats(client, token="all-areas", **params):
    r = client.get("/stats/effectiveness", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def rates(groups):
    return {g["key"]: (g["verified"], g["effective_rate"], g["strict_rate"]) for g in groups}


def test_effective_and_strict_rates_response_times_and_precision_at_capacity(api):
    app, client, clock = api
    (overall,) = stats(client, capacity=3)["groups"]
    assert (overall["cases"], overall["verified"], overall["arrears_confirmed"], overall["hidden_risk"],
            overall["no_risk"], overall["unable_to_verify"], overall["not_verified"]) == (10, 8, 2, 3, 3, 1, 1)
    assert overall["effective_rate"] == 5 / 8 and overall["strict_rate"] == 2 / 8
    assert overall["precision_at_capacity"] == 2 / 3   # harm 100 (confirmed), 90 (hidden), 80 (no risk)
    resp = overall["response"]
    assert (resp["red"]["median_hours"], resp["red"]["in_time_share"]) == (36.0, 3 / 4)   # 12, 24, 48, 200 h; 168
    assert (resp["yellow"]["median_hours"], resp["yellow"]["in_time_share"]) == (20.0, 2 / 3)   # 10, 20, 100; 72
    assert (resp["blue"]["median_hours"], resp["blue"]["in_time_share"], resp["blue"]["due"]) == (17.5, 1 / 3, 3)
    assert rates(stats(client, by="level")["groups"]) == {"blue": (2, 1 / 2, 1 / 2), "red": (4, 3 / 4, 1 / 4),
                                                          "yellow": (2, 1 / 2, 0.0)}
    assert rates(stats(client, by="rules_version")["groups"]) == {"r1": (5, 4 / 5, 2 / 5), "r2": (3, 1 / 3, 0.0)}
    assert rates(stats(client, by="area")["groups"]) == {"330110001": (4, 1.0, 1 / 2), "330110002": (4, 1 / 4, 0.0)}
    assert rates(stats(client, by="month")["groups"]) == {"2026-03": (4, 3 / 4, 1 / 4), "2026-04": (4, 1 / 2, 1 / 4)}
    month = {g["key"]: g["precision_at_capacity"] for g in stats(client, by="month", capacity=2)["groups"]}
    assert month == {"2026-03": 1.0, "2026-04": 1 / 2}   # April's top two by harm: 60 (no risk), 40 (confirmed)
    # the caller's area bounds the statistics; an area outside it is refused
    assert rates(stats(client, "street-1")["groups"]) == {"all": (4, 1.0, 1 / 2)}
    assert client.get("/stats/effectiveness", params={"area": "330110002"}, headers=auth("street-1")).status_code == 403
    for bad in ({"by": "colour"}, {"capacity": 0}, {"capacity": 10**6}, {"area": "33011"}, {"group": "level"}):
        r = client.get("/stats/effectiveness", params=bad, headers=auth("all-areas"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == next(iter(bad))
    assert client.get("/stats/effectiveness").status_code == 401


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_the_random_slice_is_seeded_audited_and_gives_recall_with_an_interval(api, sessions, tmp_path):
    app, client, clock = api
    people = unflagged(sessions, 40)
    r = client.post("/spot-checks/draws", json={"month": "2026-05", "area": "330110", "seed": 42},
                    headers=auth("all-areas"))
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["population"], got["share"], got["seed"], len(got["drawn"])) == (40, 0.1, 42, 4)
    assert got["drawn"] == pick(people, 42, "2026-05", 0.1) and set(got["drawn"]) <= set(people)
    assert len(got["cases"]) == 4 and all(c.startswith("SC-") for c in got["cases"])
    assert client.post("/spot-checks/draws", json={"month": "2026-05", "area": "330110", "seed": 7},
                       headers=auth("all-areas")).status_code == 409   # one slice a month and area
    assert client.post("/spot-checks/draws", json={"month": "2026-05", "area": "330110002"},
                       headers=auth("street-1")).status_code == 403
    assert client.post("/spot-checks/draws", json={"month": "2026-13"}, headers=auth("street-1")).status_code == 422
    with sessions() as s:
        (entry,) = s.execute(select(AuditEntry).where(AuditEntry.action == "spot_check.draw")).scalars()
        assert json.loads(entry.detail) == {"seed": 42, "share": 0.1, "population": 40, "drawn": got["drawn"]}
    assert client.get("/spot-checks/draws", headers=auth("all-areas")).json()["items"][0]["seed"] == 42

    other = f"sqlite:///{tmp_path / 'other.db'}"   # the same population stored in another order: the same draw
    migrate(other)
    engine = make_engine(other)
    twin = session_factory(engine)
    unflagged(twin, 40, order=-1)
    with twin() as s, s.begin():
        again, _ = draw(s, "2026-05", "330110", 42, POLICY, "test", NOW)
        assert again.drawn == got["drawn"]
    engine.dispose()

    outcomes = ["hidden_risk", "no_risk", "no_risk", "no_risk"]
    with sessions() as s, s.begin():
        for code, outcome in zip(got["cases"], outcomes):
            case = s.execute(select(Case).where(Case.case_code == code)).scalar_one()
            assert (case.kind, case.state) == ("spot_check", "new")
            for action in ("dispatch", "acknowledge", "verify"):
                transition(s, case, action, "t", NOW, outcome=outcome, inspector="wang")
    body = stats(client)
    assert rates(body["groups"])["all"] == (8, 5 / 8, 2 / 8)   # spot checks are not warnings
    sl = body["random_slice"]
    assert (sl["checked"], sl["positives"], sl["population"], sl["positive_rate"]) == (4, 1, 40, 0.25)
    low, high = wilson(1, 4)
    assert sl["positive_rate_ci95"] == pytest.approx([low, high], rel=1e-9)
    assert sl["estimated_missed"] == 10.0 and sl["recall"] == pytest.approx(5 / 15)   # 5 hits flagged, 10 missed
    assert sl["recall_ci95"] == pytest.approx([5 / (5 + high * 40), 5 / (5 + low * 40)], rel=1e-9)
    # next month the enterprises now under a spot-check case are flagged, so not drawn again
    r = client.post("/spot-checks/draws", json={"month": "2026-06", "seed": 42}, headers=auth("street-1"))
    assert r.status_code == 201 and r.json()["population"] == 36 and r.json()["area_code"] == "330110001"
    assert not set(r.json()["drawn"]) & set(got["drawn"])
