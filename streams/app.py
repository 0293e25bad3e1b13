"""The Faust app, built by one factory from one settings object.

One agent consumes every source topic in micro-batches (Faust's cost is per
message, DESIGN §7), decodes and validates each record, sends bad ones to the
dead-letter topic, runs the wage-arrears engine over the batch touching each
enterprise's state once, counts complaints for surges and follows gatherings,
and sends alerts and the material score changes. A record that fails
anywhere (decode, contract, any stage) is dead-lettered alone, never its
batch (streams/poison.py). Events are scored in event-time order across the
topics (streams/align.py), and every piece of state lives in a table
(per enterprise, and the area trackers: streams/area_state.py), so a replay,
a crash-restart and a reprocessing decide alike. Delivery is at-least-once;
duplicate event ids are skipped, and alert ids are deterministic, so every
downstream sink can upsert.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust

from detectors.engine import DecodedEvent, WageArrearsEngine
from detectors.enterprise import EnterpriseState
from detectors.features import IndustryContext
from earlywarn.settings import Settings
from rules.loader import RuleWatcher
from streams import area_state, metrics
from streams.align import Aligner, Held
from streams.changelog_end import patch_faust_recovery
from streams.complaint_surge import ComplaintSurgeTracker
from streams.deadletter import DeadLetter, dead_letter, letter_key
from streams.decode import decode_many
from streams.group_incidents import GroupIncidentWatch
from streams.poison import non_finite, score_batch
from streams.score_feed import material
from streams.topics import ALERTS, DEAD_LETTER, RISK_SCORES, SOURCE_TOPICS

log = logging.getLogger(__name__)
OUTBOX_KEY = "outbox:alerts"
OUTBOX_BATCHES = 20
"""the alerts of the last batches, kept in the state table and resent after a restart (an outbox)"""


@dataclass
class Pipeline:
    app: faust.App
    engine: WageArrearsEngine
    rules: RuleWatcher


def faust_settings(settings: Settings, broker: str) -> dict:
    """Settings known to work against Tansu (DESIGN §5): short group joins, no transactions.

    With EW_KAFKA_SECURITY_PROTOCOL other than PLAINTEXT, the broker credentials (TLS, SASL) too.
    """
    credentials = settings.kafka_security().faust_credentials()
    return dict(
        **({"broker_credentials": credentials} if credentials is not None else {}),
        broker=f"kafka://{broker}",
        store="memory://",
        processing_guarantee="at_least_once",
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        datadir=str(settings.data_dir / "faust"),
        producer_acks=-1,
    )


def create_app(settings: Settings, broker: str) -> Pipeline:
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    patch_faust_recovery(broker, settings.kafka_security().aiokafka_options())
    app = faust.App(settings.app_id, **faust_settings(settings, broker))
    watcher = RuleWatcher(settings.rules_file)
    engine = WageArrearsEngine(watcher.rules, dedup=settings.dedup_per_enterprise)
    surges = ComplaintSurgeTracker()
    groups = GroupIncidentWatch(surges)
    parts = {"surge": surges, "gathering": groups}
    aligner = Aligner(max_held=settings.align_max_held, max_wait=settings.align_max_wait, idle=settings.align_idle)
    lock = asyncio.Lock()
    restored = False
    tracked = 0  # enterprises in the table, for the gauge
    last_event: dict[str, float] = {}  # latest event time per source topic
    metrics.RULES_VERSION.info({"version": watcher.rules.version})
    sources = app.topic(*SOURCE_TOPICS, key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(DEAD_LETTER, value_serializer="raw", key_serializer="raw")
    scores = app.topic(RISK_SCORES, value_serializer="json", key_serializer="raw")
    alerts = app.topic(ALERTS, value_serializer="json", key_serializer="raw")
    # One table for everything the worker keeps: enterprise states by credit code, the area trackers under
    # "surge:" and "gathering:", and the outbox (the industry context is rebuilt from the enterprise states). One changelog partition (EW_TOPIC_PARTITIONS=1)
    # keeps its writes in order, so a kill -9 leaves a prefix of them: a batch's outbox always lands before
    # the state changes that raised its alerts.
    states = app.Table("worker-state", default=None, partitions=settings.topic_partitions, use_partitioner=True)
    outbox: deque[list[dict]] = deque(maxlen=OUTBOX_BATCHES)

    def load(enterprise_id: str) -> EnterpriseState | None:
        stored = states.get(enterprise_id)
        return EnterpriseState.from_dict(stored, settings.dedup_per_enterprise) if stored else None

    async def send_letter(key: bytes | None, letter: DeadLetter) -> None:
        """A dead letter always fits (streams/deadletter.py); if the broker still refuses it, log it with its place."""
        metrics.DEAD_LETTERS.labels(topic=letter.source_topic, reason=metrics.reason_class(letter.error)).inc()
        try:
            await dead_letters.send(key=letter_key(key), value=letter.to_json())
        except Exception:
            metrics.DEAD_LETTERS_UNSENT.inc()
            log.exception("dead letter not sent for %s[%d]@%d (%s)", letter.source_topic, letter.partition,
                          letter.offset, letter.error[:200])

    def behind() -> list[Any]:
        """Source partitions with records on the broker this worker has not read yet (streams/align.py).

        Sets the consumer-lag gauge per topic on the way (highwater minus the next offset to read).
        """
        consumer = app.consumer
        out = []
        lag = dict.fromkeys(SOURCE_TOPICS, 0)
        for tp in consumer.assignment():
            if tp.topic not in SOURCE_TOPICS:
                continue
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # not assigned any more: it holds nothing back
                continue
            read = aligner.next_offset(tp)
            if read is None:
                read = consumer._committed_offset.get(tp) or 0
            if highwater is None or highwater > read:  # None: not fetched yet, so it may hold earlier events
                out.append(tp)
            if highwater is not None:
                lag[tp.topic] += max(0, highwater - read)
        for topic, n in lag.items():
            metrics.CONSUMER_LAG.labels(topic=topic).set(n)
        return out

    async def score(ready: list[Held]) -> None:
        """Score events released in event-time order, send what they raise, then ack their records."""
        nonlocal tracked
        good: list[DecodedEvent] = [h.event for h in ready]
        origins = {id(h.event): h.handle for h in ready}
        area_alerts, out, failed, reruns = score_batch(
            [("complaint-surge counter", surges.process), ("gathering watch", groups.process)], engine, good, load)
        metrics.ENGINE_ERRORS.inc(reruns)
        for event, reason in failed:
            msg, key, payload = origins[id(event)]
            log.error("event %s on %s[%d]@%d dead-lettered: %s", event.event_id[:64], msg.topic, msg.partition,
                      msg.offset, reason[:300])
            await send_letter(key, dead_letter(reason, msg.topic, msg.partition, msg.offset, payload))
        metrics.DUPLICATES.inc(out.duplicates)
        latest = {u["enterprise_id"]: u for u in out.score_updates}  # one update per enterprise per batch
        feed = [u for eid, u in latest.items()
                if material(out.touched[eid], u, settings.score_feed_min_change)]
        raised, broken = [], []
        for alert in out.alerts + area_alerts:
            where = non_finite(alert)
            if where is None:
                raised.append(alert)
            else:
                broken.append((alert, where))
        if raised:
            outbox.append(raised)
            states[OUTBOX_KEY] = list(outbox)
        for enterprise_id, state in out.touched.items():
            tracked += enterprise_id not in states
            states[enterprise_id] = state.to_dict()
        metrics.ENTERPRISES.set(tracked)
        area_state.save(states, parts)
        for update in feed:
            if non_finite(update) is not None:  # a detector bug: say so, keep the feed valid JSON
                metrics.ENGINE_ERRORS.inc()
                log.error("score update for %s held back: non-finite %s", update["enterprise_id"],
                          non_finite(update))
                continue
            await scores.send(key=update["enterprise_id"].encode(), value=update)
        for alert, where in broken:  # a detector bug; the sink would refuse it, so say so here
            metrics.ENGINE_ERRORS.inc()
            await send_letter(alert["alert_id"].encode(), dead_letter(
                f"alert not sent: non-finite number at {where}", ALERTS, -1, -1, json.dumps(alert).encode()))
        now = time.time()
        for alert in raised:
            metrics.ALERTS_OUT.labels(level=alert["level"]).inc()
            metrics.ALERT_LATENCY.labels(kind=alert["kind"]).observe(max(0.0, now - _event_time(alert)))
            await alerts.send(key=alert["alert_id"].encode(), value=alert)
        for h in ready:  # only now may the record's offset be committed
            h.handle[0].ack(app.consumer)

    async def release() -> None:
        nonlocal restored, tracked
        if not restored:  # tables are recovered before the first record reaches the agent
            items = dict(states.items())
            tracked = sum(":" not in k for k in items)
            metrics.ENTERPRISES.set(tracked)
            n = area_state.restore(items, parts)
            engine.context = IndustryContext.rebuilt(v for k, v in items.items() if ":" not in k and v)
            log.info("area state restored: %d keys; industry context from %d enterprises", n,
                     sum(engine.context.firms.values()))
            restored = True
            for batch in states.get(OUTBOX_KEY) or []:
                outbox.append(batch)
                for alert in batch:  # their state may have landed without them: the sink upserts, so resend
                    await alerts.send(key=alert["alert_id"].encode(), value=alert)
        forced = aligner.forced
        lagging = behind()
        ready = aligner.release(lagging)
        metrics.HELD.set(len(aligner))
        if aligner.forced > forced:
            metrics.RELEASED_EARLY.inc(aligner.forced - forced)
            log.warning("%d held events released by a bound, before a lagging partition caught up",
                        aligner.forced - forced)
        if ready:
            await score(ready)

    @app.agent(sources)
    async def score_enterprises(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(settings.batch_size, within=settings.batch_within):
            async with lock:
                started = time.perf_counter()
                metrics.BATCH_SIZE.observe(len(batch))
                failures = watcher.failures
                if watcher.poll():
                    engine.set_rules(watcher.rules)
                    metrics.RULES_VERSION.info({"version": watcher.rules.version})
                    metrics.RULE_RELOADS.inc()
                metrics.RULE_RELOAD_FAILURES.inc(watcher.failures - failures)
                for ev in batch:
                    msg = ev.message
                    aligner.read(msg.tp, msg.offset)
                    results = decode_many(msg.topic, ev.value, msg.partition, msg.offset)  # never raises
                    metrics.EVENTS_IN.labels(topic=msg.topic).inc(len(results))
                    metrics.LAST_SEEN.labels(topic=msg.topic).set(time.time())
                    for i, result in enumerate(results):
                        if isinstance(result, DeadLetter):
                            await send_letter(ev.key, result)
                            continue
                        if result.t > last_event.get(msg.topic, 0.0):
                            last_event[msg.topic] = result.t
                            metrics.LAST_EVENT.labels(topic=msg.topic).set(result.t)
                        payload = ev.value if len(results) == 1 else json.dumps(result.fields).encode()
                        msg.incref()  # held: take_events' ack must not let its offset be committed yet
                        aligner.hold(msg.tp, result.t, (msg.topic, msg.partition, msg.offset, i), result,
                                     (msg, ev.key, payload))
                await release()
                metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    @app.timer(interval=min(1.0, max(settings.align_idle, 0.1)))
    async def release_held() -> None:
        """Events held for a partition that was behind are released once it catches up, even if nothing new comes."""
        if len(aligner) and restored:
            async with lock:
                await release()

    return Pipeline(app=app, engine=engine, rules=watcher)


def _event_time(alert: dict) -> float:
    """The event time of the alert's latest change (Unix s): what the event-to-alert latency runs from."""
    try:
        return datetime.fromisoformat(alert.get("changed_at") or alert["raised_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return time.time()
