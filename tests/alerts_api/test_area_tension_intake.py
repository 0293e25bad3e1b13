"""The API takes the worker's ``area_tension`` alerts (issue #23): valid on ``ew.alerts``, stored, and a case
opened for the community, as for any other kind."""
import json

from sqlalchemy import select

from alerts_api.cases.routing import Policy
from alerts_api.intake import AlertRecord, take_in
from alerts_api.store.alerts import list_alerts
from alerts_api.store.db import make_engine, migrate, session_factory
from alerts_api.store.models import Case
from tests.streams.test_area_tension import batched, feed, stream, tracker


def test_area_tension_alerts_are_stored_and_open_a_case_for_their_community(database_url):
    t = tracker()
    alerts = [a for b in batched(stream(), 60) for a in feed(t, b)]
    assert {a["level"] for a in alerts} >= {"blue", "yellow", "red"}
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        sessions = session_factory(engine)
        records = [AlertRecord("ew.alerts", 0, i, json.dumps(a, allow_nan=False).encode())
                   for i, a in enumerate(alerts)]
        intake = take_in(sessions, records, policy=Policy())
        assert not intake.letters and intake.changed == len(alerts)
        with sessions() as s:
            total, rows = list_alerts(s, area_scope=None, kind="area_tension")
            assert total == len({a["alert_id"] for a in alerts})
            assert {r.area_code for r in rows} == {a["area_code"] for a in alerts}
            cases = s.execute(select(Case).where(Case.kind == "area_tension")).scalars().all()
            assert [(c.subject_id, c.level) for c in cases] == [(alerts[0]["subject_id"], alerts[-1]["level"])]
    finally:
        engine.dispose()
