"""Backtest on recorded event logs (issue #13): files give the scenario's figures, hand-written logs give
the alerts reasoned out below, bad lines are counted with their line numbers and the rest goes on."""
from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earlywarn.cli import app
from simulators.commands import backtest, write_scenario
from simulators.world.generate import generate
from simulators.evaluation.logfiles import write_per_class
from simulators.world.scenario import load_scenario
from simulators.world.truth import CST
from simulators.evaluation.truthfile import TruthFileError, parse_truth

DATA = Path(__file__).resolve().parent.parent / "data"
SMALL = DATA / "small-log"
A, B, C, D = "91330110MA2HWA0018", "91330110MA2HWB002J", "91330110MA2HWC003W", "91330110MA2HWD0047"
DAY = 86400.0
NOT_FIGURES = {"seed", "faults", "seconds", "events_path", "truth_path", "skipped_lines", "scenario"}


def day(iso: str) -> float:
    return datetime.fromisoformat(iso + "T00:00:00+08:00").timestamp()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A small simulated scenario (with every fault kind) written as files, and its --scenario report."""
    overrides = {"enterprises": 1500, "days": 200, "warmup_days": 30, "hotline_per_day": 40,
                 "arrears.distress_rate": 0.2}
    out = tmp_path_factory.mktemp("scenario")
    write_scenario(generate(load_scenario("yuhang", seed=21, **overrides)), out)
    report = backtest("yuhang", seed=21, overrides=overrides, progress=False)
    return out, report


def same_figures(a: dict, b: dict) -> None:
    for k in sorted(set(a) | set(b)):
        if k not in NOT_FIGURES:
            assert a.get(k) == b.get(k), k
    assert a["skipped_lines"]["lines"] == b["skipped_lines"]["lines"]
    assert a["skipped_lines"]["by_reason"] == b["skipped_lines"]["by_reason"]


def test_scenario_written_to_files_gives_the_same_figures(written):
    out, want = written
    got = backtest(events=out / "events.jsonl", truth=out / "truth.json", progress=False)
    assert want["alerts"] > 0 and want["dead_letters"] > 0 and want["duplicates_skipped"] > 0
    assert want["group_incidents"]["incidents"] > 0
    same_figures(want, got)
    assert got["truth_enterprises_not_in_registry"]["count"] == 0
    assert got["registry_enterprises"] == want["enterprises"]


def test_gzip_and_directory_forms_read_the_same_log(written, tmp_path):
    out, want = written
    with open(out / "events.jsonl", "rb") as src, gzip.open(tmp_path / "events.jsonl.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    got = backtest(events=tmp_path, truth=out / "truth.json", progress=False)     # a directory holding the .gz
    same_figures(want, got)


def test_hand_written_log(tmp_path):
    """tests/data/README.md describes the log. What follows from it, whatever the rule weights:

    * A and B get the same evidence on the same days, so the engine treats them alike: on each list, A and B
      are alerted at the same time at the same level, once (one episode → one alert id). C has only a paid-up
      bill: no alert.
    * Nothing is known before 2025-04-10, so every alert is raised in [04-10, 06-20]; the check is at the
      deadline, at most 7 days later, so before A's arrears begin on 07-01 and less than 90 days before.
      A's checks are therefore ``hidden_risk`` (arrears follow within 90 days) and strict hits; B has no
      arrears and no distress is recorded: ``no_risk``. Effective rate 1/2, strict rate 1/2.
    * Recall: A's episode (07-01) is found, raised 11–82 days before it; D's (sudden, 08-01) is not, as
      D is not even in the log: recall 1/2, non-sudden recall 1/1, lead = 07-01 − A's earliest raise time.
    * The truth has no distress intervals and names D, absent from the registry: both are reported.
    """
    r = backtest(events=SMALL / "events.jsonl", truth=SMALL / "truth.json", progress=False, keep_scores=True)
    alerts = r["_run"].alerts
    assert {a.subject_id for a in alerts} == {A, B}
    by = {(a.subject_id, a.list): a for a in alerts}
    assert len(by) == len(alerts), "one alert per enterprise and list"
    for name in {a.list for a in alerts}:
        a, b = by[(A, name)], by[(B, name)]
        assert a.raised == b.raised and a.level == b.level
        assert day("2025-04-10") <= a.raised <= day("2025-06-21")
        assert a.check - a.raised <= 7 * DAY and a.check < day("2025-07-01")
    n = len(alerts)
    assert r["alerts"] == n and n % 2 == 0
    assert r["outcomes"] == {"arrears_confirmed": 0, "hidden_risk": n // 2, "no_risk": n // 2}
    assert r["effective_warning_rate"] == 0.5 and r["strict_warning_rate"] == 0.5
    assert r["categories"] == {"already_in_arrears": 0, "before_onset": n // 2, "distress_only": 0, "no_risk": n // 2}
    assert r["episodes"] == 2 and r["recall"] == 0.5 and r["recall_non_sudden"] == 1.0
    first_a = min(a.raised for a in alerts if a.subject_id == A)
    assert r["median_lead_days"] == round((day("2025-07-01") - first_a) / DAY, 2)
    assert r["dead_letters"] == 0 and r["skipped_lines"]["lines"] == 0 and r["events"] == 28
    assert r["registry_enterprises"] == 3
    assert r["truth_enterprises_not_in_registry"] == {"count": 1, "first": [D]}
    assert "only" in r["hidden_risk_basis"] and "distress_intervals" in r["hidden_risk_basis"]

    # on-site checks of B found hidden risk: those recorded outcomes replace the derived no_risk
    doc = json.loads((SMALL / "truth.json").read_text())
    doc["verification_outcomes"] = [
        {"subject_id": B, "date": datetime.fromtimestamp(a.raised, CST).date().isoformat(), "outcome": "hidden_risk"}
        for a in alerts if a.subject_id == B]
    doc["distress_intervals"] = []
    (tmp_path / "truth.json").write_text(json.dumps(doc))
    v = backtest(events=SMALL / "events.jsonl", truth=tmp_path / "truth.json", progress=False)
    assert v["verified_checks"] == n // 2 and v["effective_warning_rate"] == 1.0
    assert v["strict_warning_rate"] == 0.5                           # B was never followed by arrears
    assert "only" not in v["hidden_risk_basis"]


def test_one_file_per_class_gives_the_same_as_one_file(tmp_path):
    # the small log has no `at`: delivery time is occurred_at in both layouts, so the figures must agree
    write_per_class((SMALL / "events.jsonl").read_text().splitlines(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "enterprise_registry.jsonl", "hotline_complaint.jsonl", "social_insurance_arrears.jsonl",
        "water_arrears.jsonl"]
    one = backtest(events=SMALL / "events.jsonl", truth=SMALL / "truth.json", progress=False)
    many = backtest(events=tmp_path, truth=SMALL / "truth.json", progress=False)
    same_figures(one, many)


def test_malformed_lines_are_counted_with_line_numbers_and_the_rest_is_processed():
    clean = backtest(events=SMALL / "events.jsonl", truth=SMALL / "truth.json", progress=False)
    r = backtest(events=DATA / "small-log-malformed" / "events.jsonl", truth=SMALL / "truth.json", progress=False)
    sk = r["skipped_lines"]
    assert sk["lines"] == 6
    assert [line.split(": ")[0] for line in sk["first"]] == [
        f"events.jsonl:{n}" for n in (5, 9, 12, 15, 18, 34)]
    assert sk["by_reason"] == {"not JSON": 2, "invalid WaterArrears: enterprise_id": 1, "unknown class": 1,
                               "litigation record: not JSON": 1, "bad at": 1}
    assert "check character" in sk["first"][1]
    assert r["dead_letters"] == 2                       # what the stream would dead-letter: lines 9 and 15
    assert r["events"] == clean["events"] + 6
    for k in ("alerts", "outcomes", "effective_warning_rate", "recall", "median_lead_days"):
        assert r[k] == clean[k], k


def test_truth_errors_name_the_entry_and_field():
    with pytest.raises(TruthFileError, match=r"arrears_episodes\[1\]\.workers"):
        parse_truth('{"arrears_episodes": [{"enterprise_id": "A", "start": "2025-01-01", "workers": 1, '
                    '"sudden": false}, {"enterprise_id": "B", "start": "2025-01-01", "workers": -3, "sudden": true}]}')
    with pytest.raises(TruthFileError, match=r"distress_intervals\[0\]\.to: Field required"):
        parse_truth('{"arrears_episodes": [], "distress_intervals": [{"enterprise_id": "A", "from": "2025-01-01"}]}')
    with pytest.raises(TruthFileError, match=r"<string>:1:\d+: not JSON"):
        parse_truth('{"arrears_episodes": [')


@pytest.mark.parametrize("args, says", [
    (["--events", "does/not/exist", "--truth", str(SMALL / "truth.json")], "does/not/exist: no such file"),
    (["--events", str(SMALL / "events.jsonl"), "--truth", "missing.json"], "missing.json: cannot read truth file"),
    (["--events", str(SMALL / "events.jsonl")], "--events needs --truth"),
    (["--scenario", "quiet", "--events", str(SMALL / "events.jsonl"), "--truth", str(SMALL / "truth.json")],
     "exactly one source"),
    ([], "exactly one source"),
    (["--events", str(SMALL), "--truth", str(SMALL / "events.jsonl")], "not JSON"),
])
def test_cli_bad_input_is_one_clear_line(args, says):
    res = CliRunner().invoke(app, ["backtest", *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "error: " in res.output and says in res.output


def test_cli_backtest_events_json_has_the_scenario_keys(written):
    out, want = written
    res = CliRunner().invoke(app, ["backtest", "--events", str(out / "events.jsonl"), "--truth",
                                   str(out / "truth.json"), "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert set(want) - NOT_FIGURES <= set(got)
    assert got["alerts"] == want["alerts"] and got["effective_warning_rate"] == want["effective_warning_rate"]


class FakeProducer:
    """Stands in for KafkaProducer: records what would be sent, and when."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, float]] = []

    def send(self, topic, key=None, value=b""):
        import time
        self.sent.append((topic, key, value, time.monotonic()))

    def flush(self):
        pass


