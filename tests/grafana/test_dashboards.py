"""The Grafana dashboards in grafana/: generated from grafana/generate.py, valid against the schema we keep,
every PromQL expression parsed by promtool, and every metric they (and the alert rules) read present in a
live scrape of the running worker and API.
"""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

import httpx
import jsonschema
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from earlywarn.prometheus import PrometheusMissing, binary, rule_files
from earlywarn.settings import PROJECT_ROOT

GRAFANA = PROJECT_ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
GRAFANA_VARIABLES = {"$district": ".*"}
"""template variables, replaced by what "All" means before promtool parses an expression"""
METRIC = re.compile(r"\b(earlywarn_[a-z0-9_]+)\b")


def promtool() -> str:
    try:
        return binary("promtool")
    except PrometheusMissing as exc:
        pytest.fail(str(exc))


def generator():
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def exprs() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target of every dashboard."""
    out = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                out.append((f"{path.name}: {panel['title']} {target['refId']}", target["expr"]))
    return out


def as_promql(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def test_checked_in_dashboards_are_what_the_generator_writes():
    rendered = generator().render()
    assert sorted(rendered) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text() == rendered[path.name], f"{path.name} is stale: run python grafana/generate.py"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_matches_schema_and_panels_do_not_overlap(path):
    schema = json.loads((GRAFANA / "dashboard.schema.json").read_text())
    board = json.loads(path.read_text())
    jsonschema.validate(board, schema)
    cells = set()
    for panel in board["panels"]:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])


def test_the_schema_refuses_a_panel_without_a_query():
    schema = json.loads((GRAFANA / "dashboard.schema.json").read_text())
    board = json.loads(DASHBOARDS[0].read_text())
    panel = next(p for p in board["panels"] if p["type"] != "row")
    del panel["targets"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(board, schema)


def test_three_dashboards_cover_health_risk_and_tuning():
    titles = {json.loads(p.read_text())["uid"] for p in DASHBOARDS}
    assert titles == {"earlywarn-pipeline", "earlywarn-risk", "earlywarn-tuning"}


def _check_parse(tmp_path, pairs: list[tuple[str, str]]) -> subprocess.CompletedProcess:
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": as_promql(expr)} for i, (_, expr) in enumerate(pairs)]}]}
    path = tmp_path / "dashboard_exprs.yml"
    path.write_text(yaml.safe_dump(rules))
    return subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True)


def test_every_panel_expression_parses(tmp_path):
    pairs = exprs()
    assert len(pairs) > 30
    out = _check_parse(tmp_path, pairs)
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_refuses_a_broken_expression(tmp_path):
    out = _check_parse(tmp_path, [("broken", "sum by (topic (rate(earlywarn_events_in_total[5m]))")])
    assert out.returncode != 0


def test_provisioning_points_at_the_dashboards_datasource():
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "earlywarn.yml").read_text())
    uids = {d["uid"] for d in source["datasources"]}
    used = {panel["datasource"]["uid"] for p in DASHBOARDS for panel in json.loads(p.read_text())["panels"]
            if "datasource" in panel}
    assert used == uids == {"earlywarn-prometheus"}
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "earlywarn.yml").read_text())
    assert provider["providers"][0]["folder"] == "earlywarn"


def used_metrics() -> dict[str, str]:
    """Every earlywarn_* metric a dashboard panel or an alert rule reads → where."""
    used = {}
    for where, expr in exprs():
        for name in METRIC.findall(expr):
            used.setdefault(name, where)
    for path in rule_files():
        for name in METRIC.findall(path.read_text()):
            used.setdefault(name, path.name)
    return used


def scraped_names(text: str) -> set[str]:
    """Sample names and family names (a labelled metric with no child yet still has its HELP and TYPE)."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names |= {s.name for s in family.samples}
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
        if family.type == "info":
            names.add(family.name + "_info")
    return names


@pytest.mark.e2e
def test_every_metric_used_is_in_a_live_scrape_of_worker_and_api(stack):
    worker = httpx.get(stack.worker_metrics_url, timeout=10)
    assert worker.status_code == 200, stack.worker_metrics_url
    api = httpx.get(f"{stack.api_url}/metrics", headers={"Authorization": f"Bearer {stack.token}"}, timeout=10)
    assert api.status_code == 200, api.text
    worker_names, api_names = scraped_names(worker.text), scraped_names(api.text)
    assert "earlywarn_events_in_total" in worker_names and "earlywarn_api_requests_total" in api_names
    missing = {name: where for name, where in used_metrics().items() if name not in worker_names | api_names}
    assert not missing, f"used but not exported: {missing}"
    assert "earlywarn_made_up_metric" not in worker_names | api_names
