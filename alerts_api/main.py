"""The FastAPI service, built by one factory from the settings."""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from fastapi import FastAPI

from alerts_api.cases.notify import KafkaPublisher
from alerts_api.ratelimit import RateLimiter
from alerts_api.cases.routing import Policy
from alerts_api.metrics import RequestMetrics, store_registry
from alerts_api.routes import (alerts, areas, audit, cases, credit, enterprises, health, metrics, silences, spot_checks,
                               stats, stream, users)
from alerts_api.register import TOPIC as REGISTER_TOPIC, take_in_register
from alerts_api.sink import AlertSink
from alerts_api.store.alerts import utcnow
from alerts_api.store import credit as credit_store
from alerts_api.store import silences as silence_store
from alerts_api.store.cases import escalate_overdue
from alerts_api.store.outbox import Senders, drain_once
from alerts_api.store.db import make_engine, migrate, session_factory
from earlywarn.settings import Settings, get_settings
from rules.loader import load_rules

log = logging.getLogger(__name__)


def escalate_once(app: FastAPI) -> int:
    """Escalate every case overdue at the app's clock; how many."""
    with app.state.sessions() as session, session.begin():
        return len(escalate_overdue(session, app.state.clock(), app.state.policy))


def expire_once(app: FastAPI) -> tuple[int, int]:
    """End the silences and take off the credit entries due at the app's clock; how many of each."""
    with app.state.sessions() as session, session.begin():
        now = app.state.clock()
        return (len(silence_store.end_due(session, now, app.state.policy)),
                len(credit_store.remove_due(session, now)))


def notify_once(app: FastAPI) -> int:
    """Deliver the notifications due at the app's clock; how many were acknowledged."""
    s = app.state.settings
    return drain_once(app.state.sessions, app.state.clock(), app.state.senders,
                      retry=timedelta(seconds=s.notify_retry_seconds), max_attempts=s.notify_max_attempts)


async def deadline_job(app: FastAPI, every: float) -> None:
    """The background job that lights overdue cases red and hands them one level up, ends silences and takes
    repaid enterprises off the credit record."""
    while True:
        try:
            n = await asyncio.to_thread(escalate_once, app)
            if n:
                log.warning("%d overdue case(s) escalated", n)
            await asyncio.to_thread(expire_once, app)
        except Exception:  # the database may be away; try again next round
            log.exception("deadline job failed; retrying in %.0f s", every)
        await asyncio.sleep(every)


async def notify_job(app: FastAPI, every: float) -> None:
    """The background job that drains the notification outbox (webhooks, SMS, the credit topic)."""
    while True:
        try:
            await asyncio.to_thread(notify_once, app)
        except Exception:  # the database may be away; the outbox keeps everything
            log.exception("notification job failed; retrying in %.0f s", every)
        await asyncio.sleep(every)


def create_app(settings: Settings | None = None, *, broker: str | None = None,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """``broker`` given → the alert sink runs inside the API process; ``clock`` is what deadlines are read on."""
    settings = settings or get_settings()
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    policy = Policy.from_rules(load_rules(settings.rules_file))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for sink in (app.state.sink, app.state.register):
            if sink:
                await sink.start()
        if broker and app.state.senders.kafka is None:
            try:
                app.state.senders.kafka = await asyncio.to_thread(
                    KafkaPublisher, broker, settings.kafka_security().kafka_python_options())
            except Exception:  # no broker yet: Kafka messages wait in the outbox until the next start
                log.exception("no Kafka producer for the outbox; credit signals wait in it")
        jobs = [asyncio.create_task(deadline_job(app, settings.case_deadline_check_seconds)),
                asyncio.create_task(notify_job(app, settings.notify_drain_seconds))]
        yield
        for job in jobs:
            job.cancel()
            with suppress(asyncio.CancelledError):
                await job
        app.state.senders.webhook.close()
        if app.state.senders.kafka is not None:
            app.state.senders.kafka.close()
        for sink in (app.state.sink, app.state.register):
            if sink:
                await sink.stop()
        engine.dispose()

    app = FastAPI(title="earlywarn alerts", version="0.1.0", lifespan=lifespan,
                  description="Wage-arrears and group-incident alerts and their cases. Every route but /healthz needs a bearer "
                              "token; what it shows depends on its role and area (README: Users and roles).")
    app.state.sessions = session_factory(engine)
    app.state.clock = clock
    app.state.policy = policy
    app.state.settings = settings
    app.state.senders = Senders(policy)
    app.state.tokens = settings.tokens()
    app.state.stream_poll_seconds = settings.stream_poll_seconds
    app.state.stream_max_seconds = settings.stream_max_seconds
    app.state.ticket_seconds = settings.stream_ticket_seconds
    app.state.ticket_key = (settings.stream_ticket_key.get_secret_value().encode() if settings.stream_ticket_key
                            else secrets.token_bytes(32))
    app.state.rate_limiter = RateLimiter(settings.api_rate_per_second, settings.api_rate_burst)
    app.state.sink = AlertSink(broker, app.state.sessions, kafka_options=settings.kafka_security().aiokafka_options(),
                               stall_after=settings.sink_stall_seconds, max_lag=settings.sink_max_lag,
                               policy=policy) if broker else None
    app.state.register = AlertSink(broker, app.state.sessions, topic=REGISTER_TOPIC, group_id="earlywarn-register",
                                   kafka_options=settings.kafka_security().aiokafka_options(),
                                   stall_after=settings.sink_stall_seconds, max_lag=2**62,  # only stuck counts:
                                   take=take_in_register) if broker else None       # a first load is long
    app.include_router(health.router)
    app.include_router(alerts.router)
    app.include_router(stream.router)   # before cases: /cases/stream is not a case code
    app.include_router(cases.router)
    app.include_router(enterprises.router)
    app.include_router(areas.router)
    app.include_router(audit.router)
    app.include_router(users.router)
    app.include_router(silences.router)
    app.include_router(credit.router)
    app.include_router(stats.router)
    app.include_router(spot_checks.router)
    app.include_router(metrics.router)
    app.state.store_metrics = store_registry(app.state.sessions)
    app.add_middleware(RequestMetrics)
    return app
