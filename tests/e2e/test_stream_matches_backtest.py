"""The stream and the backtest raise the same wage-arrears alerts on the same small scenario.

Precondition, measured: sources deliver roughly in time order, as real ones
do (the replay is paced at 5 simulated days per second). At 20 days/s one run
in three differed, and at full speed 3 of 5 alerts matched: the worker reads
the topics at different paces, and an event that arrives after a later one of
the same enterprise is aged into the state instead of rewinding it, so a
threshold crossing can move. Making decisions batch-invariant needs per-topic
watermarks and a persisted reorder buffer (noted on the issue).

Needs the real broker and worker (fixtures ``broker`` and ``worker`` in
tests/conftest.py); skipped while they are not there.
"""
from __future__ import annotations

import json
import time

import pytest

from simulators.evaluation.backtest import decode_log, run_engine
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from simulators.world.truth import epoch0

pytestmark = pytest.mark.e2e
PACE = 5 * 86400.0  # simulated seconds per real second: sources deliver in time order, as real ones do

OVERRIDES = {"enterprises": 400, "days": 120, "warmup_days": 30, "hotline_per_day": 20, "seed": 17,
             # exact comparison: no late, out-of-order or backfilled deliveries (duplicates and malformed stay)
             "faults.late_share": 0.0, "faults.outages": 0, "geography.district": "330108",
             "arrears.distress_rate": 0.3}


def _fixture(request, name):
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"fixture {name!r} is not provided yet (tests/conftest.py)")


def test_stream_and_backtest_give_the_same_alerts(request):
    broker = _fixture(request, "broker")
    _fixture(request, "worker")
    from kafka import KafkaConsumer

    from earlywarn.settings import DEFAULT_RULES
    from rules.loader import load_rules
    from simulators.evaluation.replay import replay

    s = load_scenario("yuhang", **OVERRIDES)
    gen = generate(s)
    run = run_engine(decode_log(gen.lines, epoch0(s.start)), load_rules(DEFAULT_RULES))
    want = {a.alert_id: a.episode_start for a in run.alerts}
    assert want, "the scenario must raise alerts to compare"

    ours = set(gen.district.uscc)
    replay(gen.lines, broker, speed=PACE, progress=False)
    consumer = KafkaConsumer("ew.alerts", bootstrap_servers=broker, auto_offset_reset="earliest",
                             group_id=None, consumer_timeout_ms=2000, session_timeout_ms=6000,
                             heartbeat_interval_ms=1000)
    got: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and set(got) != set(want):
        for msg in consumer:
            a = json.loads(msg.value)
            if (a.get("kind") == "wage_arrears" and a.get("level") != "closed"
                    and a.get("subject_id") in ours and a.get("rules_version") == run.rules_version):
                got.setdefault(a["alert_id"], a["raised_at"])
    consumer.close()
    print("stream", sorted(got.items()), "backtest", sorted(want.items()))
    assert set(got) == set(want)
    from datetime import datetime
    assert {k: datetime.fromisoformat(v).timestamp() for k, v in got.items()} == want
