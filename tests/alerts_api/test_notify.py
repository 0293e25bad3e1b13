"""Notifications on SQLite and PostgreSQL (issue #20): new and escalated cases only, an outbox written with the
case change, delivered to a real HTTP receiver that fails the first attempts, signed per unit, retried with
back-off, every attempt logged, nothing lost or resent across an API restart."""
from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from alerts_api.cases.notify import DELIVERY, SIGNATURE, TIMESTAMP, LoggingSms, WebhookSender, verify
from alerts_api.cases.routing import Policy
from alerts_api.main import create_app
from alerts_api.store.cases import escalate_overdue, on_alert
from alerts_api.store.db import make_engine, session_factory
from alerts_api.store.models import Outbox
from alerts_api.store.outbox import Senders, deliveries, drain_once
from earlywarn.settings import Settings
from rules.schema import UnitChannels
from tests.alerts_api.test_cases import Clock, auth
from tests.alerts_api.test_store_and_api import T0, alert, sessions  # noqa: F401  (fixture)

SECRET_ENV = "EW_TEST_DISTRICT_HOOK_SECRET"


class Receiver:
    """A unit's webhook endpoint on a free loopback port: answers 500 to the first ``fail`` requests."""

    def __init__(self, fail: int, delay: float = 0.0) -> None:
        self.fail, self.requests = fail, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                time.sleep(delay)   # a slow unit: a second drainer has time to find the message too
                code = 500 if len(outer.requests) <= outer.fail else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if code == 500 else b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(fail=2)
    yield r
    r.close()


def setup(receiver: Receiver, sms: list[str] | None = None) -> tuple[Policy, Senders, str]:
    secret = secrets.token_hex(16)   # made here, never in the repo: the unit's secret comes from its environment
    channels = UnitChannels(webhook=receiver.url, secret_env=SECRET_ENV, sms=sms or [])
    policy = Policy(channels={"330110": channels})
    return policy, Senders(policy, webhook=WebhookSender(env={SECRET_ENV: secret}), sms=LoggingSms()), secret


def webhook_log(session, code):
    return [(d.attempt, d.status, d.unit) for d in deliveries(session, code) if d.channel == "webhook"]


def test_a_new_case_reaches_its_unit_signed_after_retries_and_survives_a_restart(database_url, sessions, receiver):
    policy, senders, secret = setup(receiver, sms=["+8613800000001"])
    with sessions() as s, s.begin():
        code = on_alert(s, alert(alert_id="wa-n1", level="red", rank=3), T0, policy).case_code  # red → district
    assert drain_once(sessions, T0, senders) == 1            # the SMS goes, the webhook's first attempt fails
    assert senders.sms.sent and code in senders.sms.sent[0][1]
    assert drain_once(sessions, T0 + timedelta(seconds=29), senders) == 0   # back-off: not due yet
    assert len(receiver.requests) == 1
    assert drain_once(sessions, T0 + timedelta(seconds=30), senders) == 0   # second attempt fails
    with sessions() as s:
        assert webhook_log(s, code) == [(1, "failed", "330110"), (2, "failed", "330110")]
        assert "HTTP 500" in deliveries(s, code)[-1].error and secret not in deliveries(s, code)[-1].error
        row = s.execute(select(Outbox).where(Outbox.channel == "webhook")).scalar_one()
        assert row.next_attempt_at.replace(tzinfo=T0.tzinfo) == T0 + timedelta(seconds=90)  # 30 s, then 60 s

    engine = make_engine(database_url)   # the API restarts: a new process finds the message in the outbox
    restarted = session_factory(engine)
    assert drain_once(restarted, T0 + timedelta(seconds=90), senders) == 1
    assert drain_once(restarted, T0 + timedelta(days=30), senders) == 0     # acknowledged: never sent again
    engine.dispose()

    assert len(receiver.requests) == 3
    bodies = {body for _, body in receiver.requests}
    assert len(bodies) == 1 and len({h[DELIVERY] for h, _ in receiver.requests}) == 1  # same message, same id
    for headers, body in receiver.requests:
        assert verify(secret.encode(), headers[TIMESTAMP], body, headers[SIGNATURE])
        assert not verify(b"another unit's secret", headers[TIMESTAMP], body, headers[SIGNATURE])
        assert not verify(secret.encode(), headers[TIMESTAMP], body.replace(b"red", b"blue"), headers[SIGNATURE])
    sent = json.loads(bodies.pop())
    assert (sent["event"], sent["case_code"], sent["level"], sent["unit"]) == ("case.opened", code, "red", "330110")
    with sessions() as s:
        assert webhook_log(s, code)[-1] == (3, "delivered", "330110")


