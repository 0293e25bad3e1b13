"""``earlywarn replay`` of a recorded log through the real broker and worker: the API ends up with the alerts
the batch backtest reports on the same files (issue #13)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest

from simulators.commands import backtest, write_scenario
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from tests.e2e.test_pipeline import every_alert

pytestmark = pytest.mark.e2e

OVERRIDES = {"enterprises": 300, "days": 100, "warmup_days": 20, "hotline_per_day": 15, "seed": 23,
             "arrears.distress_rate": 0.3, "faults.late_share": 0.0, "faults.outages": 0, "geography.district": "330106"}
"""Small, with duplicate and malformed deliveries but none late or backfilled.

Measured: with late deliveries kept, the stream agreed with the backtest when
this test ran alone but not after the other e2e tests, when the worker lagged
and late complaints fell into a different micro-batch than in the backtest's
day batches (one of 8 alerts raised 8 days apart). The engine ages a late
event instead of rewinding, so a crossing time depends on batch composition;
fixing that needs per-topic watermarks (see the issue note)."""
SPEED = 5 * 86400
"""Five log days per second: the stream gets day after day, as in production, and the test takes ~20 s."""


def api_alerts(client, ours: set[str]) -> dict[str, dict]:
    return {a["alert_id"]: a for a in every_alert(client) if a["subject_id"] in ours and a["kind"] == "wage_arrears"}


def test_replayed_log_gives_the_backtest_alerts_in_the_api(stack, tmp_path):
    gen = generate(load_scenario("yuhang", **OVERRIDES))
    write_scenario(gen, tmp_path)
    ours = set(gen.district.uscc)

    report = backtest(events=tmp_path / "events.jsonl", truth=tmp_path / "truth.json", progress=False,
                      keep_scores=True)
    run = report.pop("_run")
    want = {a.alert_id: (a.subject_id, a.episode_start, a.last_level) for a in run.alerts}
    assert want, "the log must raise alerts to compare"
    assert report["dead_letters"] > 0, "the log should carry malformed lines for the dead-letter path"

    env = {**os.environ, "EW_KAFKA_BROKER": stack.bootstrap}
    done = subprocess.run([sys.executable, "-m", "earlywarn.cli", "replay", "--events", str(tmp_path),
                           "--speed", str(SPEED)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sent = json.loads(done.stdout)
    assert sent["sent"] == report["events"] - report["skipped_lines"]["lines"] + report["dead_letters"]

    def observed(client) -> dict[str, tuple]:
        return {k: (a["subject_id"], datetime.fromisoformat(a["raised_at"]).timestamp(), a["level"])
                for k, a in api_alerts(client, ours).items() if a["rules_version"] == run.rules_version}

    with stack.client() as client:
        deadline = time.monotonic() + 90
        got = observed(client)
        while got != want and time.monotonic() < deadline:
            time.sleep(2)
            got = observed(client)
    only_api = sorted((k, got[k]) for k in set(got) - set(want))
    only_backtest = sorted((k, want[k]) for k in set(want) - set(got))
    differ = sorted((k, want[k], got[k]) for k in set(want) & set(got) if want[k] != got[k])
    assert got == want, (f"API only: {only_api}\nbacktest only: {only_backtest}\ndiffer (backtest, API): {differ}\n"
                         f"worker logs: {stack.workdir}")
    stack.check_alive()
