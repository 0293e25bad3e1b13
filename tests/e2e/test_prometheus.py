"""The real Prometheus scraping the running pipeline (the session stack) with the shipped rules.

The alert rate is read back through Prometheus' HTTP API while alerts are raised, and one source of two that
were sending stops: the silent-source alert fires for it and not for the one that goes on. Test-only changes
to the shipped rules: every `for:` is 0 s, every group is evaluated each second, and the two sources' rhythm
is seconds, not a day and a week.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone

import httpx
import pytest
import yaml
from kafka import KafkaProducer

from earlywarn.identifiers import make_uscc
from earlywarn.prometheus import RULES_DIR
from earlywarn.samples import sliding_into_arrears
from tests.e2e.test_pipeline import wait_for

pytestmark = pytest.mark.e2e

STOPS, GOES_ON = "ew.public_opinion", "ew.enterprise_registry"
RHYTHM = {STOPS: 4, GOES_ON: 8}
"""seconds: silent after 6 s and 12 s; the feed sends both every 0.5 s, scraped every second"""


def rules_for_test(tmp_path) -> list:
    pipeline = yaml.safe_load((RULES_DIR / "pipeline.yml").read_text())
    for group in pipeline["groups"]:
        group.pop("interval", None)   # every group on the test's 1 s evaluation
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "0s"
    rhythm = yaml.safe_load((RULES_DIR / "source_rhythm.yml").read_text())
    for rule in rhythm["groups"][0]["rules"]:
        if rule["labels"]["topic"] in RHYTHM:
            rule["expr"] = f"vector({RHYTHM[rule['labels']['topic']]})"
    out = []
    for name, doc in (("pipeline.yml", pipeline), ("source_rhythm.yml", rhythm)):
        (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        out.append(tmp_path / name)
    return out


MOVED = [
    'sum(earlywarn_events_in_total{topic="ew.social_insurance_arrears"})',
    "sum(earlywarn_batch_processing_seconds_count)",
    "sum(earlywarn_batch_size_events_sum)",
    "sum(earlywarn_enterprises_tracked)",
    'sum(earlywarn_event_to_alert_seconds_count{kind="wage_arrears"})',
    'sum(earlywarn_source_last_event_timestamp_seconds{topic="ew.water_arrears"})',
    "sum(earlywarn_sink_alerts_stored_total)",
    "sum(earlywarn_sink_upsert_seconds_count)",
    'sum(earlywarn_api_requests_total{route="/metrics", status="200"})',
    "sum(earlywarn_alerts_stored)",
    "sum(earlywarn_cases_open)",
]
"""expressions that must be above 0 once the sample enterprise's alerts went through the stack"""


def enterprise_id() -> str:
    return make_uscc("91330110MA3" + uuid.uuid4().hex[:6].upper().replace("I", "1").replace("O", "0")
                     .replace("Z", "2").replace("S", "5").replace("V", "4"))


