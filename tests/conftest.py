"""Shared fixtures: real databases (SQLite, PostgreSQL) and a real broker stack."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from earlywarn.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("EW_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _postgres_url() -> Iterator[str]:
    """A fresh schema in the local PostgreSQL `test` database, dropped afterwards."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(PG_URL)
    schema = f"ew_test_{uuid.uuid4().hex[:10]}"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """Each alert-store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'alerts.db'}"
    else:
        yield from _postgres_url()


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """A real broker for tests that bring their own clients: EW_KAFKA_BROKER, else an embedded Tansu.

    Tests share it, so each uses topics of its own (:func:`fresh_topics`).
    """
    if os.environ.get("EW_KAFKA_BROKER"):
        yield os.environ["EW_KAFKA_BROKER"]
        return
    from streams.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker.bootstrap


def fresh_topics(bootstrap: str, *names: str) -> list[str]:
    """Topics no other test uses, created explicitly (Tansu auto-creates with 3 partitions)."""
    from streams.broker import ensure_topics

    run = uuid.uuid4().hex[:8]
    topics = [f"{name}-{run}" for name in names]
    ensure_topics(bootstrap, topics)
    return topics


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """Embedded broker + worker + API as real processes (end-to-end tests)."""
    from earlywarn.stack import Stack

    workdir = tmp_path_factory.mktemp("stack")
    # Logs are replayed hundreds of thousands of times faster than sources send: a record in flight for 0.2 s
    # is then a simulated day, so the worker waits a second for in-flight records (EW_ALIGN_IDLE, live 0.2 s).
    settings = Settings(kafka_broker=os.environ.get("EW_KAFKA_BROKER") or None, data_dir=workdir,
                        batch_within=0.2, api_port=0, metrics_port=0, align_idle=1.0)  # 0: free ports
    with Stack(settings, workdir) as s:
        yield s


@pytest.fixture(scope="session")
def broker(stack) -> str:
    return stack.bootstrap


@pytest.fixture(scope="session")
def worker(stack):
    return stack.procs["worker"]


@pytest.fixture(scope="session")
def api(stack):
    return stack


@pytest.fixture
def prometheus_for(tmp_path):
    """Start Debian's Prometheus on loopback scraping a stack every second with the given rule files.

    Fails (does not skip) when the binary is missing: CI installs it (.ci/run), and the message says how.
    """
    from earlywarn.prometheus import Prometheus, PrometheusMissing, binary, scrape_config
    from streams.broker import free_port

    try:
        binary("prometheus")
    except PrometheusMissing as exc:
        pytest.fail(str(exc))
    started = []

    def start(stack, rules: list[Path]) -> "Prometheus":
        token_file = tmp_path / "api-token"
        token_file.write_text(stack.token)
        config = scrape_config(stack.worker_metrics_url, stack.api_url, token_file, rules, interval="1s")
        prometheus = Prometheus(tmp_path / "prometheus", config, free_port(), retention="1d")
        started.append(prometheus)
        return prometheus.start()

    yield start
    for prometheus in started:
        prometheus.stop()
