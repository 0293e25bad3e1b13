"""Fit the area-tension weights on one simulated draw (logistic regression on community-days).

Why a separate draw: weights set and judged on the same draw flatter
themselves; fit on one seed, then run ``earlywarn backtest`` on another and
read ``area_tension`` there. A community-day's label is 1 when a group
incident starts in that community within the next 14 days.

    python -m simulators.evaluation.tension_fit --scenario yuhang --seed 20251
"""
from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from detectors.area_tension import FEATURES, score
from rules.loader import load_rules
from earlywarn.settings import DEFAULT_RULES
from simulators.evaluation.backtest import DecodeStats
from simulators.evaluation.baseline import load_baseline
from simulators.evaluation.logbacktest import TENSION_HORIZON_DAYS, run_log
from simulators.evaluation.logfiles import iter_lines
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from simulators.world.truth import Truth, epoch0

DAY = 86400.0


def labelled(rows: list[tuple[str, int, list[float]]], truth: Truth, utc_offset_hours: float = 8.0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels: 1 when an incident starts in the community in the ``TENSION_HORIZON_DAYS`` after the day."""
    t0 = epoch0(truth.start)
    starts: dict[str, list[int]] = defaultdict(list)
    for g in truth.incidents:
        if 0 <= g.start < truth.days:
            starts[g.area_code[:12]].append(math.floor((t0 + g.start * DAY + utc_offset_hours * 3600) / DAY))
    x = np.array([r[2] for r in rows], dtype=float)
    y = np.array([any(day < s <= day + TENSION_HORIZON_DAYS for s in starts.get(c, ())) for c, day, _ in rows])
    return x, y.astype(int)


def collect(scenario: str, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the backtest's pass over a generated draw, recording every community-day's tension features."""
    s = load_scenario(scenario, **({"seed": seed} if seed is not None else {}))
    gen = generate(s)
    rows: list[tuple[str, int, list[float]]] = []
    stats = DecodeStats()
    run_log(iter_lines(gen.lines, f"<scenario {s.name}>", stats.problems), load_rules(DEFAULT_RULES),
            load_baseline(), stats, tension_rows=rows)
    return labelled(rows, gen.truth)


def fit(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> dict[str, float]:
    """L2-regularised logistic regression; the weights as :data:`detectors.area_tension.WEIGHTS` holds them.

    A weight the sources say raises risk is not let below 0 (the simulator has no Spring Festival peak in its
    gatherings; the sources have one): it is refitted without that feature's pull, i.e. held at 0.
    """
    keep = np.ones(len(FEATURES), dtype=bool)
    while True:
        model = LogisticRegression(C=c, max_iter=1000).fit(x[:, keep], y)
        coef = np.zeros(len(FEATURES))
        coef[keep] = model.coef_[0]
        if (coef >= 0).all():
            break
        keep &= coef >= 0
    out = {"intercept": round(float(model.intercept_[0]), 3)}
    out.update({f: round(float(w), 3) for f, w in zip(FEATURES, coef)})
    return out


def levels_at(x: np.ndarray, weights: dict[str, float], shares: tuple[float, ...] = (0.01, 0.003, 0.001)
              ) -> list[float]:
    """Blue, yellow, red thresholds: the scores that this share of community-days reach (1 %, 0.3 %, 0.1 %)."""
    p = score(x, weights)
    return [round(float(np.quantile(p, 1 - s)), 4) for s in shares]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="yuhang")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--judge-seed", type=int, default=None, help="a second draw to judge the fitted weights on (AUC)")
    args = ap.parse_args(argv)
    x, y = collect(args.scenario, args.seed)
    weights = fit(x, y)
    report = {"scenario": args.scenario, "seed": args.seed, "community_days": int(len(y)), "positives": int(y.sum()),
              "weights": weights, "levels": levels_at(x, weights),
              "auc_fit_draw": round(float(roc_auc_score(y, score(x, weights))), 3),
              "feature_means": {"positive": dict(zip(FEATURES, np.round(x[y == 1].mean(axis=0), 3).tolist())),
                                "negative": dict(zip(FEATURES, np.round(x[y == 0].mean(axis=0), 3).tolist()))}}
    if args.judge_seed is not None:
        xj, yj = collect(args.scenario, args.judge_seed)
        report["judge_seed"] = args.judge_seed
        report["auc_judge_draw"] = round(float(roc_auc_score(yj, score(xj, weights))), 3)
        for k, f in enumerate(FEATURES):
            report.setdefault("auc_judge_draw_by_feature", {})[f] = round(float(roc_auc_score(yj, xj[:, k])), 3)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
