"""`earlywarn users add|list|revoke|token` through typer's CliRunner on SQLite and PostgreSQL: the store holds
only the token's SHA-256, a revoke refuses the token at the next request of a running API, and a bad request
names the field and the value."""
from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from alerts_api.main import create_app
from alerts_api.store.db import make_engine
from alerts_api.store.models import ApiToken, AuditEntry
from earlywarn.cli import app as cli
from earlywarn.settings import Settings, get_settings
from tests.alerts_api.people import auth, raise_alert
from tests.alerts_api.test_store_and_api import sessions  # noqa: F401  (fixture)


@pytest.fixture
def users(database_url, monkeypatch):
    """Run ``earlywarn users …`` against this test's database."""
    monkeypatch.setenv("EW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, ["users", *args])
        assert result.exit_code == code, (args, result.output, result.exception)
        return result
    yield run
    get_settings.cache_clear()


def everything_stored(database_url: str) -> str:
    """Every row of every table, as text: where a raw token would show if it were stored anywhere."""
    engine = make_engine(database_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        text = "\n".join(repr(row) for table in meta.sorted_tables for row in conn.execute(table.select()))
    engine.dispose()
    return text


def test_the_store_never_holds_the_token_and_a_revoke_counts_at_once(users, database_url, sessions):
    users("add", "wang", "--role", "inspector", "--area", "330110001")
    token = users("token", "wang").stdout.strip()
    assert token.startswith("ew_") and len(token) > 40
    second = users("token", "wang").stdout.strip()
    stored = everything_stored(database_url)
    assert token not in stored and second not in stored and token[3:20] not in stored
    with sessions() as s:
        hashes = set(s.execute(select(ApiToken.token_hash)).scalars())
    assert hashes == {hashlib.sha256(t.encode()).hexdigest() for t in (token, second)}
    raise_alert(sessions, "wa-mine", "91350100M000100Y43", "330110001002003")
    app = create_app(Settings(database_url=database_url, api_tokens="", api_rate_per_second=0))
    with TestClient(app) as client:
        assert client.get("/cases", headers=auth(token)).json()["total"] == 1
        with sessions() as s:
            first_id = s.execute(select(ApiToken.id).where(ApiToken.token_hash == hashlib.sha256(
                token.encode()).hexdigest())).scalar_one()
        users("revoke", "wang", "--token-id", str(first_id))
        r = client.get("/cases", headers=auth(token))
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        assert client.get("/cases", headers=auth(second)).status_code == 200   # the other token still works
        users("revoke", "wang")
        assert client.get("/cases", headers=auth(second)).status_code == 401
    listed = [json.loads(line) for line in users("list", "--json").stdout.splitlines()]
    assert listed == [{"name": "wang", "role": "inspector", "area_scope": "330110001", "active_tokens": 0,
                       "revoked": True}]
    users("token", "wang", code=2)   # a revoked user gets no new token
    with sessions() as s:
        actions = list(s.execute(select(AuditEntry.action).where(AuditEntry.alert_id == "user:wang")
                                 .order_by(AuditEntry.id)).scalars())
    assert actions == ["user.add", "token.issue", "token.issue", "token.revoke", "user.revoke"]


def test_list_shows_roles_areas_and_active_tokens(users):
    users("add", "eng", "--role", "engineer")
    users("add", "root", "--role", "admin")
    users("add", "zhou", "--role", "stability_officer", "--area", "330110")
    users("token", "zhou")
    lines = users("list").stdout.splitlines()
    assert [line.split()[:4] for line in lines] == [["eng", "engineer", "all", "tokens=0"],
                                                    ["root", "admin", "all", "tokens=0"],
                                                    ["zhou", "stability_officer", "330110", "tokens=1"]]


@pytest.mark.parametrize("args, field, value", [
    (["add", "x", "--role", "boss"], "role", "boss"),
    (["add", "x", "--role", "inspector"], "area", "None"),
    (["add", "x", "--role", "inspector", "--area", "33011"], "area", "33011"),
    (["add", "Bad Name", "--role", "engineer"], "name", "Bad Name"),
    (["token", "ghost"], "name", "ghost"),
    (["revoke", "ghost"], "name", "ghost"),
])
def test_a_refused_request_names_the_field_and_value(users, args, field, value):
    result = users(*args, code=2)
    assert f"error: {field} " in result.stderr and value in result.stderr


def test_a_name_is_given_once(users):
    users("add", "li", "--role", "engineer")
    result = users("add", "li", "--role", "admin", code=2)
    assert "exists already" in result.stderr
    assert users("revoke", "li", "--token-id", "99", code=2).stderr.startswith("error: token_id 99")
