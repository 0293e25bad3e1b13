"""Cases on SQLite and PostgreSQL (issue #20): the transition table, one open case per subject whatever the
episode start, deadlines that escalate on a controlled clock, area scope, audit."""
import itertools
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from alerts_api.cases.lifecycle import ACTIONS, OPEN_STATES, STATES, TRANSITIONS, IllegalTransition, allowed
from alerts_api.cases.routing import Policy
from alerts_api.main import create_app, escalate_once
from alerts_api.store.alerts import upsert_alert
from alerts_api.store.cases import escalate_overdue, list_cases, on_alert, timeline, transition
from alerts_api.store.models import AuditEntry, Case
from earlywarn.settings import Settings
from tests.alerts_api.test_store_and_api import T0, alert, sessions  # noqa: F401  (fixture)

POLICY = Policy()
EXAMPLES = itertools.count()


def store(sessions, a, now=T0):
    with sessions() as s, s.begin():
        assert upsert_alert(s, a, "test", now)
        case = on_alert(s, a, now, POLICY)
        return case.case_code if case is not None else None


def test_every_state_is_reachable_from_new_and_every_open_state_can_be_closed():
    reach, frontier = {"new"}, ["new"]
    while frontier:
        s = frontier.pop()
        for (a, b), t in TRANSITIONS.items():
            if a == s and t not in reach:
                reach.add(t)
                frontier.append(t)
    assert reach == set(STATES)
    assert allowed("closed") == []
    for state in OPEN_STATES:   # from every open state there is a way to closed
        seen, todo = {state}, [state]
        while todo:
            s = todo.pop()
            todo += [t for (a, _), t in TRANSITIONS.items() if a == s and t not in seen and not seen.add(t)]
        assert "closed" in seen, state
    assert {s for (s, a) in TRANSITIONS if TRANSITIONS[(s, a)] == "closed"} == {"verified"}  # no close unverified


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(ACTIONS), max_size=12))
def test_any_sequence_of_steps_follows_the_table_and_a_refused_step_changes_nothing(sessions, steps):
    n = next(EXAMPLES)  # the database outlives each example: a subject of its own
    code = store(sessions, alert(alert_id=f"wa-ex{n}", area="330110001002003").model_copy(
        update={"subject_id": f"subject-{n}"}))
    state, done = "new", 1
    for action in steps:
        with sessions() as s:
            case = s.execute(select(Case).where(Case.case_code == code)).scalar_one()
            try:
                transition(s, case, action, "inspector-1", T0, outcome="hidden_risk", inspector="li", satisfaction=4)
            except IllegalTransition as exc:
                s.rollback()
                assert (state, action) not in TRANSITIONS
                assert exc.state == state and exc.allowed == allowed(state)
                continue
            s.commit()
        assert (state, action) in TRANSITIONS
        state, done = TRANSITIONS[(state, action)], done + 1
    with sessions() as s:
        case = s.execute(select(Case).where(Case.case_code == code)).scalar_one()
        assert case.state == state
        assert (case.open_key is None) == (state == "closed")
        assert len(timeline(s, case)) == done
        if state == "closed":  # a closed case is never reopened: a new alert opens a new case
            again = on_alert(s, alert(alert_id=f"{case.alert_id}-again").model_copy(
                update={"subject_id": case.subject_id}), T0, POLICY)
            assert again.id != case.id and again.state == "new"
        s.rollback()


def test_reprocessing_with_other_episode_starts_adds_to_the_one_open_case(sessions):
    first = store(sessions, alert(alert_id="wa-run1", level="yellow", rank=2))
    later = alert(alert_id="wa-run2", level="yellow", rank=2)  # a second worker: another id and episode start
    later.episode_start = T0 + timedelta(days=2)
    assert store(sessions, later, T0 + timedelta(hours=1)) == first
    with sessions() as s:
        total, rows = list_cases(s, area_scope=None, open_only=True)
        assert total == 1
        events = timeline(s, rows[0])
        assert [e.action for e in events] == ["opened", "alert"]
        assert events[1].detail["alert_id"] == "wa-run2"


def test_a_higher_level_raises_the_case_its_unit_and_shortens_its_deadline(sessions):
    code = store(sessions, alert(alert_id="wa-b", level="blue", rank=1))
    store(sessions, alert(alert_id="wa-r", level="red", rank=3), T0 + timedelta(hours=2))
    with sessions() as s:
        case = s.execute(select(Case).where(Case.case_code == code)).scalar_one()
        assert (case.level, case.unit_level, case.unit_area) == ("red", "district", "330110")
        assert case.deadline.replace(tzinfo=timezone.utc) == T0 + timedelta(days=1)  # blue's, the nearer
        assert [e.action for e in timeline(s, case)][-1] == "level_raised"