def feed(bootstrap: str, run: str, stop_one: threading.Event, stop_all: threading.Event) -> None:
    """Both sources every 0.5 s (fresh enterprises, a neutral opinion item) until told; then only one."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    n = 0
    try:
        while not stop_all.is_set():
            now = datetime.now(timezone.utc).isoformat()
            producer.send(GOES_ON, json.dumps({
                "event_id": f"{run}-reg-{n}", "occurred_at": now, "enterprise_id": enterprise_id(),
                "name": f"Metrics Probe {n}", "industry": "construction", "area_code": "330110001002003",
                "employees": 10}).encode())
            if not stop_one.is_set():
                producer.send(STOPS, json.dumps({
                    "event_id": f"{run}-op-{n}", "occurred_at": now, "area_code": "330110001002003",
                    "wage_related": False, "sentiment": 0.0, "reach": 1}).encode())
            producer.flush()
            n += 1
            stop_all.wait(0.5)
    finally:
        producer.close()


def targets(prometheus) -> list[dict]:
    return httpx.get(f"{prometheus.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]


def silent(prometheus, state: str) -> set[str]:
    return {a["labels"].get("topic") for a in prometheus.alerts()
            if a["labels"]["alertname"] == "EarlywarnSourceSilent" and a["state"] == state}


def test_prometheus_scrapes_the_pipeline_reads_the_alert_rate_and_pages_on_a_silent_source(
        stack, prometheus_for, tmp_path):
    prometheus = prometheus_for(stack, rules_for_test(tmp_path))
    up = wait_for(lambda: len([t for t in targets(prometheus) if t["health"] == "up"]) == 2, 30)
    assert up, targets(prometheus)
    assert {t["labels"]["job"] for t in targets(prometheus)} == {"earlywarn-worker", "earlywarn-api"}
    before = prometheus.query("sum(earlywarn_alerts_out_total)")
    run = uuid.uuid4().hex[:8]
    stop_one, stop_all = threading.Event(), threading.Event()
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    for topic, fields in sliding_into_arrears(enterprise_id(), run):   # raises alerts through the real worker
        producer.send(topic, json.dumps(fields).encode())
    producer.flush()
    producer.close()
    feeder = threading.Thread(target=feed, args=(stack.bootstrap, run, stop_one, stop_all), daemon=True)
    feeder.start()
    try:
        rate = wait_for(lambda: [s for s in prometheus.query("earlywarn:alerts_out:rate1m")
                                 if float(s["value"][1]) > 0], 60)
        raw = prometheus.query("sum(earlywarn_alerts_out_total)")
        assert rate, f"no alert rate in Prometheus (alerts sent {before} → {raw}); see {stack.workdir} and {tmp_path}"
        assert float(raw[0]["value"][1]) > (float(before[0]["value"][1]) if before else 0)

        # the rest of what the run moved, read back through Prometheus: worker, sink and API
        def value(expr: str) -> float:
            found = prometheus.query(expr)
            return float(found[0]["value"][1]) if found else 0.0
        moved = wait_for(lambda: all(value(e) > 0 for e in MOVED), 30)
        assert moved, {e: value(e) for e in MOVED}

        # both sources heard from, neither silent yet
        seen = wait_for(lambda: {s["metric"]["topic"] for s in prometheus.query("earlywarn:source_silence_seconds")}
                        >= {STOPS, GOES_ON}, 30)
        assert seen
        time.sleep(3)
        assert not silent(prometheus, "firing") & {STOPS, GOES_ON}

        stop_one.set()
        stopped = time.monotonic()
        fired = wait_for(lambda: STOPS in silent(prometheus, "firing"), 45)
        assert fired, f"EarlywarnSourceSilent did not fire for {STOPS}: {prometheus.alerts()}"
        assert time.monotonic() - stopped >= RHYTHM[STOPS] * 1.5 - 1   # not before its silence was long enough
        assert GOES_ON not in silent(prometheus, "firing") | silent(prometheus, "pending")
        alert = next(a for a in prometheus.alerts() if a["labels"].get("topic") == STOPS)
        assert alert["labels"]["severity"] == "page" and STOPS in alert["annotations"]["summary"]
    finally:
        stop_all.set()
        feeder.join(timeout=10)
    stack.check_alive()


def test_the_demo_starts_prometheus_with_the_shipped_rules_and_prints_its_url(stack, capsys):
    from earlywarn.demo import start_prometheus
    from earlywarn.settings import Settings

    prometheus = start_prometheus(stack, Settings(prometheus_port=0))
    assert prometheus is not None, capsys.readouterr().out
    try:
        assert f"Prometheus {prometheus.url}" in capsys.readouterr().out
        token_file = stack.workdir / "prometheus" / "api-token"
        assert token_file.stat().st_mode & 0o077 == 0      # the API token is for Prometheus' eyes only
        up = wait_for(lambda: len([t for t in targets(prometheus) if t["health"] == "up"]) == 2, 30)
        assert up, targets(prometheus)
        groups = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        names = {r["name"] for g in groups for r in g["rules"]}
        assert {"EarlywarnSourceSilent", "EarlywarnWorkerDown", "earlywarn:source_rhythm_seconds"} <= names
        firing = {a["labels"]["alertname"] for a in prometheus.alerts() if a["state"] == "firing"}
        assert not firing & {"EarlywarnWorkerDown", "EarlywarnApiDown"}   # (pending before the first scrape)
    finally:
        prometheus.stop()


def test_the_demo_says_how_to_install_prometheus_when_it_is_missing(stack, capsys, monkeypatch):
    import earlywarn.demo as demo
    from earlywarn.prometheus import PrometheusMissing
    from earlywarn.settings import Settings

    def missing(name: str) -> str:
        raise PrometheusMissing(f"{name} not found; install Debian's package: apt-get install prometheus")

    monkeypatch.setattr(demo, "binary", missing)
    assert demo.start_prometheus(stack, Settings(prometheus_port=0)) is None
    out = capsys.readouterr().out
    assert "apt-get install prometheus" in out and stack.worker_metrics_url in out
