"""``earlywarn backtest``: one pass over a scenario or a recorded log, judged against its truth."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules
from simulators.evaluation.alerts_out import write_alerts
from simulators.evaluation.backtest import DecodeStats, TruthIndex, evaluate
from simulators.evaluation.baseline import DEFAULT_BASELINE, load_baseline
from simulators.evaluation.logbacktest import LogPass, match_baseline, run_log, score_tension
from simulators.evaluation.decode_ahead import decoded_ahead
from simulators.evaluation.logfiles import iter_lines
from simulators.evaluation.truthfile import TruthDoc, read_truth
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from simulators.world.truth import Truth


def backtest(scenario: str | None = None, rules: Path | None = None, json_out: bool = False,
             baseline: Path | None = None, progress: bool = True, seed: int | None = None,
             keep_scores: bool = False, overrides: dict[str, Any] | None = None,
             events: Path | None = None, truth: Path | None = None,
             alerts_out: Path | None = None) -> dict[str, Any]:
    """Run the detector and the baseline over a scenario or a recorded log, and report against the truth.

    Exactly one source: ``scenario`` (generated here; ``overrides`` change its
    fields, e.g. ``{"enterprises": 2000, "faults.late_share": 0}``), or
    ``events`` + ``truth`` (files, docs/event-log.md and docs/ground-truth.md).
    Both go through the same single pass (:func:`simulators.evaluation.logbacktest.run_log`).
    """
    if (scenario is None) == (events is None):
        raise ValueError("give either a scenario or --events with --truth, not both and not neither")
    if events is not None and truth is None:
        raise ValueError("--events needs --truth (the ground truth to judge the alerts against)")
    if scenario is None and (seed is not None or overrides):
        raise ValueError("--seed applies to --scenario only")
    started = time.perf_counter()
    rule_file = load_rules(rules or DEFAULT_RULES)
    table = load_baseline(baseline or DEFAULT_BASELINE)
    stats = DecodeStats()
    if scenario is not None:
        s = load_scenario(scenario, **({"seed": seed} if seed is not None else {}), **(overrides or {}))
        gen = generate(s, progress=progress)
        t_gen = time.perf_counter()
        lp = run_log(iter_lines(gen.lines, f"<scenario {s.name}>", stats.problems), rule_file, table, stats,
                     progress=progress, keep_scores=keep_scores)
        geo = s.geography
        source = TruthSource(gen.truth, {}, s.inspectors, geo.streets * geo.communities_per_street
                             * geo.grids_per_community, set())
        head: dict[str, Any] = {"scenario": s.name, "seed": s.seed, "enterprises": s.enterprises, "days": s.days}
        extra: dict[str, Any] = {"faults": gen.faults}
    else:
        assert events is not None and truth is not None
        doc = read_truth(truth)                          # a bad truth file fails before the long read
        t_gen = time.perf_counter()
        # one bar: bytes read of the whole log (its size is known up front, so it shows an ETA)
        # read and validated in a second process, one delivery day ahead of the scoring (same events, same order)
        lp = run_log(None, rule_file, table, stats, progress=False, keep_scores=keep_scores,
                     decoded=decoded_ahead(Path(events), stats, progress=progress))
        source = truth_from_doc(doc, lp)
        head = {"scenario": doc.scenario or Path(events).name, "seed": None,
                "enterprises": source.truth.enterprises, "days": source.truth.days}
        extra = {"events_path": str(events), "truth_path": str(truth)}
    t_engine = time.perf_counter()
    report = score_pass(lp, source, table, keep_scores, alerts_out)
    report.update(head)
    report.update(extra)
    report["seconds"] = {"generate": round(t_gen - started, 2), "engine": round(t_engine - t_gen, 2),
                         "total": round(time.perf_counter() - started, 2)}
    # printing is the caller's (the CLI prints JSON with --json, print_report otherwise); json_out is kept
    # in the signature for callers that pass it through
    del json_out
    return report


@dataclass
class TruthSource:
    """The truth a pass is judged against, with what the report needs beside it."""

    truth: Truth
    verified: dict[str, list[tuple[float, str]]]
    inspectors: int
    grids: int | None
    named: set[str]
    """enterprises the truth file names (to check against the registry); empty for a scenario"""
    distress_known: bool = True


def truth_from_doc(doc: TruthDoc, lp: LogPass) -> TruthSource:
    """The truth of a file; the span and enterprise count default to the log's when the file leaves them out."""
    first, span_days = lp.span()
    start = doc.start or first
    days = doc.days or max((first - start).days + span_days, 1)
    enterprises = doc.enterprises if doc.enterprises is not None else len(lp.stats.registry)
    return TruthSource(doc.to_truth(start, days, enterprises), doc.verifications(), doc.inspectors, doc.grids,
                       doc.enterprise_ids(), doc.distress_intervals is not None)


