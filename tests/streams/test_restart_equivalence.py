"""A worker that restarts decides as one that never stopped (issue #19), whatever its batches were.

The worker's decisions (streams/worker_core.py) run here over a simulated
district in the order the stream releases events (event time, then topic and
offset), without a broker: once in small batches as a live stream sees them,
then in the batches of a worker catching up after a restart — thousands of
events spanning months — with restarts from what a kill -9 leaves: the state
table as of some batch plus a prefix of the next batch's writes, and source
offsets committed a few batches earlier, so some events are seen twice. The
alerts must be the same ids with the same final status and level.

Before this test, the fault runs through the real stack differed in up to 16
of 26 alerts after a kill -9, and nothing said why.
"""
from __future__ import annotations

import json
import random
from collections import Counter, defaultdict

import pytest

from detectors.engine import DecodedEvent, WageArrearsEngine
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules
from simulators.evaluation.logfiles import LineProblems, iter_lines
from simulators.evaluation.replay import encode
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from streams.decode import decode
from streams.worker_core import WorkerCore
from tests.e2e.test_faults import SCENARIO

Alerts = dict[str, tuple]


@pytest.fixture(scope="module")
def events() -> list[DecodedEvent]:
    """The fault suite's district, decoded as the worker does, in the aligner's release order."""
    lines = generate(load_scenario("yuhang", **SCENARIO)).lines
    offsets: Counter[str] = Counter()
    keyed = []
    for item in iter_lines(lines, "<log>", LineProblems()):
        topic, _, value = encode(item)
        event = decode(topic, value, 0, offsets[topic], now=4e9)
        if isinstance(event, DecodedEvent):
            keyed.append(((event.t, topic, offsets[topic]), event))
        offsets[topic] += 1
    keyed.sort(key=lambda x: x[0])
    return [e for _, e in keyed]


def fresh_core(rules) -> WorkerCore:
    return WorkerCore(WageArrearsEngine(rules))


def store(alerts: Alerts, raised: list[dict]) -> None:
    """As the sink keeps them: by id, the newest announcement (later ``changed_at``, then higher level)."""
    for a in raised:
        new = (a["kind"], a["subject_id"], a["status"], a["level"], a["changed_at"], a["level_rank"])
        old = alerts.get(a["alert_id"])
        if old is None or (new[4], new[5]) > (old[4], old[5]):
            alerts[a["alert_id"]] = new


def uninterrupted(events: list[DecodedEvent], rules, size: int) -> Alerts:
    core, table, alerts = fresh_core(rules), {}, {}
    for i in range(0, len(events), size):
        result = core.score(events[i:i + size], table)
        table.update(result.writes)
        store(alerts, result.alerts)
    return alerts


def interrupted(events: list[DecodedEvent], rules, seed: int, restarts: int) -> Alerts:
    """Random batch sizes (1 to 12,000 events: a catch-up batch spans months); ``restarts`` kill -9s, each leaving the table as of one batch
    plus a random prefix of the next batch's writes, and the commit up to two batches behind."""
    rng = random.Random(seed)
    sizes, n = [], 0
    while n < len(events):
        sizes.append(rng.choice([1, 7, 50, 400, 3000, 12000]))
        n += sizes[-1]
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    kills = sorted(rng.sample(range(2, len(sizes) - 1), restarts))
    core, table, alerts = fresh_core(rules), {}, {}
    k = 0
    while k < len(sizes):
        start = starts[k]
        result = core.score(events[start:start + sizes[k]], table)
        if kills and k == kills[0]:
            kills.pop(0)
            writes = list(result.writes.items())
            table.update(writes[:rng.randrange(len(writes) + 1)])    # a prefix of the batch's writes landed
            table = json.loads(json.dumps(table))                     # the changelog holds JSON, nothing else
            core = fresh_core(rules)
            store(alerts, core.restore(table))                        # the outbox is sent again
            k = max(0, k - rng.randrange(3))                          # offsets committed 0–2 batches before
            continue
        table.update(result.writes)
        store(alerts, result.alerts)                                  # sent once the writes are out
        k += 1
    return alerts


def diff(a: Alerts, b: Alerts) -> dict[str, list]:
    out = defaultdict(list)
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out[(a.get(key) or b.get(key))[0]].append((key, a.get(key), b.get(key)))
    return dict(out)


def test_batch_sizes_do_not_change_the_alerts(events):
    rules = load_rules(DEFAULT_RULES)
    live = uninterrupted(events, rules, 50)
    assert {v[0] for v in live.values()} >= {"wage_arrears", "complaint_surge", "group_incident"}
    assert diff(live, uninterrupted(events, rules, len(events))) == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_restarts_from_what_a_kill_leaves_do_not_change_the_alerts(events, seed):
    rules = load_rules(DEFAULT_RULES)
    assert diff(uninterrupted(events, rules, 50), interrupted(events, rules, seed, restarts=3)) == {}
