"""Alert sink: consumes ``ew.alerts`` and upserts each alert into the store.

At-least-once: offsets are committed only after the store committed, and the
upsert is idempotent, so a crash or replay never duplicates or loses an alert.
A record that is not a valid alert goes to the dead-letter topic with its reason.
"""
from __future__ import annotations

import asyncio
import base64
import json
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError
from sqlalchemy.orm import sessionmaker

from alerts_api.schemas import AlertIn
from alerts_api.store.alerts import upsert_alert, utcnow
from earlywarn.validation import describe_validation
from streams.decode import DeadLetter
from streams.topics import ALERTS, DEAD_LETTER

log = logging.getLogger(__name__)


class AlertSink:
    def __init__(self, bootstrap: str, sessions: sessionmaker, group_id: str = "earlywarn-alert-sink") -> None:
        self.bootstrap, self.sessions, self.group_id = bootstrap, sessions, group_id
        self.stored = self.rejected = 0
        self._task: asyncio.Task | None = None
        self._state = "starting"

    def status(self) -> str:
        return self._state

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run_forever(self) -> None:
        while True:  # a broker outage must not kill the API: retry
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._state = f"retrying after {type(exc).__name__}"
                log.warning("alert sink failed, retrying: %r", exc)
                await asyncio.sleep(2)

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(ALERTS, bootstrap_servers=self.bootstrap, group_id=self.group_id,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    session_timeout_ms=6000, heartbeat_interval_ms=1000)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await consumer.start()
        await producer.start()
        self._state = "running"
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                if not batches:
                    continue
                dead: list[DeadLetter] = []
                with self.sessions() as session, session.begin():
                    for tp, records in batches.items():
                        for rec in records:
                            try:
                                alert = AlertIn.model_validate(json.loads(rec.value))
                            except (ValueError, ValidationError) as exc:
                                why = describe_validation(exc) if isinstance(exc, ValidationError) else str(exc)
                                dead.append(DeadLetter(f"invalid alert: {why}", tp.topic, tp.partition, rec.offset,
                                                       base64.b64encode(rec.value or b"").decode()))
                                continue
                            if upsert_alert(session, alert, actor="alert-sink", now=utcnow()):
                                self.stored += 1
                for letter in dead:
                    self.rejected += 1
                    await producer.send_and_wait(DEAD_LETTER, letter.to_json())
                await consumer.commit()
        finally:
            await consumer.stop()
            await producer.stop()
