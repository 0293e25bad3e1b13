"""``earlywarn demo``: the whole pipeline on embedded defaults, with a summary."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from earlywarn import demo_feed
from earlywarn.prometheus import Prometheus, PrometheusMissing, binary, rule_files, scrape_config
from earlywarn.settings import Settings
from earlywarn.stack import Stack, StackError
from streams.broker import free_port, port_free
from streams.topics import ALERTS, DEAD_LETTER


@dataclass
class Tally:
    """What the demo has sent and what came back, counted from the topics themselves."""

    events_in: int = 0
    malformed_sent: int = 0
    dead_lettered: int = 0
    alert_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def line(self, api_alerts: int | str) -> str:
        with self.lock:
            return (f"events_in={self.events_in} dead_lettered={self.dead_lettered} "
                    f"(malformed sent {self.malformed_sent}) alerts_raised={len(self.alert_ids)} "
                    f"alerts_in_api={api_alerts}")


def _watch(bootstrap: str, tally: Tally, stop: threading.Event, kafka_options: dict) -> None:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(DEAD_LETTER, ALERTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=500, **kafka_options)
    try:
        while not stop.is_set():
            for msg in consumer:
                with tally.lock:
                    if msg.topic == DEAD_LETTER:
                        tally.dead_lettered += 1
                    else:
                        tally.alert_ids.add(json.loads(msg.value)["alert_id"])
    finally:
        consumer.close()


def _feed(bootstrap: str, tally: Tally, stop: threading.Event, enterprises: int, months: int,
          seconds_per_month: float, kafka_options: dict) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all", **kafka_options)
    try:
        for batch in demo_feed.months(n_enterprises=enterprises, n_months=months):
            if stop.is_set():
                break
            for rec in batch:
                producer.send(rec.topic, key=rec.key or None, value=rec.value)
            producer.flush()
            with tally.lock:
                tally.events_in += len(batch)
                tally.malformed_sent += sum(r.malformed for r in batch)
            stop.wait(seconds_per_month)
    finally:
        producer.close()


def _api_count(stack: Stack) -> int | str:
    try:
        with stack.client() as client:
            return client.get("/alerts", params={"limit": 1}).json()["total"]
    except Exception as exc:  # the summary must not die with the API
        return f"unavailable ({type(exc).__name__})"


def start_prometheus(stack: Stack, settings: Settings) -> Prometheus | None:
    """Debian's Prometheus scraping the stack with the pipeline's rules, if installed; else say how to get it."""
    try:
        binary("prometheus")
    except PrometheusMissing as exc:
        print(f"  metrics  {stack.worker_metrics_url} (worker), {stack.api_url}/metrics (API, with the token); "
              f"no Prometheus: {exc}")
        return None
    token_file = stack.workdir / "prometheus" / "api-token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(stack.token)
    token_file.chmod(0o600)
    port = settings.prometheus_port if settings.prometheus_port and port_free(settings.prometheus_port) else free_port()
    prometheus = Prometheus(stack.workdir / "prometheus",
                            scrape_config(stack.worker_metrics_url, stack.api_url, token_file, rule_files()), port)
    try:
        prometheus.start()
    except RuntimeError as exc:  # the demo runs on without it
        print(f"  metrics  Prometheus did not start: {exc}")
        return None
    stack.on_close(prometheus.stop)
    print(f"  metrics  Prometheus {prometheus.url} (alerts: {prometheus.url}/alerts) scraping "
          f"{stack.worker_metrics_url} and {stack.api_url}/metrics")
    return prometheus


def run_demo(settings: Settings, for_seconds: float | None, enterprises: int, months: int) -> int:
    workdir = Path(settings.data_dir) / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    tally, stop = Tally(), threading.Event()
    print("starting broker, worker and API …", flush=True)
    try:
        with Stack(settings, workdir, database_url=settings.database_url if "EW_DATABASE_URL" in os.environ else None) as stack:
            print(f"  broker   {stack.bootstrap}" + ("" if settings.kafka_broker else " (embedded Tansu)"))
            print(f"  API      {stack.api_url}/docs   health: {stack.api_url}/healthz")
            print(f"  token    {stack.token}")
            print(f"  try      curl -H 'Authorization: Bearer {stack.token}' '{stack.api_url}/alerts?limit=5'")
            print(f"  logs     {workdir}/(broker|worker|api).log", flush=True)
            start_prometheus(stack, settings)
            kafka_options = settings.kafka_security().kafka_python_options()
            threads = [threading.Thread(target=_watch, args=(stack.bootstrap, tally, stop, kafka_options), daemon=True),
                       threading.Thread(target=_feed, args=(stack.bootstrap, tally, stop, enterprises, months,
                                                            4.0, kafka_options), daemon=True)]
            for t in threads:
                t.start()
            started = time.monotonic()
            try:
                while for_seconds is None or time.monotonic() - started < for_seconds:
                    time.sleep(min(10.0, for_seconds or 10.0))
                    stack.check_alive()
                    print(f"[{time.monotonic() - started:5.0f}s] {tally.line(_api_count(stack))}", flush=True)
            except KeyboardInterrupt:
                pass
            final = tally.line(_api_count(stack))
            stop.set()
            for t in threads:
                t.join(timeout=5)
    except StackError as exc:
        print(f"error: {exc}")
        return 1
    print(f"summary: {final}", flush=True)
    return 0
