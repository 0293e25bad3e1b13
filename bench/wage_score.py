"""Wage-arrears warnings judged where they were not fitted: other draws, other worlds, untuned.

1. The shipped rules (``rules/default.yaml``, fitted on yuhang and yuhang-hard
   with seeds 777 and 778) judged untuned on the default seeds of ``yuhang``,
   ``yuhang-stress``, ``yuhang-hard`` and ``yuhang-other`` (a world kept out of
   every fit): each list beside the points table at the same alert volume.
2. Cross-world: both lists fitted on ``yuhang`` alone (seeds 777 and 778) and
   judged on ``yuhang-hard`` (and, for reference, on yuhang's default seed).
3. The model that earns its place: the same fit with a sign-constrained
   logistic instead of trees, judged the same way.
4. Reliability of the shipped probabilities on a seed they were not fitted on.

    python -m bench.wage_score [--quick]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from simulators.evaluation.run import backtest

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = ("alerts", "effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "early_recall",
        "before_onset_share", "median_lead_days", "alerts_per_inspector_week", "categories",
        "recall_non_sudden_by_lead", "outcomes")
WORLDS = ("yuhang", "yuhang-stress", "yuhang-hard", "yuhang-other")


def judged(rules: Path | None, scenario: str) -> dict[str, Any]:
    """One backtest: each list and all alerts, beside the table at the same volume."""
    r = backtest(scenario, rules=rules, progress=False)
    out: dict[str, Any] = {"rules_version": r["rules_version"], "seed": r["seed"], "truth": r["truth"],
                           "recall_ceiling": r["recall_ceiling"]}
    for name, part in (("all", r), *r["lists"].items()):
        out[name] = {"detector": {k: part[k] for k in KEYS},
                     "baseline": {k: part["baseline"][k] for k in KEYS + ("threshold",)}, "lift": part["lift"]}
    return out


def line(world: str, name: str, part: dict[str, Any]) -> str:
    d, b = part["detector"], part["baseline"]
    return (f"{world:14s} {name:13s} alerts {d['alerts']:4d} EWR {d['effective_warning_rate']} strict "
            f"{d['strict_warning_rate']} recall {d['recall']} early {d['early_recall']} before-onset "
            f"{d['before_onset_share']} | table alerts {b['alerts']} EWR {b['effective_warning_rate']} strict "
            f"{b['strict_warning_rate']} recall {b['recall']} early {b['early_recall']} before-onset "
            f"{b['before_onset_share']}")


def fitted(scenarios: list[str], model: str, tmp: Path) -> Path:
    from simulators.evaluation.fit import fit_rules
    out = tmp / f"{model}-{'+'.join(scenarios)}.yaml"
    fit_rules(out, f"bench-{model}-{'+'.join(scenarios)}", scenarios=scenarios, seed=[777, 778], model=model,
              progress=False)
    return out


def reliability() -> dict[str, Any]:
    """Predicted against observed, per list, on a seed the shipped rules were not fitted on."""
    from detectors.calibrate import reliability_table
    from detectors.models import calibrated
    from earlywarn.settings import DEFAULT_RULES
    from rules.loader import load_rules
    from simulators.evaluation.fit import world_from_scenario
    from simulators.evaluation.tune import row_levels

    rules = load_rules(DEFAULT_RULES)
    out: dict[str, Any] = {}
    for scenario in ("yuhang", "yuhang-hard"):
        w = world_from_scenario(scenario, rules, seed=31)
        now = rules.lists["inspect_now"]
        p_now = calibrated(now.scorer().raw(w.X), now.knots())
        busy = row_levels(w.enterprise, p_now, now.thresholds.as_tuple(), now.hysteresis) > 0
        for name, lst in rules.lists.items():
            rows = w.candidate[name] & (~busy if name == "early_warning" else True)
            p = calibrated(lst.scorer().raw(w.X[rows]), lst.knots())
            out[f"{scenario}#31/{name}"] = reliability_table(p, w.y[name][rows])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="shipped rules only (no refits)")
    args = ap.parse_args()
    started = time.time()
    out: dict[str, Any] = {"command": "python -m bench.wage_score",
                           "shipped": {}, "cross_world": {}, "logistic": {}}
    for world in WORLDS:
        out["shipped"][world] = j = judged(None, world)
        for name in ("inspect_now", "early_warning", "all"):
            print(line(world, name, j[name]), flush=True)
    if not args.quick:
        with tempfile.TemporaryDirectory() as tmp:
            only_yuhang = fitted(["yuhang"], "trees", Path(tmp))
            for world in ("yuhang-hard", "yuhang"):
                out["cross_world"][f"fit yuhang#777+778 → {world}"] = j = judged(only_yuhang, world)
                for name in ("inspect_now", "early_warning"):
                    print("cross-world   " + line(world, name, j[name]), flush=True)
            logistic = fitted(["yuhang", "yuhang-hard"], "logistic", Path(tmp))
            for world in WORLDS:
                out["logistic"][world] = j = judged(logistic, world)
                for name in ("inspect_now", "early_warning"):
                    print("logistic      " + line(world, name, j[name]), flush=True)
        out["reliability"] = reliability()
    out["seconds"] = round(time.time() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "wage_score.json").write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