def test_replay_sends_records_in_time_order_raw_bytes_for_bad_records_and_reports_unreadable_lines():
    from simulators.evaluation.replay import replay_log
    fake = FakeProducer()
    res = replay_log(DATA / "small-log-malformed" / "events.jsonl", "unused:9092", producer=fake, progress=False)
    # 34 lines; 5, 12, 18 and 34 have no readable class/time: no topic to send them to
    assert [s.split(": ")[0] for s in res["skipped_lines"]["first"]] == [f"events.jsonl:{n}" for n in (5, 12, 18, 34)]
    assert res["sent"] == len(fake.sent) == 30
    values = [v for _, _, v, _ in fake.sent]
    # line 15 is a malformed litigation delivery: its bytes go to ew.litigation unchanged, for the dead-letter path
    assert ("ew.litigation", None, b'{"event_id":"x-l1","occurred_at":"2025-05-0') in [s[:3] for s in fake.sent]
    # line 9 (wrong check character) is valid JSON: sent as it is, the stream's contract check refuses it
    assert any(b'"x-w1"' in v for v in values)
    times = [json.loads(v)["occurred_at"] for v in values if v.startswith(b"{") and v.endswith(b"}")]
    assert times == sorted(times, key=lambda t: datetime.fromisoformat(t))
    assert fake.sent[0][1] == A.encode()                   # keyed by enterprise id


