"""GET /cases/stream against a real uvicorn server on a loopback port, read by an httpx streaming client, on
SQLite and PostgreSQL: each caller gets only its area's (and role's) events, from every writer (API steps, the
sink's store path, the deadline job); a reconnect with Last-Event-ID gets exactly the events it missed; a revoked
token's feed ends."""
from __future__ import annotations

import json
import queue
import signal
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sse_starlette.sse import AppStatus

from alerts_api.auth import tickets
from alerts_api.auth.tokens import hash_token
from alerts_api.main import create_app, escalate_once
from alerts_api.store.models import Case, CaseEvent
from alerts_api.store.users import revoke
from earlywarn.settings import Settings
from streams.broker import free_port
from tests.alerts_api.people import ENT_A, ENT_A2, NAMES, STREET_A, auth, district, raise_alert
from tests.alerts_api.test_cases import Clock
from tests.alerts_api.test_store_and_api import T0, sessions  # noqa: F401  (fixture)

WAIT = 15.0


@contextmanager
def serve(app):
    """The app on a real uvicorn server on 127.0.0.1 (its own thread); the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.handle_exit(signal.SIGINT, None)   # as Ctrl-C does: sse-starlette ends open feeds on it
        thread.join(10)
        AppStatus.should_exit = False   # process-wide in sse-starlette: the next test's server starts afresh
        assert not thread.is_alive(), "uvicorn did not stop"


class Feed:
    """One SSE connection read in a thread: its (id, data) messages arrive on a queue; None when it ends."""

    def __init__(self, url: str, token: str | None, last_event_id: int | None = None, path: str = "/cases/stream"):
        """``token`` None: no Authorization header, as a browser's EventSource (``path`` then carries a ticket)."""
        headers = (auth(token) if token else {}) | \
            ({"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {})
        self.client = httpx.Client(timeout=httpx.Timeout(WAIT, read=30))
        self.response = self.client.send(self.client.build_request("GET", f"{url}{path}", headers=headers),
                                         stream=True)
        assert self.response.status_code == 200, self.response.read()
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self.messages: queue.Queue = queue.Queue()
        self.position: int | None = None
        """the last id the server sent (with or without an event), as EventSource keeps it for Last-Event-ID"""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event_id, data = None, []
        try:
            for line in self.response.iter_lines():
                if line.startswith("id:"):
                    event_id = int(line[3:].strip())
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "":
                    if event_id is not None:
                        self.position = event_id
                    if data:
                        self.messages.put((event_id, json.loads("\n".join(data))))
                    event_id, data = None, []
        except httpx.HTTPError:
            pass
        self.messages.put(None)

    def take(self, n: int) -> list[tuple[int, dict]]:
        out = []
        deadline = time.monotonic() + WAIT
        while len(out) < n:
            item = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            assert item is not None, f"feed ended after {out}"
            out.append(item)
        return out

    def quiet(self, seconds: float = 1.0) -> list:
        """Whatever else arrives within ``seconds`` (expected: nothing)."""
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.messages.get(timeout=left))
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self.response.close()
        self.client.close()


@pytest.fixture
def live(database_url, sessions):
    d = district(sessions)
    clock = Clock(T0)
    app = create_app(Settings(database_url=database_url, api_tokens="", api_rate_per_second=0,
                              stream_poll_seconds=0.05, case_deadline_check_seconds=3600), clock=clock)
    with serve(app) as url:
        yield url, d, app, clock


def events_in(sessions, after: int, area: str, kinds=None) -> list[int]:
    """What the store says a caller of ``area`` should get after ``after``: the expected answer, from the DB."""
    with sessions() as s:
        stmt = (select(CaseEvent.id).join(Case, Case.id == CaseEvent.case_id)
                .where(CaseEvent.id > after, Case.area_code.startswith(area)))
        if kinds:
            stmt = stmt.where(Case.kind.in_(kinds))
        return list(s.execute(stmt.order_by(CaseEvent.id)).scalars())


def test_the_feed_is_scoped_and_resumes_exactly_with_last_event_id(live, sessions):
    url, d, app, clock = live
    officer, inspector, engineer = (Feed(url, d.tokens[n]) for n in ("officer-a", "insp-a", "eng"))
    other = Feed(url, d.tokens["officer-b"])
    with sessions() as s:
        start = s.execute(select(CaseEvent.id).order_by(CaseEvent.id.desc())).scalars().first()
    with httpx.Client(base_url=url, timeout=WAIT) as api:   # changes from every writer
        api.post(f"/cases/{d.cases['wa-a']}/transitions", json={"action": "dispatch"},
                 headers=auth(d.tokens["insp-a"])).raise_for_status()
        api.post(f"/cases/{d.cases['gi-a']}/transitions", json={"action": "dispatch"},
                 headers=auth(d.tokens["officer-a"])).raise_for_status()
        api.post(f"/cases/{d.cases['wa-b']}/transitions", json={"action": "dispatch"},
                 headers=auth(d.tokens["officer-b"])).raise_for_status()
        raise_alert(sessions, "wa-a2-again", ENT_A2, STREET_A + "003", level="red", rank=3)  # sink path
        clock.t = T0 + timedelta(days=30)
        assert escalate_once(app) == 4   # the deadline job: every not-yet-verified case, both streets
    want_a = events_in(sessions, start, STREET_A)
    want_a_wage = events_in(sessions, start, STREET_A, kinds=["wage_arrears"])
    assert len(want_a) == 6 and len(want_a_wage) == 4 and len(events_in(sessions, start, "330110002")) == 2
    got = officer.take(len(want_a))
    assert [i for i, _ in got] == want_a
    assert [(m["case_code"], m["action"]) for _, m in got] == [
        (d.cases["wa-a"], "dispatch"), (d.cases["gi-a"], "dispatch"), (d.cases["wa-a2"], "alert"),
        (d.cases["wa-a"], "escalated"), (d.cases["wa-a2"], "escalated"), (d.cases["gi-a"], "escalated")]
    assert got[0][1]["subject_id"] == ENT_A and got[0][1]["subject_name"] == NAMES[ENT_A]
    assert got[0][1]["actor"] == "user:insp-a"
    assert [i for i, _ in inspector.take(len(want_a_wage))] == want_a_wage
    assert [i for i, _ in other.take(2)] == events_in(sessions, start, "330110002")
    eng = engineer.take(8)
    assert all(m["subject_name"] == "" and m["subject_id"] == "" and m["actor"] == "" for _, m in eng)
    assert officer.quiet(0.5) == [] and inspector.quiet(0.2) == [] and other.quiet(0.2) == []
    officer.close()
    last = got[-1][0]
    # disconnected: two more steps in street A (one on a group incident), one in street B
    with httpx.Client(base_url=url, timeout=WAIT) as api:
        for code, who in ((d.cases["wa-a"], "insp-a"), (d.cases["gi-a"], "officer-a"), (d.cases["wa-b"], "officer-b")):
            api.post(f"/cases/{code}/transitions", json={"action": "acknowledge"},
                     headers=auth(d.tokens[who])).raise_for_status()
    missed = events_in(sessions, last, STREET_A)
    assert len(missed) == 2
    again = Feed(url, d.tokens["officer-a"], last_event_id=last)
    resumed = again.take(2)
    assert [i for i, _ in resumed] == missed and again.quiet(0.5) == []
    assert [m["state"] for _, m in resumed] == ["acknowledged", "acknowledged"]
    for feed in (inspector, other, engineer, again):
        feed.close()


def test_a_client_that_saw_no_event_resumes_from_where_its_feed_stood(live, sessions):
    """A feed ends every EW_STREAM_MAX_SECONDS or drops; EventSource reconnects with the last id it was sent.
    With no case event of its own on the connection it used to have none, started again at the newest event,
    and missed what happened while it was away."""
    url, d, app, clock = live
    feed = Feed(url, d.tokens["officer-a"])

    def stands_at(want: int) -> None:
        deadline = time.monotonic() + WAIT
        while feed.position != want:
            assert time.monotonic() < deadline, f"feed position {feed.position}, want {want}"
            time.sleep(0.02)

    stands_at(events_in(sessions, 0, "")[-1])   # at once: the newest event
    with httpx.Client(base_url=url, timeout=WAIT) as api:   # street B only: not this officer's
        api.post(f"/cases/{d.cases['wa-b']}/transitions", json={"action": "dispatch"},
                 headers=auth(d.tokens["officer-b"])).raise_for_status()
    stands_at(events_in(sessions, 0, "")[-1])   # moved past it
    assert feed.quiet(0.3) == []
    feed.close()
    with httpx.Client(base_url=url, timeout=WAIT) as api:   # while away: a step in street A
        api.post(f"/cases/{d.cases['wa-a']}/transitions", json={"action": "dispatch"},
                 headers=auth(d.tokens["insp-a"])).raise_for_status()
    again = Feed(url, d.tokens["officer-a"], last_event_id=feed.position)
    missed = events_in(sessions, feed.position, STREET_A)
    assert len(missed) == 1 and [i for i, _ in again.take(1)] == missed
    again.close()


def test_a_revoked_token_ends_its_feed_and_bad_resume_ids_are_refused(live, sessions):
    url, d, app, clock = live
    feed = Feed(url, d.tokens["officer-a"])
    with sessions() as s, s.begin():
        revoke(s, "officer-a", actor="test", now=T0)
    deadline = time.monotonic() + WAIT
    while (item := feed.messages.get(timeout=max(0.01, deadline - time.monotonic()))) is not None:
        pass   # the feed ends (None) once the server sees the revoke
    feed.close()
    with httpx.Client(base_url=url, timeout=WAIT) as api:
        r = api.get("/cases/stream", headers=auth(d.tokens["officer-a"]))
        assert r.status_code == 401
        r = api.get("/cases/stream", headers=auth(d.tokens["officer-b"]) | {"Last-Event-ID": "12x"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]
        assert r.json()["detail"][0]["input"] == "12x"
        assert api.get("/cases/stream", headers=auth(d.tokens["adm"])).status_code == 403
        assert api.get("/cases/stream").status_code == 401


@pytest.mark.e2e
def test_alerts_the_in_process_sink_takes_from_a_real_broker_reach_the_feed(kafka, database_url, sessions):
    """The sink inside the API process (as `earlywarn api` runs it) opens cases from ``ew.alerts`` records; each
    officer's feed carries its own street's openings and nothing else."""
    import uuid

    from alerts_api.sink import AlertSink
    from tests.alerts_api.test_sink import send, wire_alert
    from tests.conftest import fresh_topics

    d = district(sessions)
    alerts_topic, letters_topic = fresh_topics(kafka, "alerts", "dead")
    app = create_app(Settings(database_url=database_url, api_tokens="", api_rate_per_second=0,
                              stream_poll_seconds=0.05, case_deadline_check_seconds=3600), clock=Clock(T0))
    app.state.sink = AlertSink(kafka, app.state.sessions, topic=alerts_topic, dead_letter_topic=letters_topic,
                               group_id=f"sink-{uuid.uuid4().hex[:8]}", policy=app.state.policy)
    with serve(app) as url:
        a, b = Feed(url, d.tokens["officer-a"]), Feed(url, d.tokens["officer-b"])
        records = [wire_alert(f"surge-{street}-{uuid.uuid4().hex[:6]}", area_code=street,
                              subject_id=f"{street}|wage") for street in (STREET_A, "330110002", STREET_A + "004")]
        send(kafka, alerts_topic, [json.dumps(r).encode() for r in records])
        got_a, got_b = a.take(2), b.take(1)
        assert [(m["action"], m["area_code"]) for _, m in got_a] == [("opened", STREET_A), ("opened", STREET_A + "004")]
        assert [(m["action"], m["area_code"]) for _, m in got_b] == [("opened", "330110002")]
        assert [i for i, _ in got_a] == events_in(sessions, got_a[0][0] - 1, STREET_A)   # ids as stored
        assert a.quiet(0.5) == [] and b.quiet(0.2) == []
        a.close()
        b.close()


def test_a_browser_opens_its_feed_with_a_short_lived_ticket_never_its_token(live, sessions):
    """EventSource cannot send a bearer token; a ticket from POST /cases/stream/tickets opens the caller's own
    feed (same role, same area), resumes with ?last_event_id=, and dies with its token or its minute."""
    url, d, app, clock = live
    with httpx.Client(base_url=url, timeout=WAIT) as api:
        r = api.post("/cases/stream/tickets", headers=auth(d.tokens["insp-a"]))
        assert r.status_code == 201, r.text
        issued = r.json()
        assert d.tokens["insp-a"] not in issued["ticket"] and issued["stream_url"].endswith(issued["ticket"])
        assert api.post("/cases/stream/tickets", headers=auth(d.tokens["adm"])).status_code == 403
        assert api.post("/cases/stream/tickets").status_code == 401
        with sessions() as s:
            start = s.execute(select(CaseEvent.id).order_by(CaseEvent.id.desc())).scalars().first()
        feed = Feed(url, None, path=issued["stream_url"])
        for code, who in ((d.cases["wa-a"], "insp-a"), (d.cases["gi-a"], "officer-a"), (d.cases["wa-b"], "officer-b")):
            api.post(f"/cases/{code}/transitions", json={"action": "dispatch"},
                     headers=auth(d.tokens[who])).raise_for_status()
        want = events_in(sessions, start, STREET_A, kinds=["wage_arrears"])   # an inspector's: wage arrears only
        got = feed.take(len(want))
        assert [i for i, _ in got] == want and feed.quiet(0.5) == []
        feed.close()
        api.post(f"/cases/{d.cases['wa-a']}/transitions", json={"action": "acknowledge"},
                 headers=auth(d.tokens["insp-a"])).raise_for_status()
        again = Feed(url, None, path=f"{issued['stream_url']}&last_event_id={got[-1][0]}")   # a new EventSource
        assert [m["action"] for _, m in again.take(1)] == ["acknowledge"] and again.quiet(0.3) == []
        again.close()

        bad = issued["ticket"][:-2] + ("AA" if not issued["ticket"].endswith("AA") else "BB")
        r = api.get(f"/cases/stream?ticket={bad}")
        assert r.status_code == 401 and "signature" in r.json()["detail"]
        old = tickets.issue(hash_token(d.tokens["insp-a"]), app.state.ticket_key, time.time() - 1)
        r = api.get(f"/cases/stream?ticket={old}")
        assert r.status_code == 401 and "expired" in r.json()["detail"]
        assert api.get(f"/cases/stream?ticket={issued['ticket']}&token=x").status_code == 422
        with sessions() as s, s.begin():
            revoke(s, "insp-a", actor="test", now=T0)
        r = api.get(f"/cases/stream?ticket={issued['ticket']}")
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