def test_a_case_not_verified_by_its_deadline_turns_overdue_and_goes_one_level_up(sessions):
    code = store(sessions, alert(alert_id="wa-y", level="yellow", rank=2))  # street, 3 days
    with sessions() as s, s.begin():
        assert escalate_overdue(s, T0 + timedelta(days=2, hours=23), POLICY) == []
    with sessions() as s, s.begin():
        (case,) = escalate_overdue(s, T0 + timedelta(days=3, seconds=1), POLICY)
        assert case.overdue and (case.unit_level, case.unit_area) == ("district", "330110")
        assert case.escalations == 1
    with sessions() as s:
        assert [c.case_code for c in list_cases(s, area_scope=None, unit_level="district", overdue=True)[1]] == [code]
        assert list_cases(s, area_scope=None, unit_level="street")[0] == 0
    with sessions() as s:  # a verified case is not chased any more
        case = s.execute(select(Case).where(Case.case_code == code)).scalar_one()
        for action in ("dispatch", "acknowledge", "verify"):
            transition(s, case, action, "insp", T0 + timedelta(days=4), outcome="no_risk", inspector="li")
        s.commit()
    with sessions() as s, s.begin():
        assert escalate_overdue(s, T0 + timedelta(days=30), POLICY) == []


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


@contextmanager
def clocked_api(database_url: str, policy: Policy, start: datetime = T0,
                tokens: str = "all-areas,street-1:330110001,street-2:330110002"):
    """The API on a controlled clock with ``policy`` in force; its background jobs wait an hour between rounds,
    so a test moves cases itself."""
    clock = Clock(start)
    app = create_app(Settings(database_url=database_url, api_tokens=tokens, api_rate_per_second=0,
                              case_deadline_check_seconds=3600, notify_drain_seconds=3600), clock=clock)
    app.state.policy = policy
    with TestClient(app) as client:
        yield app, client, clock


@pytest.fixture
def app_and_client(database_url, sessions):
    clock = Clock(T0)
    app = create_app(Settings(database_url=database_url, api_tokens="all-areas,street-1:330110001",
                              case_deadline_check_seconds=0.05, api_rate_per_second=0), clock=clock)
    store(sessions, alert(alert_id="wa-in", area="330110001002003", level="blue", rank=1))
    store(sessions, alert(alert_id="wa-out", area="330110002001001", level="blue", rank=1) .model_copy(
        update={"subject_id": "91330110MA00000002"}))
    with TestClient(app) as client:
        yield app, client, clock


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_api_lists_moves_and_refuses_by_the_table_within_the_callers_area(app_and_client, sessions):
    app, client, clock = app_and_client
    mine = client.get("/cases", headers=auth("street-1")).json()
    assert mine["total"] == 1 and mine["items"][0]["area_code"] == "330110001002003"
    theirs = client.get("/cases", headers=auth("all-areas")).json()["items"]
    other = next(c["case_code"] for c in theirs if c["area_code"].startswith("330110002"))
    code = mine["items"][0]["case_code"]
    assert client.get(f"/cases/{other}", headers=auth("street-1")).status_code == 404
    r = client.post(f"/cases/{other}/transitions", json={"action": "dispatch"}, headers=auth("street-1"))
    assert r.status_code == 404
    r = client.post(f"/cases/{code}/transitions", json={"action": "verify", "outcome": "no_risk", "inspector": "li"},
                    headers=auth("street-1"))
    assert r.status_code == 409 and r.json()["state"] == "new" and r.json()["allowed"] == ["dispatch", "contest"]
    assert client.post(f"/cases/{code}/transitions", json={"action": "dispatch"},
                       headers=auth("street-1")).json()["state"] == "dispatched"
    client.post(f"/cases/{code}/transitions", json={"action": "acknowledge"}, headers=auth("street-1"))
    r = client.post(f"/cases/{code}/transitions", json={"action": "verify", "inspector": "li"},
                    headers=auth("street-1"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "outcome"]
    r = client.post(f"/cases/{code}/transitions", json={"action": "verify", "outcome": "hidden_risk",
                                                        "inspector": "li", "note": "two months of wages owed"},
                    headers=auth("street-1"))
    body = r.json()
    assert body["state"] == "verified" and body["outcome"] == "hidden_risk" and body["allowed_actions"] == [
        "close", "contest"]
    assert [e["action"] for e in body["timeline"]] == ["opened", "dispatch", "acknowledge", "verify"]
    with sessions() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.alert_id == code))]
        assert actions.count("case.read") == 0 and "case.verify" in actions
    client.get(f"/cases/{code}", headers=auth("street-1"))
    with sessions() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "case.read", AuditEntry.alert_id == code)).scalar_one() == 1


def test_the_deadline_job_in_the_api_escalates_on_the_injected_clock(app_and_client):
    import time

    app, client, clock = app_and_client
    assert client.get("/cases?overdue=true", headers=auth("all-areas")).json()["total"] == 0
    clock.t = T0 + timedelta(days=1, minutes=1)   # blue: one day, at the grid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page = client.get("/cases?overdue=true", headers=auth("all-areas")).json()
        if page["total"] == 2:
            break
        time.sleep(0.05)
    assert page["total"] == 2 and {c["unit_level"] for c in page["items"]} == {"community"}
    assert escalate_once(app) == 0   # new deadline: a day from now