LIFT_KEYS = ("effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "early_recall",
             "before_onset_share")


def _lift(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float | None]:
    return {k: (round(mine[k] / theirs[k], 3) if mine[k] and theirs[k] else None) for k in LIFT_KEYS}


def beside_baseline(alerts: list[Any], lp: LogPass, table: Any, index: TruthIndex, inspectors: int
                    ) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Alerts judged, and the points table judged at the threshold that gives the nearest alert volume."""
    mine = evaluate(alerts, index, inspectors)
    threshold, base_alerts = match_baseline(lp.trace, table, len(alerts))
    theirs = evaluate(base_alerts, index, inspectors)
    theirs["threshold"] = threshold
    theirs["version"] = table.version
    return mine, theirs, base_alerts


def _gathering_summary(alerts: Any, source: TruthSource) -> dict[str, Any]:
    """A comparison rule's gathering figures (hits, false alarms, precision, lead), beside the watch's own."""
    return {k: v for k, v in alerts.score(source.truth, source.grids).items()
            if k in ("hits", "false_alarms", "late_alerts", "median_lead_minutes", "precision", "watched")}


def score_pass(lp: LogPass, source: TruthSource, table: Any, keep_scores: bool = False,
               alerts_out: Path | None = None) -> dict[str, Any]:
    """The report: detector and baseline figures, group incidents, and what was skipped or missing.

    With ``alerts_out``, every detector alert and the baseline's at the matched volume go there as JSON Lines.
    """
    index = TruthIndex(source.truth, source.verified)
    run = lp.run
    report, base, base_alerts = beside_baseline(run.alerts, lp, table, index, source.inspectors)
    report["lists"] = {}
    for name in ("inspect_now", "early_warning"):
        mine, theirs, _ = beside_baseline(run.by_list(name), lp, table, index, source.inspectors)
        report["lists"][name] = {**mine, "baseline": theirs, "lift": _lift(mine, theirs)}
    if alerts_out is not None:
        report["alerts_out"] = {"path": str(alerts_out), "lines": write_alerts(alerts_out, run.alerts, base_alerts)}
    st = lp.stats
    missing = sorted(source.named - st.registry)
    report.update({
        "rules_version": run.rules_version, "events": st.lines + st.problems.lines - st.dead_letters,
        "dead_letters": st.dead_letters, "duplicates_skipped": run.duplicates,
        "skipped_lines": st.problems.summary(), "out_of_order_lines": st.out_of_order,
        "registry_enterprises": len(st.registry),
        "truth_enterprises_not_in_registry": {"count": len(missing), "first": missing[:20]},
        "hidden_risk_basis": ("distress intervals and arrears within 90 days" if source.distress_known else
                              "arrears within 90 days only: the truth has no distress_intervals, so "
                              "effective_warning_rate counts only arrears as hidden risk"),
        "truth": source.truth.summary(),
        "baseline": base,
        "lift": _lift(report, base),
        "group_incidents": {**lp.groups.score(source.truth, source.grids),
                            "headcount_only": _gathering_summary(lp.groups_headcount_only, source),
                            "growth_only": _gathering_summary(lp.groups_growth_only, source)},
        "area_tension": score_tension(lp.groups.tension, source.truth, lp.groups.communities(source.grids)),
        "recall_ceiling": lp.seen.ceiling(source.truth),
    })
    if keep_scores:
        report["_run"] = run
        report["_truth"] = index
        report["_trace"] = lp.trace
    return report
