"""The Faust app, built by one factory from one settings object.

One agent consumes every source topic in micro-batches (Faust's cost is per
message, DESIGN §7), decodes and validates each record, sends bad ones to the
dead-letter topic, hands the batch to the worker's decisions
(streams/worker_core.py: the wage-arrears engine touching each enterprise's
state once, the complaint-surge counter, the gathering watch), writes the
state they changed and sends alerts and the material score changes. A record that fails
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
import gc
import inspect
import json
import logging
import os
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust

from detectors.engine import WageArrearsEngine
from earlywarn.settings import Settings
from rules.loader import RuleWatcher
from streams import area_state, metrics
from streams.align import Aligner, Held
from streams.changelog_end import patch_faust_recovery, unread_on_broker
from streams.deadletter import DeadLetter, dead_letter, letter_key
from streams.fetch_watch import GENERATION_CHANGED, Dropped, watch_getmany
from streams.decode import decode_many
from streams.in_order_acks import InOrderAcks
from streams.offset_guard import OffsetGuard, Verdict
from streams.poison import non_finite
from streams.stall_watch import StallWatch, await_chain
from streams.worker_core import WorkerCore
from streams.topics import ALERTS, DEAD_LETTER, RISK_SCORES, SOURCE_TOPICS

log = logging.getLogger(__name__)
LONG_BATCH = 60.0
"""seconds after which a batch still running is reported with where the agent waits (a catch-up batch under
load takes a few seconds; a minute means something it awaits does not answer)"""


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
    core = WorkerCore(engine, score_feed_min_change=settings.score_feed_min_change)
    aligner = Aligner(max_held=settings.align_max_held, max_wait=settings.align_max_wait, idle=settings.align_idle)
    acks = InOrderAcks()
    guard = OffsetGuard()
    watch = StallWatch(after=settings.stall_after)
    batch_started: list[float] = []  # monotonic start of the batch the agent is in, if any (for the watch)
    faust_gap: list[Any] = []  # Faust's own _add_gap, kept for holes the broker confirms (see take_gaps)
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
    # "surge:" and "gathering:", and the outbox (the industry context is rebuilt from the enterprise states).
    # One changelog partition (EW_TOPIC_PARTITIONS=1) keeps its writes in order, so a kill -9 leaves a prefix
    # of them: a batch's outbox always lands before the state changes that raised its alerts.
    states = app.Table("worker-state", default=None, partitions=settings.topic_partitions, use_partitioner=True)
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
            read = next_read(tp)
            if highwater is None or highwater > read:  # None: not fetched yet, so it may hold earlier events
                out.append(tp)
            if highwater is not None:
                lag[tp.topic] += max(0, highwater - read)
        for topic, n in lag.items():
            metrics.CONSUMER_LAG.labels(topic=topic).set(n)
        return out

    def next_read(tp: Any) -> int:
        read = aligner.next_offset(tp)
        return read if read is not None else faust_commit(tp)

    def needed_from(tp: Any) -> int:
        """The offset the agent needs next from ``tp``: the guard's, or, with nothing delivered since the
        assignment, where it is read from (the commit)."""
        at = guard.expected(tp)
        return faust_commit(tp) if at is None else at

    def faust_commit(tp: Any) -> int:
        """The committed offset Faust knows for ``tp`` (read at assignment, moved by its commits), 0 if none."""
        return app.consumer._committed_offset.get(tp) or 0

    async def behind_on_broker(known: list[Any]) -> list[Any]:
        """Source partitions not in ``known`` with records on the broker now that this worker has not read.

        ``behind`` reads the fetcher's high-water marks, which are as of its last fetch of each partition; on
        a loaded machine, or while Faust has paused a partition because its buffer is full, that can be
        seconds old, and an event released on the ``idle`` rule overtook hotline complaints 36 simulated days
        older (issue #19). One ListOffsets request (the consumer's own, not the recovery's fetch) settles it.
        """
        tps = [tp for tp in app.consumer.assignment() if tp.topic in SOURCE_TOPICS and tp not in known]
        if not tps:
            return []
        try:
            listed = await app.consumer._thread.highwaters(*tps)
        except Exception:  # the broker is away: nothing new can come from it meanwhile either
            log.warning("partition ends not listed; trusting the fetcher's high-water marks", exc_info=True)
            return []
        return [tp for tp in tps if unread_on_broker(listed.get(tp), next_read(tp))]

    async def score(ready: list[Held]) -> None:
        """Score events released in event-time order, write their state, send what they raise, then ack."""
        nonlocal tracked
        origins = {id(h.event): h.handle for h in ready}
        result = core.score([h.event for h in ready], states)
        if settings.batch_log is not None:
            with open(settings.batch_log, "a") as f:
                f.write(json.dumps({"pid": os.getpid(), "events": [h.event.event_id for h in ready]}) + "\n")
        metrics.ENGINE_ERRORS.inc(result.reruns)
        metrics.DUPLICATES.inc(result.duplicates)
        for event, reason in result.failed:
            msg, key, payload = origins[id(event)]
            log.error("event %s on %s[%d]@%d dead-lettered: %s", event.event_id[:64], msg.topic, msg.partition,
                      msg.offset, reason[:300])
            await send_letter(key, dead_letter(reason, msg.topic, msg.partition, msg.offset, payload))
        tracked += sum(":" not in key and key not in states for key in result.writes)
        for key, size in area_state.too_large(result.writes, settings.state_value_max_bytes).items():
            metrics.STATE_WRITES_REFUSED.inc()
            log.error("state value %s not written: %d bytes of JSON, over EW_STATE_VALUE_MAX_BYTES=%d (kept in "
                      "memory; lost on restart)", key[:80], size, settings.state_value_max_bytes)
            del result.writes[key]
        area_state.apply(states, result.writes)
        metrics.ENTERPRISES.set(tracked)
        for update in result.feed:
            if non_finite(update) is not None:  # a detector bug: say so, keep the feed valid JSON
                metrics.ENGINE_ERRORS.inc()
                log.error("score update for %s held back: non-finite %s", update["enterprise_id"],
                          non_finite(update))
                continue
            await scores.send(key=update["enterprise_id"].encode(), value=update)
        for alert, where in result.broken:  # a detector bug; the sink would refuse it, so say so here
            metrics.ENGINE_ERRORS.inc()
            await send_letter(alert["alert_id"].encode(), dead_letter(
                f"alert not sent: non-finite number at {where}", ALERTS, -1, -1, json.dumps(alert).encode()))
        now = time.time()
        for alert in result.alerts:
            metrics.ALERTS_OUT.labels(level=alert["level"]).inc()
            metrics.ALERT_LATENCY.labels(kind=alert["kind"]).observe(max(0.0, now - _event_time(alert)))
            await alerts.send(key=alert["alert_id"].encode(), value=alert)
        for h in ready:  # only now, and in offset order, may the record's offset be committed
            acks.done(h.handle[0])

    async def release() -> None:
        nonlocal restored, tracked
        if not restored:  # tables are recovered before the first record reaches the agent
            resend = core.restore(dict(states.items()))
            tracked = sum(":" not in k for k in states)
            metrics.ENTERPRISES.set(tracked)
            log.info("state restored: %d keys; industry context from %d enterprises; %d alerts resent",
                     len(states), sum(engine.context.firms.values()), len(resend))
            restored = True
            for alert in resend:
                await alerts.send(key=alert["alert_id"].encode(), value=alert)
        forced = aligner.forced
        lagging = behind()
        if aligner.idle_due():
            lagging += await behind_on_broker(lagging)
        # before a silent partition lets the others pass it: seek it and wait once more. Not in a rebalance:
        # there the silence is Faust's (flow stopped), and Faust waits for the held events' acknowledgements
        # before it goes on, so only the bound's release ends it (README, Faults)
        for tp in [] if app.rebalancing else aligner.silent(lagging):
            aligner.grant(tp)
            at = needed_from(tp)
            log.warning("%s[%d]: behind and silent for %.0f s; seeking to %d again before events of other "
                        "partitions pass it", tp.topic, tp.partition, aligner.max_wait, at)
            metrics.STALLS.labels(topic=tp.topic).inc()
            await seek(tp, at)
        # a revocation (flow stopped) waits for the held events: let them go now, not after the bound
        ready = aligner.release(lagging, drain=app.rebalancing and not app.consumer.flow_active)
        metrics.HELD.set(len(aligner))
        if aligner.forced > forced:
            metrics.RELEASED_EARLY.inc(aligner.forced - forced)
            log.warning("%d held events released by a bound, before a lagging partition caught up%s",
                        aligner.forced - forced, " (in a rebalance, which waits for them)" if app.rebalancing else "")
        if ready:
            await score(ready)

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: Any, revoked: set, **kwargs: Any) -> None:
        """Held records of a partition given to another worker are dropped, not scored and acknowledged late:
        the new owner reads them again from the last commit."""
        dropped = sum(aligner.forget(tp) for tp in revoked)  # no await: atomic for the agent, which may be
        for tp in revoked:                                     # scoring (no lock: a rebalance must not wait on it)
            acks.forget(tp)
            guard.forget(tp)
            watch.forget(tp)
        if dropped:
            log.info("%d held events of %d revoked partition(s) dropped", dropped, len(revoked))

    @app.agent(sources)
    async def score_enterprises(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(settings.batch_size, within=settings.batch_within):
            async with lock:
                started = time.perf_counter()
                batch_started[:] = [time.monotonic()]
                metrics.BATCH_SIZE.observe(len(batch))
                failures = watcher.failures
                if watcher.poll():
                    engine.set_rules(watcher.rules)
                    metrics.RULES_VERSION.info({"version": watcher.rules.version})
                    metrics.RULE_RELOADS.inc()
                metrics.RULE_RELOAD_FAILURES.inc(watcher.failures - failures)
                acks.consumer = app.consumer
                take_gaps(app.consumer)
                for ev in batch:
                    msg = ev.message
                    if await verdict(msg) is not Verdict.TAKE:
                        msg.incref()  # never acknowledged, so never committed: it comes again after the seek
                        continue
                    aligner.read(msg.tp, msg.offset)
                    results = decode_many(msg.topic, ev.value, msg.partition, msg.offset)  # never raises
                    metrics.EVENTS_IN.labels(topic=msg.topic).inc(len(results))
                    metrics.LAST_SEEN.labels(topic=msg.topic).set(time.time())
                    held = 0
                    for i, result in enumerate(results):
                        if isinstance(result, DeadLetter):
                            await send_letter(ev.key, result)
                            continue
                        if result.t > last_event.get(msg.topic, 0.0):
                            last_event[msg.topic] = result.t
                            metrics.LAST_EVENT.labels(topic=msg.topic).set(result.t)
                        payload = ev.value if len(results) == 1 else json.dumps(result.fields).encode()
                        aligner.hold(msg.tp, result.t, (msg.topic, msg.partition, msg.offset, i), result,
                                     (msg, ev.key, payload))
                        held += 1
                    acks.read(msg.tp, msg, held)  # take_events' own ack must not let its offset be committed
                await seek_holes()
                await release()
                batch_started.clear()
                metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    score_enterprises_code = score_enterprises.fun.__code__
    agent_coroutine: list[weakref.ref] = []

    def take_gaps(consumer: Any) -> None:
        """Faust must not count a jump in offsets as acknowledged (streams/offset_guard.py): the guard decides."""
        if not faust_gap:
            faust_gap.append(consumer._add_gap)

            async def no_gap(tp: Any, offset_from: int, offset_to: int) -> None:
                return None
            consumer._add_gap = no_gap

    async def verdict(msg: Any) -> Verdict:
        """Is ``msg`` the next record of its partition (streams/offset_guard.py)?"""
        found = guard.check(msg.tp, msg.offset)
        if found is Verdict.UNKNOWN:
            guard.start(msg.tp, await start_offset(msg.tp))
            found = guard.check(msg.tp, msg.offset)
        if found is Verdict.HOLE:
            metrics.OFFSET_HOLES.labels(event="record_dropped").inc()
        return found

    async def start_offset(tp: Any) -> int:
        """Where reading ``tp`` starts: the group's committed offset on the broker, else the log start."""
        thread = app.consumer._thread
        try:  # aiokafka retries a retriable answer for ever: bounded, the agent is never stuck on it
            committed = await asyncio.wait_for(thread.call_thread(thread._ensure_consumer().committed, tp), 15)
            if committed is None or committed < 0:
                committed = (await asyncio.wait_for(thread.earliest_offsets(tp), 15)).get(tp, 0)
        except Exception:  # the broker is away: Faust sought to the commit it knows (a hole there is sought)
            log.warning("committed offset of %s[%d] not read; using Faust's", tp.topic, tp.partition, exc_info=True)
            committed = faust_commit(tp)
        log.info("%s[%d]: reading from offset %d", tp.topic, tp.partition, committed)
        return committed

    async def seek_holes() -> None:
        """Seek every partition with a hole back to it, unless the broker no longer holds the records."""
        due = guard.seek_due(time.monotonic())
        if not due:
            return
        try:
            starts = await app.consumer._thread.earliest_offsets(*due)
        except Exception:
            log.warning("log starts not listed; seeking back anyway", exc_info=True)
            starts = {}
        for tp, at in due.items():
            gone = guard.log_starts_at(tp, starts.get(tp, 0))
            if gone:
                log.error("%s[%d]: offsets %d-%d are no longer on the broker; skipped", tp.topic, tp.partition,
                          at, at + gone - 1)
                metrics.OFFSET_HOLES.labels(event="offsets_gone").inc(gone)
                if faust_gap:  # let the commit pass them
                    await faust_gap[0](tp, at, at + gone - 1)
            metrics.OFFSET_HOLES.labels(event="seek").inc()
            log.warning("%s[%d]: records from offset %d never reached the agent; reading them again",
                        tp.topic, tp.partition, at)
            await seek(tp, guard.expected(tp))

    async def seek(tp: Any, offset: int) -> None:
        """Seek ``tp`` in the consumer's own thread.

        Faust's ``Consumer.seek`` calls aiokafka's from this thread while the consumer thread may be inside
        ``Fetcher.fetched_records``: a seek back to a hole once crashed a worker's fetcher there with a
        KeyError (fault suite, stop 32). Faust's own seeks at assignment go through ``call_thread``; so do these.
        """
        thread = app.consumer._thread
        try:
            await asyncio.wait_for(thread.call_thread(thread._ensure_consumer().seek, tp, offset), 15)
            app.consumer._read_offset[tp] = offset if offset else None  # as Faust's seek does
        except Exception:  # not assigned any more; the next owner starts from the commit
            log.warning("seek of %s[%d] failed", tp.topic, tp.partition, exc_info=True)

    async def read_dropped_again(dropped: list[Dropped]) -> None:
        """Records Faust fetched and dropped before the agent (streams/fetch_watch.py): sought back at once, from
        the agent's next offset if the guard knows it (records handed on but still queued come twice; the guard
        drops them), where the partition is still ours. Source partitions only: the table's changelog is
        Faust's own to read. Not after a new generation: its assignment seeks every partition to the commit,
        and a seek of ours landing after that one would only make a hole for the guard to seek back to."""
        try:
            assigned = set(app.consumer.assignment())
            for d in dropped:
                if d.tp.topic not in SOURCE_TOPICS:
                    continue
                metrics.OFFSET_HOLES.labels(event="not_handed_on").inc(d.count)
                log.warning("%s[%d]: Faust fetched offsets %d-%d (%d records) and dropped them before the agent "
                            "(%s); reading them again", d.tp.topic, d.tp.partition, d.first, d.last, d.count,
                            d.reason)
                if d.tp in assigned and d.reason != GENERATION_CHANGED:
                    expected = guard.expected(d.tp)
                    await seek(d.tp, d.first if expected is None else min(expected, d.first))
        except Exception:  # a watch must never stop the worker it watches
            log.exception("records dropped by Faust not sought again")

    watch_getmany(app.consumer, read_dropped_again)

    @app.timer(interval=min(10.0, settings.stall_after / 4))
    async def kick_stalled() -> None:
        """A source partition whose records wait on the broker and reach no agent is sought again, and fetched
        again if Faust had set it aside (streams/stall_watch.py); a batch that does not end is reported."""
        try:
            await watch_partitions()
        except Exception:  # a watch must never stop the worker it watches
            log.exception("stall watch failed")

    async def watch_partitions() -> None:
        now = time.monotonic()
        if batch_started and now - batch_started[0] > LONG_BATCH:
            log.error("a batch has run %.0f s; the agent waits at:\n%s", now - batch_started[0], agent_stack())
            batch_started[0] = now  # said once a minute
        if app.rebalancing or app.in_recovery:
            watch.reset()  # nothing is read meanwhile, by design
            return
        if batch_started:  # the agent is busy: judged at a tick between batches (the clocks run on meanwhile)
            return
        tps = [tp for tp in app.consumer.assignment() if tp.topic in SOURCE_TOPICS]
        if not tps:
            return
        try:
            ends = await asyncio.wait_for(app.consumer._thread.highwaters(*tps), 15)
        except Exception as exc:  # the broker is away: nothing can be read meanwhile, stuck or not
            log.warning("partition ends not listed for the stall watch: %r", exc)
            return
        for tp in tps:
            at = needed_from(tp)
            if watch.observe(tp, at, ends.get(tp), now):
                await kick(tp, at, ends[tp])

    def agent_stack() -> str:
        """Where the agent waits now: what a stall report needs to be fixed (never raises: a report only)."""
        try:
            return find_agent_stack()
        except Exception as exc:
            return f"  (not found: {exc!r})\n"

    def find_agent_stack() -> str:
        # Faust's task awaits an actor object, where an await chain from the task ends: start at the agent's
        # own coroutine, found by one walk of the heap (slow: once per worker life) and kept by a weak reference
        agent = agent_coroutine[0]() if agent_coroutine else None
        if agent is None:
            found = [o for o in gc.get_objects() if inspect.iscoroutine(o) and o.cr_code is score_enterprises_code]
            if not found:
                return "  (no agent coroutine)\n"
            agent = found[0]
            agent_coroutine[:] = [weakref.ref(agent)]
        return "".join(f"  {line}\n" for line in await_chain(agent))

    def fetcher_view(tp: Any) -> str:
        """aiokafka's own state of ``tp`` (read across threads, for a report only; never raises). Why: Faust's view
        said "fetching, not paused, buffer not full" for each stall seen so far; the cause is below it."""
        try:
            consumer = app.consumer._thread._ensure_consumer()
            fetcher = consumer._fetcher
            state = consumer._subscription.subscription.assignment.state_value(tp)
            held = fetcher._records.get(tp)
            return (f"position {state.position if state.has_valid_position else None}, awaiting reset "
                    f"{state.awaiting_reset}, paused {state.paused}, fetched and not taken "
                    f"{type(held).__name__ if held is not None else None}, nodes in flight "
                    f"{sorted(fetcher._in_flight)}, partitions with fetched records {len(fetcher._records)}")
        except Exception as exc:
            return f"(not read: {exc!r})"

    async def kick(tp: Any, at: int, end: int) -> None:
        """Seek ``tp`` to ``at`` again, where the agent needs it, and take it back if Faust had set it aside."""
        consumer = app.consumer
        try:
            start = (await asyncio.wait_for(consumer._thread.earliest_offsets(tp), 15)).get(tp, 0)
        except Exception:
            start = 0
        target = max(at, start)  # retention may have taken the first of them
        if target >= end:  # and all that was waiting: nothing is stuck
            watch.forget(tp)
            return
        active = tp in (consumer._active_partitions or ())
        log.error("%s[%d]: offsets %d-%d wait on the broker and none reached the agent in %.0f s (fetching: %s, "
                  "paused: %s, buffer full: %s); seeking to %d again", tp.topic, tp.partition, at, end - 1,
                  watch.after, active, tp in consumer._paused_partitions, tp in consumer._buffered_partitions,
                  target)
        log.error("the agent waits at:\n%s", agent_stack())
        log.error("%s[%d] in aiokafka: %s", tp.topic, tp.partition, fetcher_view(tp))
        metrics.STALLS.labels(topic=tp.topic).inc()
        if not active:  # the agent is idle, so Faust's buffer cannot be what holds it
            consumer._buffered_partitions.discard(tp)
            consumer.resume_partitions({tp})
        await seek(tp, target)

    @app.timer(interval=min(1.0, max(settings.align_idle, 0.1)))
    async def release_held() -> None:
        """Events held for a partition that was behind are released once it catches up, even if nothing new
        comes; a hole that a seek has not yet filled is sought again."""
        if (len(aligner) or guard.open_holes()) and restored:
            async with lock:
                await seek_holes()
                await release()

    return Pipeline(app=app, engine=engine, rules=watcher)


def _event_time(alert: dict) -> float:
    """The event time of the alert's latest change (Unix s): what the event-to-alert latency runs from."""
    try:
        return datetime.fromisoformat(alert.get("changed_at") or alert["raised_at"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return time.time()
