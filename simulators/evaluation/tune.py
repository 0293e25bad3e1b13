"""Threshold sweep: one engine run, the level decision replayed for many thresholds.

The score of an enterprise does not depend on the thresholds (they only decide
levels), so the engine runs once and records every score it computed; the
level logic of :mod:`detectors.enterprise` (``next_level`` with hysteresis,
announce on first entry, close on leaving every level) is replayed for each
candidate threshold set. At the rule file's own thresholds the replay gives
the engine's alerts exactly (tested).

The three thresholds move together by the same shift in log-odds, which keeps
their spacing meaningful at every point of the sweep.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from detectors.levels import LEVEL_NAMES, next_level
from rules.loader import load_rules, parse_rules
from earlywarn.settings import DEFAULT_RULES
from simulators.evaluation.backtest import evaluate
from simulators.evaluation.run import backtest

DAY = 86400.0
SHIFTS = np.round(np.arange(-3.0, 3.01, 0.25), 2)


@dataclass
class Replayed:
    subject_id: str
    raised: float
    check: float
    level: str


def shifted(thresholds: tuple[float, float, float], delta: np.ndarray) -> np.ndarray:
    """(K, 3) thresholds moved by ``delta`` in log-odds."""
    thr = np.asarray(thresholds, dtype=float)
    logit = np.log(thr / (1 - thr))[None, :] + np.asarray(delta, dtype=float)[:, None]
    return np.round(1.0 / (1.0 + np.exp(-logit)), 4)


def replay(scores: dict[str, list[tuple[float, float, float]]], thr: np.ndarray, hysteresis: float,
           deadlines: tuple[float, float, float], progress: bool = False) -> list[list[Replayed]]:
    """Alerts (first announcements) for each row of ``thr`` (K, 3) from recorded score sequences."""
    k = len(thr)
    cols = (thr[:, 0], thr[:, 1], thr[:, 2])
    dl = np.array((0.0,) + tuple(deadlines))
    out: list[list[Replayed]] = [[] for _ in range(k)]
    for ent, seq in tqdm(scores.items(), desc="replay", unit="enterprise", disable=not progress, leave=False,
                         mininterval=0.5):
        if max(s for _, _, s in seq) < thr[:, 0].min() - hysteresis:
            continue
        level = np.zeros(k, dtype=np.int8)
        announced = np.zeros(k, dtype=np.int8)
        for raised, t, score in seq:
            new = next_level(level, score, cols, hysteresis)
            first = (new > announced) & (announced == 0)
            for j in np.flatnonzero(first):
                out[j].append(Replayed(ent, raised, raised + dl[new[j]] * DAY, LEVEL_NAMES[new[j]]))
            announced = np.where(new > announced, new, announced)
            announced = np.where((new == 0) & (level > 0), 0, announced)
            level = new
    for alerts in out:
        alerts.sort(key=lambda a: (a.raised, a.subject_id))
    return out


def sweep(scenario: str, target_ewr: float = 0.9, out_dir: Path = Path("var/tune"), rules: Path | None = None,
          progress: bool = True, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    rules_path = Path(rules or DEFAULT_RULES)
    rule_file = load_rules(rules_path)
    rep = backtest(scenario, rules=rules_path, progress=False, keep_scores=True, overrides=overrides)
    run, truth, trace = rep.pop("_run"), rep.pop("_truth"), rep.pop("_trace")
    inspectors = int(round(rep["alerts"] / max(rep["alerts_per_inspector_week"], 1e-12) / (rep["days"] / 7.0))) \
        if rep["alerts"] else 1
    hyst = rule_file.hysteresis
    thr = shifted(rule_file.thresholds.as_tuple(), SHIFTS)
    thr[:, 0] = np.maximum(thr[:, 0], hyst + 0.005)
    thr[:, 1] = np.maximum(thr[:, 1], thr[:, 0] + 0.001)
    thr[:, 2] = np.maximum(thr[:, 2], thr[:, 1] + 0.001)
    d = rule_file.deadlines_days
    per = replay(run.scores, thr, hyst, (d.blue, d.yellow, d.red), progress=progress)
    rows = []
    for delta, t, alerts in zip(SHIFTS, thr, per):
        m = evaluate(alerts, truth, inspectors)
        rows.append({"shift": float(delta), "blue": float(t[0]), "yellow": float(t[1]), "red": float(t[2]),
                     **{k: m[k] for k in ("alerts", "effective_warning_rate", "strict_warning_rate", "recall",
                                          "recall_non_sudden", "median_lead_days", "alerts_per_inspector_week")}})
    base_rows = []
    from simulators.evaluation.baseline import load_baseline
    table = load_baseline()
    for points in range(1, max(trace.max_points(), 1) + 1):
        m = evaluate(trace.alerts(points, table.cooldown_days, table.deadline_days), truth, inspectors)
        base_rows.append({"threshold": points, **{k: m[k] for k in ("alerts", "effective_warning_rate",
                          "strict_warning_rate", "recall", "recall_non_sudden", "median_lead_days")}})
    ok = [r for r in rows if (r["effective_warning_rate"] or 0) >= target_ewr and r["alerts"] > 0]
    chosen = max(ok, key=lambda r: (r["recall"] or 0, -r["blue"])) if ok else \
        max(rows, key=lambda r: (r["effective_warning_rate"] or 0))
    out_dir.mkdir(parents=True, exist_ok=True)
    data = rule_file.model_dump(mode="json")
    data["version"] = f"{rule_file.version}+ewr{target_ewr:.2f}"[:64]
    seed = f" --seed {overrides['seed']}" if overrides and "seed" in overrides else ""
    data["description"] = (f"{rule_file.description.strip()} Thresholds chosen by `earlywarn tune --scenario {scenario}"
                           f"{seed} --target-ewr {target_ewr}`: effective warning rate {chosen['effective_warning_rate']}, "
                           f"recall {chosen['recall']} on the simulator.")
    data["thresholds"] = {"blue": chosen["blue"], "yellow": chosen["yellow"], "red": chosen["red"]}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    parse_rules(text, "tuned rules")
    rules_out = out_dir / f"rules-{Path(scenario).stem}-ewr{target_ewr:.2f}.yaml"
    rules_out.write_text(text, encoding="utf-8")
    plot = out_dir / f"tune-{Path(scenario).stem}.png"
    _plot(rows, base_rows, chosen, target_ewr, plot, scenario, rule_file.version)
    result = {"scenario": scenario, "target_ewr": target_ewr, "met": bool(ok), "chosen": chosen, "rows": rows,
              "baseline_rows": base_rows, "rules_file": str(rules_out), "plot": str(plot)}
    if progress:
        print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    def f(v: Any) -> str:
        return "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
    print(f"{'shift':>6} {'blue':>6} {'yellow':>6} {'red':>6} {'alerts':>7} {'EWR':>6} {'strict':>6} {'recall':>6} "
          f"{'rec.ns':>6} {'lead':>6} {'/insp/wk':>8}")
    for r in result["rows"]:
        mark = " ←" if r is result["chosen"] else ""
        print(f"{r['shift']:>6.2f} {r['blue']:>6.3f} {r['yellow']:>6.3f} {r['red']:>6.3f} {r['alerts']:>7d} "
              f"{f(r['effective_warning_rate']):>6} {f(r['strict_warning_rate']):>6} {f(r['recall']):>6} "
              f"{f(r['recall_non_sudden']):>6} {f(r['median_lead_days']):>6} {f(r['alerts_per_inspector_week']):>8}{mark}")
    print("baseline (points threshold):")
    for r in result["baseline_rows"]:
        print(f"{r['threshold']:>6d} {'':>20} {r['alerts']:>7d} {f(r['effective_warning_rate']):>6} "
              f"{f(r['strict_warning_rate']):>6} {f(r['recall']):>6} {f(r['recall_non_sudden']):>6} {f(r['median_lead_days']):>6}")
    met = "met" if result["met"] else "NOT met (closest shown)"
    print(f"target effective warning rate {result['target_ewr']}: {met}; rules → {result['rules_file']}; "
          f"plot → {result['plot']}")


def _plot(rows: list[dict], base: list[dict], chosen: dict, target: float, path: Path, scenario: str,
          version: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def col(rs: list[dict], k: str) -> np.ndarray:
        return np.array([np.nan if r[k] is None else r[k] for r in rs], dtype=float)

    fig, ax = plt.subplots(2, 2, figsize=(12, 8.5))
    x = col(rows, "blue")
    a = ax[0, 0]
    for k, lab in (("effective_warning_rate", "effective warning rate"), ("strict_warning_rate", "strict warning rate"),
                   ("recall", "recall"), ("recall_non_sudden", "recall (non-sudden)")):
        a.plot(x, col(rows, k), marker=".", label=lab)
    a.axhline(target, color="grey", ls=":", label=f"target EWR {target}")
    a.axvline(chosen["blue"], color="k", ls="--", lw=0.8, label="chosen")
    a.set(xlabel="blue (entry) threshold", ylabel="rate", title=f"detector ({version})", ylim=(0, 1.02))
    a.legend(fontsize=8)
    a = ax[0, 1]
    a.plot(x, col(rows, "median_lead_days"), marker=".", label="detector")
    a.set(xlabel="blue (entry) threshold", ylabel="median lead days (found episodes)", title="lead time")
    a2 = a.twinx()
    a2.plot(x, col(rows, "alerts"), color="tab:red", alpha=0.5, label="alerts")
    a2.set_ylabel("alerts", color="tab:red")
    a = ax[1, 0]
    bx = col(base, "threshold")
    for k, lab in (("effective_warning_rate", "effective"), ("strict_warning_rate", "strict"), ("recall", "recall"),
                   ("recall_non_sudden", "recall (non-sudden)")):
        a.plot(bx, col(base, k), marker=".", label=lab)
    a.axhline(target, color="grey", ls=":")
    a.set(xlabel="points threshold", ylabel="rate", title="baseline points table", ylim=(0, 1.02))
    a.legend(fontsize=8)
    a = ax[1, 1]
    a.plot(col(rows, "alerts"), col(rows, "recall"), marker=".", label="detector recall")
    a.plot(col(base, "alerts"), col(base, "recall"), marker="s", label="baseline recall")
    a.plot(col(rows, "alerts"), col(rows, "strict_warning_rate"), marker=".", ls="--", label="detector strict")
    a.plot(col(base, "alerts"), col(base, "strict_warning_rate"), marker="s", ls="--", label="baseline strict")
    a.set(xscale="symlog", xlabel="alerts (inspection workload)", ylabel="rate", title="same workload, side by side",
          ylim=(0, 1.02))
    a.legend(fontsize=8)
    fig.suptitle(f"threshold sweep on scenario {scenario}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
