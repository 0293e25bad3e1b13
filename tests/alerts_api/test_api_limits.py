"""Issue #19's API findings: bounded paging with a cursor, a per-token rate limit, every answer documented,
strict token configuration, no LIKE patterns, and a response schema that matches what is returned."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text

from alerts_api.main import create_app
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET
from alerts_api.store.alerts import list_alerts, upsert_alert
from alerts_api.store.db import make_engine, migrate, session_factory
from earlywarn.settings import Settings
from tests.alerts_api.test_store_and_api import T0, alert, get


@pytest.fixture
def many(database_url):
    """250 alerts in two counties (330110, 330111), with ties in expected harm."""
    migrate(database_url)
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        for i in range(250):
            area = ("330110" if i % 2 else "330111") + f"{i % 7 + 1:03d}001001"
            upsert_alert(s, alert(f"wa-{i:03d}", area=area, harm=float(i % 40)), "test", T0)
    yield sessions
    engine.dispose()


def app_for(database_url, **settings):
    return create_app(Settings(database_url=database_url, api_tokens="all,c0:330110", **settings))


def test_offset_and_limit_are_bounded_and_never_a_500(database_url, many):
    with TestClient(app_for(database_url)) as c:
        for params in ({"offset": 2**63}, {"offset": 10**30}, {"offset": MAX_OFFSET + 1}, {"limit": MAX_LIMIT + 1},
                       {"limit": 0}, {"offset": -1}):
            r = get(c, "/alerts", token="all", **params)
            assert r.status_code == 422, (params, r.status_code, r.text)
            assert isinstance(r.json()["detail"], list) and r.json()["detail"][0]["loc"][0] == "query"
        assert get(c, "/alerts", token="all", offset=MAX_OFFSET, limit=MAX_LIMIT).status_code == 200


def test_a_cursor_pages_through_every_alert_once_in_rank_order(database_url, many):
    with TestClient(app_for(database_url)) as c:
        seen, cursor = [], None
        while True:
            params = {"limit": 60} | ({"cursor": cursor} if cursor else {})
            page = get(c, "/alerts", token="all", **params).json()
            assert page["total"] == 250
            seen += [(a["expected_harm"], a["alert_id"]) for a in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 250 == len(set(seen))
        assert seen == sorted(seen, key=lambda x: (-x[0], x[1]))
        # a cursor continues an offset page, with the same filters and scope
        first = get(c, "/alerts", token="c0", limit=30, offset=10).json()
        rest = get(c, "/alerts", token="c0", limit=200, cursor=first["next_cursor"]).json()
        ids = [a["alert_id"] for a in first["items"] + rest["items"]]
        assert len(ids) == first["total"] - 10 == 115 and all(a["area_code"].startswith("330110")
                                                              for a in rest["items"])
        for bad in ("nonsense", "W10", "eyJ4IjoxfQ", "WzEuMCwxLDJd"):
            r = get(c, "/alerts", token="all", cursor=bad)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cursor"], r.text
        r = get(c, "/alerts", token="all", cursor=first["next_cursor"], offset=5)
        assert r.status_code == 422 and "not both" in r.text


def test_each_token_has_its_own_rate_limit_answered_429_with_retry_after(database_url, many):
    with TestClient(app_for(database_url, api_rate_per_second=0.5, api_rate_burst=3)) as c:
        codes = [get(c, "/alerts", token="all", limit=1).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = get(c, "/alerts/wa-001", token="all")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "rate limit" in r.json()["detail"]
        assert get(c, "/alerts", token="c0", limit=1).status_code == 200     # another token is not held back
        assert get(c, "/alerts", token="wrong").status_code == 401            # unknown tokens are not counted
        assert get(c, "/healthz").status_code == 200


def test_a_scoped_token_asking_for_another_area_is_forbidden(database_url, many):
    with TestClient(app_for(database_url)) as c:
        assert get(c, "/alerts", token="c0", area="330111").status_code == 403
        assert get(c, "/alerts", token="c0", area="330110001").status_code == 200   # inside the scope
        r = get(c, "/alerts", token="c0", area="330110")
        assert r.status_code == 200 and r.json()["total"] == 125


def test_area_scopes_are_prefixes_never_like_patterns(many):
    with many() as s:
        assert list_alerts(s, area_scope="33011_")[0] == 0
        assert list_alerts(s, area_scope="33011%")[0] == 0
        assert list_alerts(s, area_scope=None, area="33011_")[0] == 0
        assert list_alerts(s, area_scope="330110")[0] == 125


@pytest.mark.parametrize("tokens, needle", [
    ("tok:", "entry 1: empty area scope"),
    ("tok:330110001,tok", "entry 2: the same token as entry 1"),
    ("tok:33011_", "entry 1: area scope '33011_' is not an area code"),
    ("tok:33011%", "is not an area code"),
    ("a,tok:3301100", "entry 2: area scope '3301100' is not an area code"),
    ("a,,b", "entry 2 is empty"),
    ("a,", "entry 2 is empty"),
    ("my token", "entry 1: a token must be"),
    (":330110", "entry 1: a token must be"),
    ("tok:330110:1", "is not an area code"),
])
def test_token_configuration_is_refused_at_start_up_naming_the_entry(tokens, needle):
    with pytest.raises(ValidationError) as err:
        Settings(api_tokens=tokens)
    from earlywarn.settings import describe_settings_error
    message = describe_settings_error(err.value)
    assert message.startswith("EW_API_TOKENS: ") and needle in message, message
    assert "tok:" not in message and "my token" not in message   # the secret part is never repeated


def test_the_openapi_schema_documents_every_answer():
    app = create_app(Settings(database_url="sqlite://", api_tokens="t"))
    paths = app.openapi()["paths"]
    listed = paths["/alerts"]["get"]["responses"]
    one = paths["/alerts/{alert_id}"]["get"]["responses"]
    assert {"200", "401", "403", "422", "429"} <= set(listed)
    assert {"200", "401", "403", "404", "422", "429"} <= set(one)
    assert "Retry-After" in listed["429"]["headers"]
    assert {"200", "503"} <= set(paths["/healthz"]["get"]["responses"])
    params = {p["name"]: p["schema"] for p in paths["/alerts"]["get"]["parameters"]}
    assert params["offset"]["maximum"] == MAX_OFFSET and params["limit"]["maximum"] == MAX_LIMIT


def test_alerts_stored_with_infinity_before_the_fix_are_served_finite(tmp_path):
    """Old SQLite stores hold Infinity (a JSON contribution, expected harm); migration 0002 caps them."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0001")
    engine = make_engine(url)
    row = alert("wa-old").model_dump(mode="json")
    row["reasons"][0]["contribution"] = float("inf")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO alerts VALUES (:alert_id, :kind, :subject_id, :subject_name, :area_code, :level, :level_rank, "
            ":status, :score, :workers_at_risk, :expected_harm, :reasons, :episode_start, :raised_at, :changed_at, "
            ":deadline, :rules_version, :stored_at)"),
            row | {"reasons": json.dumps(row["reasons"]), "expected_harm": float("inf"),
                   "stored_at": (T0 + timedelta(days=1)).isoformat()})
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url, api_tokens="t"))) as c:
        body = get(c, "/alerts/wa-old", token="t").json()
    assert body["reasons"][0]["contribution"] == 300.0 and body["expected_harm"] == 1e12


def test_a_bad_database_url_is_refused_without_repeating_it():
    from earlywarn.settings import describe_settings_error

    with pytest.raises(ValidationError) as err:
        Settings(database_url="postgresql://ops:hunter2@db:5432:5432/alerts")
    message = describe_settings_error(err.value)
    assert message.startswith("EW_DATABASE_URL: not a SQLAlchemy URL") and "hunter2" not in message
