"""The worker's alert outbox (streams/alert_outbox.py): no table value the producer would refuse, the last
batches' alerts back after a restart, old batches deleted."""
from __future__ import annotations

import json

from bench.stream_throughput import make_events
from detectors.engine import WageArrearsEngine
from earlywarn.settings import Settings
from rules.loader import RuleWatcher
from streams import area_state
from streams.alert_outbox import LEGACY_KEY, AlertOutbox, chunks
from streams.decode import decode_many
from streams.worker_core import WorkerCore

PRODUCER_LIMIT = 1_048_576   # aiokafka's default max_request_size


def alert(i: int, pad: int = 900) -> dict:
    return {"alert_id": f"EW-{i:06d}", "kind": "wage_arrears", "reasons": ["x" * pad]}


def test_chunks_keep_order_and_stay_under_the_limit():
    alerts = [alert(i, pad=i % 3000) for i in range(500)]
    cut = list(chunks(alerts, 20_000))
    assert [a for c in cut for a in c] == alerts
    assert all(len(json.dumps(c)) <= 20_000 for c in cut)
    assert list(chunks([alert(0, pad=50_000)], 20_000)) == [[alert(0, pad=50_000)]]   # too big alone: alone


def test_a_batch_of_thousands_of_alerts_is_written_in_values_the_producer_accepts():
    outbox = AlertOutbox()
    writes = outbox.add([alert(i) for i in range(3000)])    # ≈2.8 MB of alerts in one catch-up batch
    assert len(json.dumps([alert(i) for i in range(3000)])) > 2 * PRODUCER_LIMIT
    assert len(writes) > 10 and all(len(json.dumps(v)) <= outbox.chunk_bytes for v in writes.values())


def test_only_the_last_batches_are_kept_and_the_rest_deleted():
    outbox, table = AlertOutbox(batches=3, chunk_bytes=5_000), {}
    for b in range(6):
        writes = outbox.add([alert(100 * b + i) for i in range(12)])
        assert list(writes.values())[0] is not None           # new keys before deletions: the order they land in
        area_state.apply(table, writes)
    batches = {k.split(":")[1] for k in table}
    assert len(batches) == 3
    restored = AlertOutbox(batches=3).restore(table)
    assert [a["alert_id"] for a in restored] == [alert(100 * b + i)["alert_id"] for b in (3, 4, 5) for i in range(12)]


def test_a_restart_takes_up_the_outbox_and_its_numbering():
    outbox, table = AlertOutbox(), {}
    area_state.apply(table, outbox.add([alert(1)]))
    again = AlertOutbox()
    assert again.restore(table) == [alert(1)]
    area_state.apply(table, again.add([alert(2)]))
    assert len(table) == 2 and AlertOutbox().restore(table) == [alert(1), alert(2)]


def test_the_one_value_outbox_of_earlier_versions_is_read_then_deleted():
    table = {LEGACY_KEY: [[alert(1)], [alert(2), alert(3)]], "91330110MA0000001X": {"state": 1}}
    outbox = AlertOutbox()
    assert outbox.restore(table) == [alert(1), alert(2), alert(3)]
    writes = outbox.add([alert(4)])
    assert writes[LEGACY_KEY] is None
    area_state.apply(table, writes)
    assert LEGACY_KEY not in table and AlertOutbox().restore(table) == [alert(4)]


def test_the_worker_keeps_a_catch_up_batch_of_many_alerts_in_values_under_the_limit():
    """Two catch-up batches of the throughput benchmark's district: the old single-value outbox was 2.4 MB
    on it and the changelog send took the worker down."""
    settings = Settings()
    core = WorkerCore(WageArrearsEngine(RuleWatcher(settings.rules_file).rules, dedup=settings.dedup_per_enterprise))
    events = [r for i, (topic, raw) in enumerate(make_events(24_000, 1_000)) for r in decode_many(topic, raw, 0, i)]
    events.sort(key=lambda e: e.t)
    table: dict = {}
    sent = []
    for batch in (events[:12_000], events[12_000:]):
        result = core.score(batch, table)
        sent += result.alerts
        assert all(len(json.dumps(v)) < core.outbox.chunk_bytes for v in result.writes.values() if v is not None)
        area_state.apply(table, result.writes)
    assert len(json.dumps(sent)) > PRODUCER_LIMIT
    assert WorkerCore(core.engine).restore(table) == sent
