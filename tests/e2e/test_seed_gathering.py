"""The seed case end to end (issue #23; source 000: L297–305): 35 people gather at 09:00, 120 at 09:10 at one
place; the worker is killed -9 between the two reports. A level-1 (red) group-incident alert must be readable
in the API within 5 seconds of the second report: the first count survived the restart in the worker's table.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from kafka import KafkaProducer

from earlywarn.settings import Settings
from earlywarn.stack import Stack
from tests.alerts_api.test_sink import wait_until
from tests.fault_run import kill_worker

pytestmark = pytest.mark.e2e
CST = timezone(timedelta(hours=8))
AREA = "330110001002003"


def report(run: str, n: int, at: datetime, headcount: int) -> dict:
    return {"event_id": f"{run}-gat-{n}", "occurred_at": at.isoformat(), "source": "grid", "area_code": AREA,
            "gathering_id": f"g-seed-{run}", "headcount": headcount, "cause": "construction_payment"}


def send(bootstrap: str, topic: str, value: dict) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.send(topic, json.dumps(value).encode())
    producer.flush()
    producer.close()


def counted(metrics_url: str, topic: str) -> float:
    """The worker's ``earlywarn_events_in_total`` for ``topic`` (0 while it is not up)."""
    try:
        text = httpx.get(metrics_url, timeout=2).text
    except httpx.HTTPError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("earlywarn_events_in_total{") and f'topic="{topic}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def answers(url: str) -> str:
    """Whether ``url`` answers: tells a worker without metrics from one that reads nothing."""
    try:
        return f"answered {httpx.get(url, timeout=2).status_code}"
    except httpx.HTTPError as exc:
        return f"did not answer ({exc!r})"


def test_35_then_120_people_across_a_worker_restart_is_a_level_1_alert_within_5_seconds(tmp_path):
    run = uuid.uuid4().hex[:8]
    today = datetime.now(CST).replace(hour=9, minute=0, second=0, microsecond=0)
    if today > datetime.now(CST):
        today -= timedelta(days=1)   # before 09:10 local: yesterday's morning, never a future report
    settings = Settings(data_dir=tmp_path, batch_within=0.2, api_port=0, metrics_port=0, log_level="info")
    with Stack(settings, tmp_path) as stack, stack.client() as api:
        def gathering_alerts() -> list[dict]:
            items = api.get("/alerts", params={"kind": "group_incident", "limit": 100}).json()["items"]
            return [a for a in items if a["subject_id"] == f"g-seed-{run}"]

        topic = "ew.gathering_report"
        send(stack.bootstrap, topic, report(run, 1, today, 35))
        assert wait_until(lambda: counted(stack.worker_metrics_url, topic) >= 1, 90), "the worker never read report 1"
        time.sleep(3)   # scored and its state written (a batch within 0.2 s, plus the aligner's idle)
        assert gathering_alerts() == []   # 35 people at a first count: not yet a crowd to send people to

        kill_worker(stack)   # kill -9; a new worker recovers the table
        probe = report(run, 0, today - timedelta(minutes=30), 3) | {"gathering_id": f"g-probe-{run}"}
        send(stack.bootstrap, topic, probe)   # a small unrelated gathering: tells us the new worker is reading
        assert wait_until(lambda: counted(stack.worker_metrics_url, topic) >= 1, 120), (
            f"the new worker never counted the probe; its /metrics {answers(stack.worker_metrics_url)}")

        send(stack.bootstrap, topic, report(run, 2, today + timedelta(minutes=10), 120))
        sent = time.monotonic()
        alerts = wait_until(gathering_alerts, 30, every=0.05)
        waited = time.monotonic() - sent
        stack.check_alive()
    print(f"seed case: alert readable {waited:.2f} s after the second report")
    assert alerts, "no group-incident alert for the gathering"
    (alert,) = alerts
    assert alert["level"] == "red" and alert["kind"] == "group_incident"
    assert "35" in json.dumps(alert["reasons"]) and "120" in json.dumps(alert["reasons"])   # both counts, one growth
    assert waited < 5.0, f"alert readable {waited:.1f} s after the second report"
