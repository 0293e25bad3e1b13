"""The FastAPI service, built by one factory from the settings."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from alerts_api.ratelimit import RateLimiter
from alerts_api.routes import alerts, health
from alerts_api.sink import AlertSink
from alerts_api.store.db import make_engine, migrate, session_factory
from earlywarn.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, broker: str | None = None) -> FastAPI:
    """``broker`` given → the alert sink runs inside the API process."""
    settings = settings or get_settings()
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.sink:
            await app.state.sink.start()
        yield
        if app.state.sink:
            await app.state.sink.stop()
        engine.dispose()

    app = FastAPI(title="earlywarn alerts", version="0.1.0", lifespan=lifespan,
                  description="Wage-arrears and group-incident alerts. Every route but /healthz needs a bearer token.")
    app.state.sessions = session_factory(engine)
    app.state.tokens = settings.tokens()
    app.state.rate_limiter = RateLimiter(settings.api_rate_per_second, settings.api_rate_burst)
    app.state.sink = AlertSink(broker, app.state.sessions, kafka_options=settings.kafka_security().aiokafka_options(),
                               stall_after=settings.sink_stall_seconds, max_lag=settings.sink_max_lag) if broker else None
    app.include_router(health.router)
    app.include_router(alerts.router)
    return app
