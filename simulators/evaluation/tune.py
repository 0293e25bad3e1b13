"""Threshold sweep: score once, replay the level decision for many thresholds, judge each against the truth.

The score of an enterprise does not depend on the thresholds (they only decide
levels), so the engine runs once and records every score it computed; the
level logic of :mod:`detectors.enterprise` (``next_level`` with hysteresis,
announce on first entry, close on leaving every level) is replayed for each
candidate threshold set. At the rule file's own thresholds the replay gives
the engine's alerts exactly (tested).

Candidates: the blue threshold on a grid of probabilities, yellow and red a
fixed step above it in log-odds (:func:`ladder`). A candidate is chosen for an
**objective** (``recall``, ``early_recall``, ``before_onset_share``,
``strict_warning_rate``, ``recall_non_sudden``) with the effective warning rate
at its target: in every world at once when several are given (``fit``), so a
threshold that holds in one world only is never chosen.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from detectors.levels import LEVEL_NAMES, next_level
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules, parse_rules
from simulators.evaluation.backtest import DAY, TruthIndex, evaluate
from simulators.evaluation.run import backtest

OBJECTIVES = ("recall", "early_recall", "before_onset_share", "strict_warning_rate", "recall_non_sudden")
BLUE_GRID = np.round(np.geomspace(0.01, 0.95, 36), 4)
"""Entry thresholds tried: log-spaced, since an early warning's probabilities are small and an inspection's large."""
STEP_LOGIT = 0.5
"""yellow and red sit this many log-odds above blue and yellow: the spacing of the levels is kept."""
SHOWN = ("alerts", "effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "early_recall",
         "before_onset_share", "median_lead_days", "alerts_per_inspector_week")


@dataclass
class Replayed:
    subject_id: str
    raised: float
    check: float
    level: str


def ladder(blue: np.ndarray) -> np.ndarray:
    """(K, 3) thresholds: blue, and yellow and red each :data:`STEP_LOGIT` log-odds higher."""
    b = np.asarray(blue, dtype=float)
    lo = np.log(b / (1 - b))
    return np.round(np.stack([b, 1 / (1 + np.exp(-(lo + STEP_LOGIT))), 1 / (1 + np.exp(-(lo + 2 * STEP_LOGIT)))],
                             axis=1), 4)


def replay(scores: dict[str, list[tuple[float, float, float]]], thr: np.ndarray, hysteresis: float,
           deadlines: tuple[float, float, float], progress: bool = False) -> list[list[Replayed]]:
    """Alerts (first announcements) for each row of ``thr`` (K, 3) from recorded score sequences.

    ``scores``: enterprise → (raised, instant, score) in processing order.
    An alert is checked its level's deadline after it was raised.
    """
    k = len(thr)
    cols = (thr[:, 0], thr[:, 1], thr[:, 2])
    dl = np.array((0.0,) + tuple(deadlines))
    out: list[list[Replayed]] = [[] for _ in range(k)]
    floor = thr[:, 0].min() - hysteresis
    for ent, seq in tqdm(scores.items(), desc="replay", unit="enterprise", disable=not progress, leave=False,
                         mininterval=0.5):
        if max(s for _, _, s in seq) < floor:
            continue
        level = np.zeros(k, dtype=np.int8)
        announced = np.zeros(k, dtype=np.int8)
        for raised, _t, score in seq:
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


def row_levels(enterprise: np.ndarray, p: np.ndarray, thresholds: tuple[float, float, float],
               hysteresis: float) -> np.ndarray:
    """The level each row leaves its enterprise at, rows taken in the order they were scored."""
    level: dict[str, int] = {}
    out = np.zeros(len(p), dtype=np.int8)
    for k, (e, score) in enumerate(zip(enterprise.tolist(), p.tolist())):
        out[k] = level[e] = int(next_level(level.get(e, 0), float(score), thresholds, hysteresis))
    return out


def sequences(enterprise: np.ndarray, raised: np.ndarray, t: np.ndarray, p: np.ndarray
              ) -> dict[str, list[tuple[float, float, float]]]:
    """Score sequences per enterprise, in the order the rows were scored."""
    seqs: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for e, r, x, s in zip(enterprise.tolist(), raised.tolist(), t.tolist(), p.tolist()):
        seqs[e].append((r, x, s))
    return seqs


def sweep_sequences(seqs: dict[str, list[tuple[float, float, float]]], truth: TruthIndex, inspectors: int,
                    hysteresis: float, deadlines: Any, blue: np.ndarray = BLUE_GRID) -> list[dict[str, Any]]:
    """Metrics at every candidate threshold set (those whose blue lies above the hysteresis)."""
    thr = ladder(blue[blue > hysteresis + 0.005])
    per = replay(seqs, thr, hysteresis, (deadlines.blue, deadlines.yellow, deadlines.red))
    rows = []
    for t, alerts in zip(thr, per):
        m = evaluate(alerts, truth, inspectors)
        rows.append({"thresholds": tuple(float(x) for x in t), **{k: m[k] for k in SHOWN}})
    return rows


def sweep_scores(w: Any, p: np.ndarray, mask: np.ndarray | None = None, hysteresis: float = 0.02) -> dict[str, Any]:
    """A fitting world's rows with their (out-of-fold) probabilities, swept (see :mod:`simulators.evaluation.fit`).

    ``mask``: rows where the list may not alert (the early-warning list, while a firm is on inspect-now).
    """
    from rules.schema import Deadlines
    if mask is not None:
        p = np.where(mask, 0.0, p)
    rows = sweep_sequences(sequences(w.enterprise, w.raised, w.t, p), w.truth, w.inspectors, hysteresis, Deadlines())
    return {"world": w.name, "rows": rows}


@dataclass(frozen=True)
class Target:
    """What a list's thresholds must hold in every world: an effective warning rate, and/or a workload."""

    min_ewr: float | None = None
    max_weekly: float | None = None
    """alerts per inspector per week"""

    def holds(self, r: dict[str, Any]) -> bool:
        if not r["alerts"]:
            return False
        if self.min_ewr is not None and (r["effective_warning_rate"] or 0.0) < self.min_ewr:
            return False
        return self.max_weekly is None or r["alerts_per_inspector_week"] <= self.max_weekly

    def slack(self, r: dict[str, Any]) -> float:
        """How far a candidate is from holding (0 when it holds): for choosing the closest when none does."""
        gap = 0.0
        if self.min_ewr is not None:
            gap += max(0.0, self.min_ewr - (r["effective_warning_rate"] or 0.0))
        if self.max_weekly is not None:
            gap += max(0.0, r["alerts_per_inspector_week"] - self.max_weekly) / max(self.max_weekly, 1e-9)
        return gap if r["alerts"] else float("inf")

    def __str__(self) -> str:
        parts = ([f"EWR ≥ {self.min_ewr}"] if self.min_ewr is not None else []) + \
            ([f"≤ {self.max_weekly} alerts per inspector-week"] if self.max_weekly is not None else [])
        return " and ".join(parts) or "no constraint"


