"""Wage-arrears score quality: the default rules judged, untuned, on two draws.

The rules in rules/default.yaml were fitted and thresholded on yuhang with
seed 777 (see their description). Here they are judged on the default yuhang
seed and on yuhang-stress (another seed, twice the noise, six-week outages),
each beside the points-table baseline at the same alert volume.

    python -m bench.wage_score
"""
from __future__ import annotations

import json
from pathlib import Path

from simulators.commands import backtest

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = ("alerts", "effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "median_lead_days",
        "recall_lead_30d", "alerts_per_inspector_week", "outcomes")


def reliability() -> list[dict]:
    """Predicted against observed 90-day arrears, weekly snapshots of the default yuhang seed (not the fitted one)."""
    import numpy as np

    from detectors.calibrate import reliability_table
    from detectors.engine import SIGNALS
    from detectors.wage_score import ScoreParams, probability
    from earlywarn.settings import DEFAULT_RULES
    from rules.loader import load_rules
    from simulators.evaluation.fit import snapshots

    X, y, industries, _ = snapshots("yuhang", DEFAULT_RULES, progress=False)
    rules = load_rules(DEFAULT_RULES)
    p = probability(X, np.array([rules.industry_prior.get(i, 0.0) for i in industries]),
                    ScoreParams.from_rules(rules, SIGNALS))
    return reliability_table(p, y)


def main() -> None:
    out = {"command": "python -m bench.wage_score",
           "rules_made_by": ["earlywarn fit --scenario yuhang --seed 777 --out F --version V",
                             "earlywarn tune --scenario yuhang --seed 777 --rules F --target-ewr 0.9"]}
    for scenario in ("yuhang", "yuhang-stress"):
        r = backtest(scenario, progress=False)
        out[scenario] = {"rules_version": r["rules_version"], "seed": r["seed"], "enterprises": r["enterprises"],
                         "truth": r["truth"], "detector": {k: r.get(k) for k in KEYS},
                         "baseline": {k: r["baseline"].get(k) for k in KEYS + ("threshold",)},
                         "lift": r["lift"], "group_incidents": r["group_incidents"],
                         "recall_ceiling": r["recall_ceiling"]}
        d, b = r, r["baseline"]
        print(f"{scenario:14s} alerts {d['alerts']} EWR {d['effective_warning_rate']} strict {d['strict_warning_rate']} "
              f"recall {d['recall']} recall_ns {d['recall_non_sudden']} lead {d['median_lead_days']} | baseline alerts "
              f"{b['alerts']} EWR {b['effective_warning_rate']} strict {b['strict_warning_rate']} recall {b['recall']}"
              f" | recall ceiling (non-sudden) {r['recall_ceiling']['non_sudden']}")
    out["reliability_yuhang_untuned_seed"] = reliability()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "wage_score.json").write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
