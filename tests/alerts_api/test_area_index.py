"""The area index (issue #23, DESIGN §2): warned three months running with incidents down less than 30 % month
on month → flagged for supervised rectification; the route and the CLI report it from the alert store, on
SQLite and PostgreSQL, within the caller's scope and kinds."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from alerts_api.main import create_app
from alerts_api.store.alerts import upsert_alert
from alerts_api.store.area_index import AreaMonth, flag
from earlywarn.cli import app as cli
from earlywarn.settings import Settings
from tests.alerts_api.test_cases import Clock, auth
from tests.alerts_api.test_store_and_api import alert, sessions  # noqa: F401  (fixture)

STREET_A, STREET_B, STREET_C = "330110001", "330110002", "330110003"
NOW = datetime(2026, 6, 20, tzinfo=timezone.utc)
# per street: (warnings that are not incidents, incidents) in 2026-03, -04, -05, -06
HISTORY = {
    STREET_A: [(2, 4), (1, 4), (3, 3), (1, 3)],   # warned all along, incidents 4 → 4 → 3 → 3: flagged
    STREET_B: [(2, 5), (1, 5), (1, 3), (2, 2)],   # 5 → 3 (−40 %) then 3 → 2 (−33 %): not flagged
    STREET_C: [(1, 0), (0, 0), (2, 0), (1, 0)],   # not warned in April: no three-month run
}


def store(sessions) -> None:
    n = 0
    with sessions() as s, s.begin():
        for street, months in HISTORY.items():
            for k, (warnings, incidents) in enumerate(months):
                at = datetime(2026, 3 + k, 10, tzinfo=timezone.utc)
                for i in range(warnings + incidents):
                    n += 1
                    kind = "group_incident" if i < incidents else "complaint_surge"
                    a = alert(alert_id=f"ai-{n}", area=street + "001002", changed=at)
                    upsert_alert(s, a.model_copy(update={"kind": kind, "subject_id": f"s-{n}", "raised_at": at,
                                                         "episode_start": at}), "test", at)


def test_the_rule_on_hand_made_months():
    def months(*pairs):
        return [AreaMonth(f"m{i}", w, n) for i, (w, n) in enumerate(pairs)]

    run = months((1, 10), (1, 10), (1, 8))      # −20 %: flagged
    flag(run)
    assert [m.flagged for m in run] == [False, False, True] and "-20%" in run[-1].why
    run = months((1, 10), (1, 10), (1, 7))      # −30 %: not less than 30 %
    flag(run)
    assert not run[-1].flagged
    run = months((1, 0), (1, 0), (1, 0))        # warned all along, never an incident: no improvement
    flag(run)
    assert run[-1].flagged and "no fall" in run[-1].why
    run = months((1, 5), (0, 5), (1, 5))        # a quiet month breaks the run
    flag(run)
    assert not any(m.flagged for m in run)


@pytest.fixture
def client(database_url, sessions):
    store(sessions)
    app = create_app(Settings(database_url=database_url, api_tokens=f"all,b:{STREET_B}", api_rate_per_second=0),
                     clock=Clock(NOW))
    with TestClient(app) as c:
        yield c


def test_the_route_reports_each_street_and_flags_by_the_rule(client):
    r = client.get("/areas/330110/index", params={"months": 4}, headers=auth("all"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["months"] == ["2026-03", "2026-04", "2026-05", "2026-06"] and body["by"] == "street"
    rows = {a["area_code"]: a for a in body["areas"]}
    assert body["flagged"] == [STREET_A]
    assert [(m["warnings"], m["incidents"]) for m in rows[STREET_A]["months"]] == \
        [(w + n, n) for w, n in HISTORY[STREET_A]]
    assert [m["flagged"] for m in rows[STREET_A]["months"]] == [False, False, True, True]
    assert not any(m["flagged"] for m in rows[STREET_B]["months"] + rows[STREET_C]["months"])
    index = {code: [m["index"] for m in rows[code]["months"]] for code in rows}
    assert index[STREET_C][1] == 100.0 and min(index[STREET_C]) > max(index[STREET_A])   # calmer, higher


def test_another_street_s_token_sees_its_own_street_only(client):
    assert client.get("/areas/330110/index", headers=auth("b")).status_code == 403
    r = client.get(f"/areas/{STREET_B}/index", params={"months": 4, "until": "2026-06"}, headers=auth("b"))
    assert r.status_code == 200 and {a["area_code"][:9] for a in r.json()["areas"]} == {STREET_B}
    assert r.json()["by"] == "community"
    assert client.get("/areas/330110/index", params={"by": "district"}, headers=auth("all")).status_code == 422
    r = client.get(f"/areas/{STREET_B}/index", params={"by": "street"}, headers=auth("b"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "by"]
    assert client.get("/areas/330110/index", params={"until": "2026-13"}, headers=auth("all")).status_code == 422


def test_the_cli_writes_the_report_and_a_chart(database_url, sessions, tmp_path, monkeypatch):
    store(sessions)
    monkeypatch.setenv("EW_DATABASE_URL", database_url)
    out, png = tmp_path / "report.json", tmp_path / "index.png"
    result = CliRunner().invoke(cli, ["area-index", "--area", "330110", "--until", "2026-06", "--months", "4",
                                      "--json", str(out), "--png", str(png)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["flagged"] == [STREET_A] and len(doc["areas"]) == 3
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    bad = CliRunner().invoke(cli, ["area-index", "--area", "33011"])
    assert bad.exit_code == 2 and "6, 9 or 12 digits" in bad.output
