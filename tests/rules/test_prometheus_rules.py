"""The Prometheus rules in rules/prometheus/: valid, unit-tested with promtool, every alert tested both ways.

promtool is Debian's `prometheus` package; CI installs it (.ci/run). A missing binary fails these tests with
the install line rather than skipping them, so a green `make test` always means the rules were checked.
"""
from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from earlywarn.prometheus import RULES_DIR, PrometheusMissing, binary, rule_files
from streams.topics import OUTSIDE_SOURCES

UNIT_TESTS = sorted((RULES_DIR / "tests").glob("*.yml"))


def promtool() -> str:
    try:
        return binary("promtool")
    except PrometheusMissing as exc:
        pytest.fail(str(exc))


def test_rule_files_pass_promtool_check():
    out = subprocess.run([promtool(), "check", "rules", *map(str, rule_files())], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(rule_files()) >= 2


def test_promtool_unit_tests_pass():
    assert UNIT_TESTS
    out = subprocess.run([promtool(), "test", "rules", *map(str, UNIT_TESTS)], capture_output=True, text=True,
                         cwd=RULES_DIR / "tests", timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("SUCCESS") == len(UNIT_TESTS), out.stdout


def test_promtool_unit_tests_can_fail(tmp_path):
    """A wrong expectation is caught: the unit tests are not vacuous."""
    source = (RULES_DIR / "tests" / "sources_and_processes_test.yml").read_text()
    broken = source.replace("eval_time: 2h        # 1 h silent", "eval_time: 3h        # 1 h silent", 1)
    assert broken != source
    case = tmp_path / "broken_test.yml"
    case.write_text(broken.replace("../", f"{RULES_DIR}/"))
    out = subprocess.run([promtool(), "test", "rules", str(case)], capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "EarlywarnSourceSilent" in out.stdout + out.stderr


def _alert_names() -> set[str]:
    names = set()
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {r["alert"] for r in group["rules"] if "alert" in r}
    return names


def test_every_alert_is_tested_firing_and_quiet():
    fires, quiet = set(), set()
    for path in UNIT_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    expected = _alert_names()
    assert {"EarlywarnSourceSilent", "EarlywarnConsumerLagGrowing", "EarlywarnDeadLetterRateHigh",
            "EarlywarnWorkerDown", "EarlywarnApiDown", "EarlywarnOverdueCasesPilingUp",
            "EarlywarnEffectiveWarningRateFalling"} <= expected
    assert expected - fires == set(), "alerts never tested firing"
    assert expected - quiet == set(), "alerts never tested staying quiet"


def test_every_source_has_a_rhythm():
    text = (RULES_DIR / "source_rhythm.yml").read_text()
    assert sorted(re.findall(r"topic: (\S+)}", text)) == sorted(OUTSIDE_SOURCES)   # not ew.credit: ours
