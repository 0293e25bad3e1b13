"""Write the Grafana dashboards in grafana/dashboards/ from this one description.

Run ``python grafana/generate.py`` after changing a panel; a test checks the
JSON files are what this writes. Panels read the worker's and the API's
metrics directly (never a recording rule), so every expression can be
checked against a live scrape (tests/grafana/test_dashboards.py).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "earlywarn-prometheus"}
"""the datasource provisioned by grafana/provisioning/datasources/earlywarn.yml"""

CURRENT_RULES = 'label_replace(max by (version) (earlywarn_rules_info), "rules_version", "$1", "version", "(.*)")'
"""the rule version the worker has in force, as a ``rules_version`` label"""


@dataclass
class Panel:
    title: str
    exprs: list[tuple[str, str]]
    """(PromQL, legend) per series"""
    kind: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    extra: dict = field(default_factory=dict)


def _panel(p: Panel, pid: int, x: int, y: int) -> dict:
    targets = [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend,
                **({"instant": True, "format": "table"} if p.kind == "table" else {})}
               for i, (expr, legend) in enumerate(p.exprs)]
    return {"id": pid, "type": p.kind, "title": p.title, "description": p.description, "datasource": DATASOURCE,
            "gridPos": {"x": x, "y": y, "w": p.width, "h": p.height}, "targets": targets,
            "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []}, "options": p.extra}


def dashboard(uid: str, title: str, description: str, rows: list[tuple[str, list[Panel]]],
              variables: list[dict] | None = None) -> dict:
    """A dashboard of titled rows; panels flow left to right, 24 columns wide."""
    panels, pid, y = [], 1, 0
    for row_title, row in rows:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
        pid, y, x, tallest = pid + 1, y + 1, 0, 0
        for p in row:
            if x + p.width > 24:
                x, y, tallest = 0, y + tallest, 0
            panels.append(_panel(p, pid, x, y))
            pid, x, tallest = pid + 1, x + p.width, max(tallest, p.height)
        y += tallest
    return {"uid": uid, "title": title, "description": description, "tags": ["earlywarn"], "editable": True,
            "schemaVersion": 39, "version": 1, "time": {"from": "now-6h", "to": "now"}, "refresh": "30s",
            "timezone": "browser", "templating": {"list": variables or []}, "annotations": {"list": []},
            "panels": panels}


def district_variable() -> dict:
    return {"name": "district", "label": "district (county code)", "type": "query", "datasource": DATASOURCE,
            "query": {"query": "label_values(earlywarn_cases_open, district)", "refId": "district"},
            "definition": "label_values(earlywarn_cases_open, district)", "includeAll": True, "multi": True,
            "allValue": ".*", "current": {"text": "All", "value": "$__all"}, "refresh": 2}


def pipeline_health() -> dict:
    rate = "[5m]"
    return dashboard("earlywarn-pipeline", "earlywarn — pipeline health",
                     "Is the pipeline taking in every source, on time, and turning events into stored alerts?", [
        ("Processes and sources", [
            Panel("Targets up", [('up{job=~"earlywarn-.*"}', "{{job}} {{instance}}")], kind="stat", width=6,
                  description="1 = Prometheus scraped it; the EarlywarnWorkerDown/ApiDown alerts page on 0"),
            Panel("Store reachable", [("earlywarn_store_up", "store")], kind="stat", width=6),
            Panel("Rule version in force", [("earlywarn_rules_info", "{{version}}")], kind="stat", width=6,
                  extra={"textMode": "name"}),
            Panel("Enterprises tracked", [("earlywarn_enterprises_tracked", "enterprises")], kind="stat", width=6),
            Panel("Silence per source", [("time() - max by (topic) (earlywarn_source_last_seen_timestamp_seconds)",
                                          "{{topic}}")], kind="bargauge", unit="s", width=12,
                  description="seconds since the worker last read a record of each source (EarlywarnSourceSilent "
                              "fires at 1.5x the source's rhythm, rules/prometheus/source_rhythm.yml)"),
            Panel("Events in per topic", [(f"sum by (topic) (rate(earlywarn_events_in_total{rate}))", "{{topic}}")],
                  unit="ops", width=12),
        ]),
        ("Worker", [
            Panel("Dead letters per topic and reason",
                  [(f"sum by (topic, reason) (rate(earlywarn_dead_letters_total{rate}))", "{{topic}} {{reason}}")],
                  unit="ops"),
            Panel("Consumer lag per topic", [("sum by (topic) (earlywarn_consumer_lag_records)", "{{topic}}")]),
            Panel("Batch size (p50, p95)", [
                (f"histogram_quantile(0.5, sum by (le) (rate(earlywarn_batch_size_events_bucket{rate})))", "p50"),
                (f"histogram_quantile(0.95, sum by (le) (rate(earlywarn_batch_size_events_bucket{rate})))", "p95")],
                  width=8),
            Panel("Batch processing (p50, p95)", [
                (f"histogram_quantile(0.5, sum by (le) (rate(earlywarn_batch_processing_seconds_bucket{rate})))",
                 "p50"),
                (f"histogram_quantile(0.95, sum by (le) (rate(earlywarn_batch_processing_seconds_bucket{rate})))",
                 "p95")], unit="s", width=8),
            Panel("Event time to alert (p50 by kind)", [
                (f"histogram_quantile(0.5, sum by (le, kind) (rate(earlywarn_event_to_alert_seconds_bucket{rate})))",
                 "{{kind}}")], unit="s", width=8,
                  description="a replayed history shows its age here; a live feed should sit at seconds"),
            Panel("Held for event-time order, released early, holes sought back", [
                ("earlywarn_events_held", "held"),
                (f"rate(earlywarn_events_released_early_total{rate})", "released early /s"),
                (f"sum by (event) (rate(earlywarn_offset_holes_total{rate}))", "holes: {{event}} /s")], width=8,
                  description="a seek back to a hole Faust left is routine; offsets_gone means records lost"),
            Panel("Engine errors, duplicates, dead letters refused", [
                (f"rate(earlywarn_engine_errors_total{rate})", "engine errors"),
                (f"rate(earlywarn_duplicate_events_total{rate})", "duplicates"),
                (f"rate(earlywarn_dead_letters_unsent_total{rate})", "dead letters unsent"),
                (f"rate(earlywarn_state_writes_refused_total{rate})", "state values not saved")], unit="ops", width=8),
            Panel("Rule reloads and refusals", [
                ("earlywarn_rule_reloads_total", "reloaded"),
                ("earlywarn_rule_reload_failures_total", "refused")], width=8),
        ]),
        ("Alert sink and API", [
            Panel("Alerts sent, stored, rejected", [
                (f"sum(rate(earlywarn_alerts_out_total{rate}))", "sent by the worker"),
                (f"rate(earlywarn_sink_alerts_stored_total{rate})", "stored by the sink"),
                (f"rate(earlywarn_sink_alerts_rejected_total{rate})", "rejected by the sink")], unit="ops", width=8),
            Panel("Sink upsert (p95) and lag", [
                (f"histogram_quantile(0.95, sum by (le) (rate(earlywarn_sink_upsert_seconds_bucket{rate})))",
                 "upsert p95 (s)"),
                ("earlywarn_sink_lag_records", "alerts not yet stored")], width=8),
            Panel("Notifications sent and failed", [
                (f"sum by (channel) (rate(earlywarn_notifications_sent_total{rate}))", "sent {{channel}}"),
                (f"sum by (channel) (rate(earlywarn_notifications_failed_total{rate}))", "failed {{channel}}")],
                  unit="ops", width=8),
            Panel("API requests by route and status",
                  [(f"sum by (route, status) (rate(earlywarn_api_requests_total{rate}))", "{{route}} {{status}}")],
                  unit="reqps"),
            Panel("API latency (p95 by route)", [
                (f"histogram_quantile(0.95, sum by (le, route) (rate(earlywarn_api_request_seconds_bucket{rate})))",
                 "{{route}}")], unit="s"),
        ]),
    ])


def risk_overview() -> dict:
    d = 'district=~"$district"'
    return dashboard("earlywarn-risk", "earlywarn — risk overview",
                     "Where risk is now: alerts and open cases by level and district, overdue cases, and how often "
                     "warnings were right.", [
        ("Now", [
            Panel("Open cases by level", [(f"sum by (level) (earlywarn_cases_open{{{d}}})", "{{level}}")],
                  kind="stat", width=8),
            Panel("Overdue cases", [(f"sum(earlywarn_cases_overdue{{{d}}})", "overdue")], kind="stat", width=4),
            Panel("Effective warning rate, rules in force",
                  [(f"earlywarn_effective_warning_rate * on (rules_version) group_left () {CURRENT_RULES}",
                    "{{rules_version}}")], kind="stat", unit="percentunit", width=6),
            Panel("Alerts raised in the last day by level",
                  [("sum by (level) (increase(earlywarn_alerts_out_total[1d]))", "{{level}}")], kind="stat",
                  width=6),
        ]),
        ("Where", [
            Panel("Open cases by district and level", [(f"sum by (district, level) (earlywarn_cases_open{{{d}}})",
                                                        "")], kind="table", width=12),
            Panel("Overdue cases by district", [(f"sum by (district) (earlywarn_cases_overdue{{{d}}})",
                                                 "{{district}}")], kind="bargauge", width=12),
            Panel("Open cases over time by level", [(f"sum by (level) (earlywarn_cases_open{{{d}}})", "{{level}}")]),
            Panel("Alerts in the store by district and level",
                  [(f'sum by (district, level) (earlywarn_alerts_stored{{{d}, level!="closed"}})',
                    "{{district}} {{level}}")]),
        ]),
        ("Were the warnings right?", [
            Panel("Effective and strict warning rate over time, rules in force", [
                (f"earlywarn_effective_warning_rate * on (rules_version) group_left () {CURRENT_RULES}",
                 "effective {{rules_version}}"),
                (f"earlywarn_strict_warning_rate * on (rules_version) group_left () {CURRENT_RULES}",
                 "strict {{rules_version}}")], unit="percentunit", width=24,
                  description="(arrears confirmed + hidden risk) / verified; strict: arrears confirmed / verified "
                              "(DESIGN §2). EarlywarnEffectiveWarningRateFalling fires on a 5-point fall in 7 days."),
        ]),
    ], variables=[district_variable()])


def detector_tuning() -> dict:
    return dashboard("earlywarn-tuning", "earlywarn — detector tuning",
                     "Per rule version: how many alerts, what inspectors found, effective and strict rate.", [
        ("Per rule version", [
            Panel("Alerts stored by rule version and kind",
                  [("sum by (rules_version, kind) (earlywarn_alerts_stored)", "{{rules_version}} {{kind}}")]),
            Panel("Verification outcomes by rule version",
                  [("sum by (rules_version, outcome) (earlywarn_case_outcomes)", "{{rules_version}} {{outcome}}")]),
            Panel("Effective warning rate by rule version",
                  [("earlywarn_effective_warning_rate", "{{rules_version}}")], unit="percentunit"),
            Panel("Strict warning rate by rule version",
                  [("earlywarn_strict_warning_rate", "{{rules_version}}")], unit="percentunit"),
            Panel("Outcomes per rule version (table)",
                  [("sum by (rules_version, outcome) (earlywarn_case_outcomes)", "")], kind="table"),
            Panel("Alert announcements by level (rate)",
                  [("sum by (level) (rate(earlywarn_alerts_out_total[1h]))", "{{level}}")], unit="ops"),
            Panel("Rule version in force and reloads", [
                ("earlywarn_rules_info", "{{version}}"),
                ("increase(earlywarn_rule_reloads_total[1d])", "reloads in a day"),
                ("increase(earlywarn_rule_reload_failures_total[1d])", "refused in a day")], width=24),
        ]),
    ])


DASHBOARDS = {"pipeline-health.json": pipeline_health, "risk-overview.json": risk_overview,
              "detector-tuning.json": detector_tuning}


def render() -> dict[str, str]:
    """File name → JSON text, as checked in."""
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n" for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