def choose(sweeps: list[dict[str, Any]], objective: str, target: Target) -> tuple[dict[str, Any], list[dict]]:
    """The candidate with the most ``objective`` (mean over worlds) that meets ``target`` in every world.

    If no candidate meets it everywhere, the one whose worst world comes closest.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    table = []
    for k in range(len(sweeps[0]["rows"])):
        per = [{"world": s["world"], **s["rows"][k]} for s in sweeps]
        table.append({"thresholds": per[0]["thresholds"], "worlds": per,
                      "worst_slack": max(target.slack(r) for r in per),
                      "mean_objective": float(np.mean([r[objective] or 0.0 for r in per])),
                      "met": all(target.holds(r) for r in per)})
    ok = [r for r in table if r["met"]]
    chosen = max(ok, key=lambda r: (r["mean_objective"], -r["thresholds"][0])) if ok else \
        min(table, key=lambda r: (r["worst_slack"], -r["mean_objective"]))
    return chosen, table


def alerts_at(w: Any, p: np.ndarray, thresholds: tuple[float, float, float], hysteresis: float,
              deadlines: Any) -> list[Replayed]:
    """The alerts a list raises over a world's rows at one threshold set."""
    thr = np.array([thresholds])
    return replay(sequences(w.enterprise, w.raised, w.t, p), thr, hysteresis,
                  (deadlines.blue, deadlines.yellow, deadlines.red))[0]