def test_only_new_raised_and_escalated_cases_notify_and_only_committed_changes(sessions, receiver):
    policy, _, _ = setup(receiver)

    def queued():
        with sessions() as s:
            return [(o.event, o.case_code) for o in s.execute(select(Outbox).order_by(Outbox.id)).scalars()]

    with sessions() as s:   # a change rolled back leaves no message behind
        on_alert(s, alert(alert_id="wa-gone", level="red", rank=3), T0, policy)
        s.rollback()
    assert queued() == []
    with sessions() as s, s.begin():
        code = on_alert(s, alert(alert_id="wa-y1"), T0, policy).case_code   # yellow → street 330110001
    with sessions() as s, s.begin():
        on_alert(s, alert(alert_id="wa-y2"), T0 + timedelta(hours=1), policy)   # same level: timeline only
    assert queued() == [("case.opened", code)]   # street has no channel of its own: the district is told
    with sessions() as s, s.begin():
        on_alert(s, alert(alert_id="wa-r1", level="red", rank=3), T0 + timedelta(hours=2), policy)
    with sessions() as s, s.begin():
        assert len(escalate_overdue(s, T0 + timedelta(days=8), policy)) == 1
    assert [e for e, _ in queued()] == ["case.opened", "case.level_raised", "case.escalated"]


def test_an_unreachable_unit_is_given_up_after_the_attempts_and_logged(sessions):
    dead = Receiver(fail=0)
    dead.close()   # nothing listens on its port any more
    policy, senders, _ = setup(dead)
    with sessions() as s, s.begin():
        code = on_alert(s, alert(alert_id="wa-d", level="red", rank=3), T0, policy).case_code
    now = T0
    for _ in range(3):
        drain_once(sessions, now, senders, retry=timedelta(seconds=1), max_attempts=3)
        now += timedelta(hours=2)
    with sessions() as s:
        assert [(a, st) for a, st, _ in webhook_log(s, code)] == [(1, "failed"), (2, "failed"), (3, "gave_up")]
        assert "ConnectError" in deliveries(s, code)[0].error
        assert s.execute(select(Outbox.status)).scalar_one() == "gave_up"


def test_a_webhook_without_a_secret_variable_is_refused_by_the_rule_schema():
    with pytest.raises(ValidationError, match="secret_env"):
        UnitChannels(webhook="http://127.0.0.1:9/hook")
    with pytest.raises(ValidationError, match="E.164"):
        UnitChannels(sms=["13800000000"])


def test_the_api_job_delivers_from_the_outbox_on_its_own(database_url, sessions, receiver):
    clock = Clock(T0)
    app = create_app(Settings(database_url=database_url, api_tokens="all-areas", api_rate_per_second=0,
                              notify_drain_seconds=0.05, notify_retry_seconds=1), clock=clock)
    policy, senders, secret = setup(receiver)
    app.state.policy, app.state.senders = policy, senders
    with sessions() as s, s.begin():
        code = on_alert(s, alert(alert_id="wa-api", level="red", rank=3), T0, policy).case_code
    with TestClient(app) as client:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(receiver.requests) < 3:
            clock.t += timedelta(seconds=5)   # time passes for the back-off
            time.sleep(0.1)
        assert client.get(f"/cases/{code}", headers=auth("all-areas")).status_code == 200
    assert len(receiver.requests) == 3
    with sessions() as s:
        assert [st for _, st, _ in webhook_log(s, code)] == ["failed", "failed", "delivered"]


def test_the_sink_writes_the_message_with_the_alert_and_the_case_and_units_come_from_the_rule_file(sessions):
    from alerts_api.intake import AlertRecord, take_in
    from earlywarn.settings import DEFAULT_RULES
    from rules.loader import parse_rules

    text = DEFAULT_RULES.read_text() + ('\nnotify:\n  "330110001":\n    webhook: http://127.0.0.1:9/street\n'
                                        '    secret_env: EW_HOOK_SECRET_STREET\n    sms: ["+8613800000002"]\n')
    policy = Policy.from_rules(parse_rules(text))
    record = AlertRecord("ew.alerts", 0, 0, alert(alert_id="wa-sink").model_dump_json(by_alias=True).encode())
    assert take_in(sessions, [record], policy=policy).changed == 1
    with sessions() as s:
        rows = s.execute(select(Outbox).order_by(Outbox.id)).scalars().all()
        assert [(o.channel, o.target, o.event) for o in rows] == [("webhook", "330110001", "case.opened"),
                                                                 ("sms", "+8613800000002", "case.opened")]


def test_two_api_processes_draining_at_once_send_each_message_once(database_url, sessions):
    """Each API process drains the outbox; a message is claimed before it is sent, so two never both send it
    (on SQLite, which has no row locks, they did)."""
    slow = Receiver(fail=0, delay=0.3)
    try:
        policy, senders, _ = setup(slow)
        with sessions() as s, s.begin():
            codes = {on_alert(s, alert(alert_id=f"wa-two-{i}", level="yellow", rank=2)
                              .model_copy(update={"subject_id": f"91330110MA{i:08d}"}), T0, policy).case_code
                     for i in range(4)}
        engines = [make_engine(database_url) for _ in range(2)]
        done: list[int] = []

        def drain(engine) -> None:
            done.append(drain_once(session_factory(engine), T0, senders))

        threads = [threading.Thread(target=drain, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for e in engines:
            e.dispose()
        sent = [json.loads(body)["case_code"] for _, body in slow.requests]
        assert sorted(sent) == sorted(codes) and sum(done) == len(codes), (sent, done)
    finally:
        slow.close()
