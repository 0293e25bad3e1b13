"""Alert sink: consumes ``ew.alerts`` and upserts each alert into the store.

At-least-once: offsets are committed only after every record of a poll is
stored or dead-lettered (:mod:`alerts_api.intake`), and the upsert is
idempotent, so a crash or replay never duplicates or loses an alert, and a
poison record never blocks the ones behind it. A store that is away is
retried with back-off, keeping the records; while that lasts longer than
``stall_after`` seconds, or the sink falls more than ``max_lag`` records
behind, :meth:`AlertSink.health` says so and ``/healthz`` answers 503.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.orm import sessionmaker

from alerts_api import metrics
from alerts_api.cases.routing import Policy
from alerts_api.intake import AlertRecord, Intake, StoreUnavailable, take_in
from streams.deadletter import letter_key
from streams.topics import ALERTS, DEAD_LETTER

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinkHealth:
    healthy: bool
    state: str
    """starting, running, retrying, stopped"""
    reason: str
    """why unhealthy (or the trouble being retried, not yet long enough to count); empty when all is well"""
    stored: int
    dead_lettered: int
    lag: int | None
    """records on ew.alerts not yet taken in, from the last fetch's high watermark (None before one)"""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Backoff:
    """Exponential back-off between retries of a transient failure."""

    first: float = 0.5
    most: float = 30.0
    _next: float = 0.0

    def next(self) -> float:
        self._next = min(self.most, self._next * 2 if self._next else self.first)
        return self._next

    def reset(self) -> None:
        self._next = 0.0


class AlertSink:
    def __init__(self, bootstrap: str, sessions: sessionmaker, *, kafka_options: dict[str, Any] | None = None,
                 topic: str = ALERTS, dead_letter_topic: str = DEAD_LETTER, group_id: str = "earlywarn-alert-sink",
                 stall_after: float = 30.0, max_lag: int = 10_000, backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic, policy: Policy | None = None,
                 take: Callable[[sessionmaker, list[AlertRecord]], Intake] | None = None) -> None:
        self.bootstrap, self.sessions, self.group_id = bootstrap, sessions, group_id
        self.policy = policy
        """routing and deadlines: with it, every stored alert opens or updates its case"""
        self.take = take
        """what to do with a poll's records instead of storing alerts (the enterprise register,
        :mod:`alerts_api.register`); the alert metrics count only alerts"""
        self.kafka_options = dict(kafka_options or {})
        self.topic, self.dead_letter_topic = topic, dead_letter_topic
        self.stall_after, self.max_lag = stall_after, max_lag
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.stored = self.rejected = 0
        self._task: asyncio.Task | None = None
        self._state = "starting"
        self._trouble: str = ""
        self._trouble_since: float | None = None
        self._lag: dict[Any, int] = {}

    # ------------------------------------------------------------------ health
    def health(self) -> SinkHealth:
        lag = sum(self._lag.values()) if self._lag else None
        reason = ""
        if self._trouble_since is not None and self.clock() - self._trouble_since > self.stall_after:
            reason = f"stuck for {self.clock() - self._trouble_since:.0f} s: {self._trouble}"
        elif lag is not None and lag > self.max_lag:
            reason = f"{lag} records behind on {self.topic} (bound {self.max_lag})"
        return SinkHealth(healthy=not reason and self._state != "stopped", state=self._state,
                          reason=reason or self._trouble, stored=self.stored, dead_lettered=self.rejected, lag=lag)

    def status(self) -> str:
        return self._state

    def _troubled(self, why: str) -> None:
        self._trouble = why
        if self._trouble_since is None:
            self._trouble_since = self.clock()

    def _progressed(self) -> None:
        self._trouble, self._trouble_since = "", None
        self.backoff.reset()

    # ------------------------------------------------------------------ running
    async def start(self) -> None:
        self._troubled("not connected to the broker yet")
        self._task = asyncio.create_task(self._run_forever())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self._state = "stopped"

    async def _run_forever(self) -> None:
        while True:  # a broker outage must not kill the API: retry
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._state = "retrying"
                self._troubled(f"broker: {type(exc).__name__}: {exc}"[:300])
                log.warning("alert sink failed, retrying: %r", exc)
                await asyncio.sleep(self.backoff.next())

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap, group_id=self.group_id,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    session_timeout_ms=6000, heartbeat_interval_ms=1000, **self.kafka_options)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", **self.kafka_options)
        try:
            await consumer.start()
            await producer.start()
            self._state = "running"
            self._progressed()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                records = [AlertRecord(tp.topic, tp.partition, r.offset, r.value, r.key)
                           for tp, recs in batches.items() for r in recs]
                self._measure_lag(consumer, batches, taken=False)  # the poll in hand counts as behind
                if records:
                    await self._take_in(records, producer)
                    await consumer.commit()
                self._progressed()
                self._measure_lag(consumer, batches, taken=True)
        finally:
            await consumer.stop()
            await producer.stop()

    async def _take_in(self, records: list[AlertRecord], producer: AIOKafkaProducer) -> None:
        """Store or dead-letter every record; retry the whole poll while the store is away."""
        while True:
            try:
                started = time.perf_counter()
                if self.take is not None:
                    intake = await asyncio.to_thread(self.take, self.sessions, records)
                    break
                intake = await asyncio.to_thread(take_in, self.sessions, records, "alert-sink", self.policy)
                metrics.SINK_UPSERT_SECONDS.observe(time.perf_counter() - started)
                break
            except StoreUnavailable as exc:
                self._state = "retrying"
                self._troubled(f"alert store unavailable: {exc}")
                log.warning("alert store unavailable, retrying %d alert(s): %s", len(records), exc)
                await asyncio.sleep(self.backoff.next())
        self._state = "running"
        self.stored += intake.changed
        if self.take is None:
            metrics.SINK_STORED.inc(intake.changed)
        for rec, letter in intake.letters:
            log.warning("alert record %s[%d]@%d dead-lettered: %s", rec.topic, rec.partition, rec.offset,
                        letter.error[:200])
            await producer.send_and_wait(self.dead_letter_topic, letter.to_json(), key=letter_key(rec.key))
            self.rejected += 1
            metrics.SINK_REJECTED.inc()

    def _measure_lag(self, consumer: AIOKafkaConsumer, batches: dict, taken: bool) -> None:
        """Alerts on each partition not yet stored: from the poll's first offset, or after its last once taken in."""
        for tp in consumer.assignment():
            recs = batches.get(tp)
            high = consumer.highwater(tp)
            if recs and high is not None:
                self._lag[tp] = max(0, high - (recs[-1].offset + 1 if taken else recs[0].offset))
            elif not recs:
                self._lag[tp] = 0
        if self.take is None:
            metrics.SINK_LAG.set(sum(self._lag.values()))
