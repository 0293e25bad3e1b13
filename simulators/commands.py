"""Plain functions behind ``earlywarn simulate``, ``backtest`` and ``tune`` (the CLI registers them)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from rules.loader import load_rules
from earlywarn.settings import DEFAULT_RULES
from simulators.backtest import TruthIndex, decode_log, evaluate, run_engine
from simulators.baseline import DEFAULT_BASELINE, load_baseline, trace_points
from simulators.generate import generate
from simulators.scenario import load_scenario
from simulators.truth import epoch0

KEYS = ("effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "median_lead_days", "alerts")


def simulate(scenario: str, speed: float = 0.0, to_kafka: bool = False, out: Path | None = None,
             seed: int | None = None, bootstrap: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Generate a scenario; write ``events.jsonl`` and ``truth.json`` to ``out`` and/or replay to Kafka.

    ``speed`` is simulated seconds per wall-clock second for the Kafka replay
    (0 = as fast as possible).
    """
    s = load_scenario(scenario, **({"seed": seed} if seed is not None else {}))
    gen = generate(s, progress=progress)
    result: dict[str, Any] = {"scenario": s.name, "seed": s.seed, "lines": len(gen.lines), "faults": gen.faults,
                              "truth": gen.truth.summary()}
    if out is not None:
        result["files"] = {k: str(v) for k, v in gen.write(Path(out)).items()}
    if to_kafka:
        if not bootstrap:
            raise ValueError("--to-kafka needs a broker: set EW_KAFKA_BROKER or pass bootstrap")
        from simulators.kafka_out import replay
        result["kafka"] = replay(gen.lines, bootstrap, speed=speed, progress=progress)
    return result


def backtest(scenario: str, rules: Path | None = None, json_out: bool = False, baseline: Path | None = None,
             progress: bool = True, seed: int | None = None, keep_scores: bool = False,
             overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Generate ``scenario``, run the detector and the baseline over it, and report against the truth.

    ``overrides`` change scenario fields (``{"enterprises": 2000, "faults.late_share": 0}``).
    """
    started = time.perf_counter()
    s = load_scenario(scenario, **({"seed": seed} if seed is not None else {}), **(overrides or {}))
    rule_file = load_rules(rules or DEFAULT_RULES)
    table = load_baseline(baseline or DEFAULT_BASELINE)
    gen = generate(s, progress=progress)
    t_gen = time.perf_counter()
    log = decode_log(gen.lines, epoch0(s.start), progress=progress, total=len(gen.lines))
    run = run_engine(log, rule_file, progress=progress, keep_scores=keep_scores)
    t_engine = time.perf_counter()
    truth = TruthIndex(gen.truth)
    report = evaluate(run.alerts, truth, s.inspectors)

    trace = trace_points(table, [(ev.data_class, ev.fields, ev.t) for _, ev in log.events])
    best = None
    for thr in range(1, max(trace.max_points(), 1) + 1):
        alerts = trace.alerts(thr, table.cooldown_days, table.deadline_days)
        gap = abs(len(alerts) - len(run.alerts))
        if best is None or gap < best[0] or (gap == best[0] and thr > best[1]):
            best = (gap, thr, alerts)
    assert best is not None
    base = evaluate(best[2], truth, s.inspectors)
    base["threshold"] = best[1]
    base["version"] = table.version

    from simulators.group import score_group_incidents
    groups = score_group_incidents(gen.lines, gen.truth, s)

    report.update({
        "scenario": s.name, "seed": s.seed, "enterprises": s.enterprises, "days": s.days,
        "rules_version": run.rules_version, "events": log.lines, "dead_letters": log.dead_letters,
        "duplicates_skipped": run.duplicates, "truth": gen.truth.summary(), "faults": gen.faults,
        "baseline": base,
        "lift": {k: (round(report[k] / base[k], 3) if report[k] and base[k] else None)
                 for k in ("effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden")},
        "group_incidents": groups,
        "seconds": {"generate": round(t_gen - started, 2), "engine": round(t_engine - t_gen, 2),
                    "total": round(time.perf_counter() - started, 2)},
    })
    if keep_scores:
        report["_run"] = run
        report["_truth"] = truth
        report["_trace"] = trace
    # printing is the caller's (the CLI prints JSON with --json, print_report otherwise); json_out is kept
    # in the signature for callers that pass it through
    del json_out
    return report


def print_report(r: dict[str, Any], file: Any = None) -> None:
    file = file or sys.stdout
    b = r["baseline"]
    print(f"scenario {r['scenario']} (seed {r['seed']}): {r['enterprises']} enterprises, {r['days']} days, "
          f"{r['events']} events, {r['dead_letters']} dead letters; rules {r['rules_version']}", file=file)
    print(f"truth: {r['truth']}", file=file)
    print(f"{'':28s}{'detector':>12s}{'baseline':>12s}{'lift':>8s}", file=file)
    for k in KEYS + ("recall_lead_30d", "alerts_per_inspector_week"):
        lift = r["lift"].get(k)
        print(f"{k:28s}{_fmt(r[k]):>12s}{_fmt(b[k]):>12s}{_fmt(lift):>8s}", file=file)
    for k in ("arrears_confirmed", "hidden_risk", "no_risk"):
        print(f"  {k:26s}{r['outcomes'][k]:>12d}{b['outcomes'][k]:>12d}", file=file)
    print(f"lead days percentiles: {r['lead_days_percentiles']}", file=file)
    print(f"group incidents: {r['group_incidents']}", file=file)
    print(f"seconds: {r['seconds']}", file=file)


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def tune(scenario: str, target_ewr: float = 0.9, out_dir: Path = Path("var/tune"), rules: Path | None = None,
         progress: bool = True) -> dict[str, Any]:
    """Sweep the alert thresholds; print the table, write a PNG plot and a rule file with the chosen thresholds."""
    from simulators.tune import sweep
    return sweep(scenario, target_ewr=target_ewr, out_dir=Path(out_dir), rules=rules, progress=progress)