def test_replay_speed_is_times_real_time(tmp_path):
    from simulators.evaluation.replay import replay_log
    span = day("2025-06-20") + 9 * 3600 - day("2025-03-01")        # first to last line of the small log
    fake = FakeProducer()
    res = replay_log(SMALL / "events.jsonl", "unused:9092", speed=span / 0.6, producer=fake, progress=False)
    took = fake.sent[-1][3] - fake.sent[0][3]
    assert res["sent"] == 28 and 0.55 <= took < 1.5


@pytest.mark.parametrize("command, args, says", [
    ("fit", ["--out", "x.yaml", "--version", "v"], "--scenario NAME"),
    ("fit", ["--scenario", "quiet", "--out", "x.yaml", "--version", "v", "--model", "forest"], "trees or logistic"),
    ("fit", ["--events", str(SMALL / "events.jsonl"), "--out", "x.yaml", "--version", "v"], "--events needs --truth"),
    ("fit", ["--scenario", "nowhere", "--out", "x.yaml", "--version", "v"], "no scenario named 'nowhere'"),
    ("tune", ["--scenario", "quiet", "--list", "later"], "list must be one of"),
    ("tune", ["--scenario", "quiet", "--objective", "happiness"], "objective must be one of"),
    ("tune", [], "exactly one source"),
])
def test_cli_fit_and_tune_bad_input_is_one_clear_line(command, args, says, tmp_path):
    res = CliRunner().invoke(app, [command, *args, *(["--out", str(tmp_path)] if command == "tune" else [])])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert "error: " in res.output and says in res.output
