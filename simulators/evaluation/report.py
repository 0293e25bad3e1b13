"""The backtest report as an engineer reads it on a terminal."""
from __future__ import annotations

import sys
from typing import Any

KEYS = ("effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "median_lead_days", "alerts")


def print_report(r: dict[str, Any], file: Any = None) -> None:
    file = file or sys.stdout
    b = r["baseline"]
    source = f"events {r['events_path']}, truth {r['truth_path']}" if "events_path" in r else \
        f"scenario {r['scenario']} (seed {r['seed']})"
    print(f"{source}: {r['enterprises']} enterprises, {r['days']} days, "
          f"{r['events']} events, {r['dead_letters']} dead letters; rules {r['rules_version']}", file=file)
    skipped = r["skipped_lines"]
    if skipped["lines"]:
        why = ", ".join(f"{k} ×{n}" for k, n in skipped["by_reason"].items())
        print(f"skipped {skipped['lines']} lines: {why}", file=file)
        for line in skipped["first"][:10]:
            print(f"  {line}", file=file)
        if skipped["lines"] > 10:
            print(f"  ... and {skipped['lines'] - 10} more (all counted above; the first 50 in --json)", file=file)
    missing = r["truth_enterprises_not_in_registry"]
    if missing["count"]:
        print(f"warning: the truth names {missing['count']} enterprises absent from the log's registry "
              f"(registry: {r['registry_enterprises']}): {', '.join(missing['first'])}", file=file)
    print(f"truth: {r['truth']}", file=file)
    print(f"hidden risk counted as: {r['hidden_risk_basis']}", file=file)
    _table("all alerts", r, b, file)
    for name, part in r.get("lists", {}).items():
        _table(f"list {name}", part, part["baseline"], file)
    print(f"lead days percentiles: {r['lead_days_percentiles']}", file=file)
    c = r["recall_ceiling"]["non_sudden"]
    print(f"recall ceiling (non-sudden episodes with unusual evidence delivered before their start): any in 90 days "
          f"{_fmt(c['any_90d'])}, two or more {_fmt(c['two_or_more_90d'])}, any 30-90 days ahead "
          f"{_fmt(c['any_30_to_90d'])}; any evidence at all {_fmt(c['any_evidence_90d'])}", file=file)
    print(f"group incidents: {r['group_incidents']}", file=file)
    print(f"seconds: {r['seconds']}", file=file)


def _table(title: str, r: dict[str, Any], b: dict[str, Any], file: Any) -> None:
    """One alert list beside the points table at the same volume."""
    print(f"{title + ':':28s}{'detector':>12s}{'baseline':>12s}{'lift':>8s}", file=file)
    for k in KEYS + ("early_recall", "before_onset_share", "alerts_per_inspector_week"):
        lift = r["lift"].get(k) if "lift" in r else None
        print(f"  {k:26s}{_fmt(r[k]):>12s}{_fmt(b[k]):>12s}{_fmt(lift):>8s}", file=file)
    print("  on-site outcome at the check:", file=file)
    for k in ("arrears_confirmed", "hidden_risk", "no_risk"):
        print(f"    {k:24s}{r['outcomes'][k]:>12d}{b['outcomes'][k]:>12d}", file=file)
    print("  where the firm stood when alerted:", file=file)
    for k, n in r["categories"].items():
        print(f"    {k:24s}{n:>12d}{b['categories'][k]:>12d}", file=file)
    print("  recall of non-sudden episodes by lead:", file=file)
    for k, v in r["recall_non_sudden_by_lead"].items():
        print(f"    {k:24s}{_fmt(v):>12s}{_fmt(b['recall_non_sudden_by_lead'][k]):>12s}", file=file)


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)