def sweep(scenario: str | None = None, list_name: str = "inspect_now", target: Target = Target(min_ewr=0.85),
          objective: str = "recall", out_dir: Path = Path("var/tune"), rules: Path | None = None,
          progress: bool = True, overrides: dict[str, Any] | None = None, events: Path | None = None,
          truth: Path | None = None) -> dict[str, Any]:
    """``earlywarn tune``: one backtest, the thresholds of one list swept; table, PNG plot and a rule file.

    The rule file written is ``rules`` with this list's thresholds replaced by
    the chosen ones. Judge it on another draw or another world before shipping.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    rules_path = Path(rules or DEFAULT_RULES)
    rule_file = load_rules(rules_path)
    if list_name not in rule_file.lists:
        raise ValueError(f"list must be one of {list(rule_file.lists)}, got {list_name!r}")
    rep = backtest(scenario, rules=rules_path, progress=False, keep_scores=True, overrides=overrides,
                   events=events, truth=truth)
    run, index, trace = rep.pop("_run"), rep.pop("_truth"), rep.pop("_trace")
    inspectors = int(round(rep["alerts"] / max(rep["alerts_per_inspector_week"], 1e-12) / (rep["days"] / 7.0))) \
        if rep["alerts"] else 40
    lst = rule_file.lists[list_name]
    rows = sweep_sequences(run.scores[list_name], index, inspectors, lst.hysteresis, rule_file.deadlines_days)
    chosen, _ = choose([{"world": rep["scenario"], "rows": rows}], objective, target)
    from simulators.evaluation.baseline import load_baseline
    table = load_baseline()
    base_rows = []
    for points in range(1, max(trace.max_points(), 1) + 1):
        m = evaluate(trace.alerts(points, table.cooldown_days, table.deadline_days), index, inspectors)
        base_rows.append({"threshold": points, **{k: m[k] for k in SHOWN}})
    out_dir.mkdir(parents=True, exist_ok=True)
    data = rule_file.model_dump(mode="json")
    data["version"] = f"{rule_file.version}+tuned-{list_name}"[:64]
    source = f"--scenario {scenario}" if scenario else f"--events {events}"
    seed = f" --seed {overrides['seed']}" if overrides and "seed" in overrides else ""
    pick = chosen["worlds"][0]
    data["description"] = (f"{rule_file.description.strip()} {list_name} thresholds chosen by `earlywarn tune "
                           f"{source}{seed} --list {list_name} --objective {objective}` ({target}): "
                           f"EWR {pick['effective_warning_rate']}, {objective} {pick[objective]}.")
    blue, yellow, red = chosen["thresholds"]
    data["lists"][list_name]["thresholds"] = {"blue": blue, "yellow": yellow, "red": red}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    parse_rules(text, "tuned rules")
    name = Path(scenario).stem if scenario else Path(str(events)).stem
    rules_out = out_dir / f"rules-{name}-{list_name}.yaml"
    rules_out.write_text(text, encoding="utf-8")
    plot = out_dir / f"tune-{name}-{list_name}.png"
    flat = [{"blue": r["thresholds"][0], **r} for r in rows]
    _plot(flat, base_rows, {"blue": blue}, target.min_ewr, plot, name, f"{rule_file.version} {list_name}", objective)
    result = {"scenario": scenario, "events": str(events) if events else None, "list": list_name,
              "objective": objective, "target": str(target), "met": chosen["met"],
              "chosen": {"thresholds": chosen["thresholds"], **pick}, "rows": flat, "baseline_rows": base_rows,
              "rules_file": str(rules_out), "plot": str(plot)}
    if progress:
        print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    def f(v: Any) -> str:
        return "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
    head = ("alerts", "EWR", "strict", "recall", "rec.ns", "early", "b.onset", "lead", "/insp/wk")
    keys = SHOWN
    print(f"{'blue':>6} {'yellow':>6} {'red':>6} " + " ".join(f"{h:>8}" for h in head))
    for r in result["rows"]:
        mark = " ←" if tuple(r["thresholds"]) == tuple(result["chosen"]["thresholds"]) else ""
        t = r["thresholds"]
        print(f"{t[0]:>6.3f} {t[1]:>6.3f} {t[2]:>6.3f} " + " ".join(f"{f(r[k]):>8}" for k in keys) + mark)
    print("baseline (points threshold):")
    for r in result["baseline_rows"]:
        print(f"{r['threshold']:>6d} {'':>13} " + " ".join(f"{f(r[k]):>8}" for k in keys))
    met = "met" if result["met"] else "NOT met (closest shown)"
    print(f"list {result['list']}, most {result['objective']} with {result['target']}: {met}; "
          f"rules → {result['rules_file']}; plot → {result['plot']}")


def _plot(rows: list[dict], base: list[dict], chosen: dict, target: float | None, path: Path, scenario: str,
          version: str, objective: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def col(rs: list[dict], k: str) -> np.ndarray:
        return np.array([np.nan if r[k] is None else r[k] for r in rs], dtype=float)

    fig, ax = plt.subplots(2, 2, figsize=(12, 8.5))
    x = col(rows, "blue")
    a = ax[0, 0]
    for k, lab in (("effective_warning_rate", "effective warning rate"), ("strict_warning_rate", "strict warning rate"),
                   ("recall", "recall"), ("early_recall", "early recall (30-90 d ahead)"),
                   ("before_onset_share", "share of alerts before onset")):
        a.plot(x, col(rows, k), marker=".", label=lab)
    if target is not None:
        a.axhline(target, color="grey", ls=":", label=f"target EWR {target}")
    a.axvline(chosen["blue"], color="k", ls="--", lw=0.8, label=f"chosen (most {objective})")
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
                   ("early_recall", "early recall"), ("before_onset_share", "before onset")):
        a.plot(bx, col(base, k), marker=".", label=lab)
    if target is not None:
        a.axhline(target, color="grey", ls=":")
    a.set(xlabel="points threshold", ylabel="rate", title="baseline points table", ylim=(0, 1.02))
    a.legend(fontsize=8)
    a = ax[1, 1]
    for k, style in (("effective_warning_rate", "-"), ("early_recall", "--"), ("before_onset_share", ":")):
        a.plot(col(rows, "alerts"), col(rows, k), marker=".", ls=style, label=f"detector {k}")
        a.plot(col(base, "alerts"), col(base, k), marker="s", ls=style, label=f"baseline {k}")
    a.set(xscale="symlog", xlabel="alerts (inspection workload)", ylabel="rate", title="same workload, side by side",
          ylim=(0, 1.02))
    a.legend(fontsize=7)
    fig.suptitle(f"threshold sweep on {scenario}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
