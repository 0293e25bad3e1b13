"""Fit the wage-arrears weights on one simulated draw and write a rule file.

The engine is replayed over the scenario exactly as in the backtest (same
decoding, same day batches). Once a week every enterprise's evidence is
decayed to the end of the day and labelled from the truth as the backtest's
strict rate counts a hit: is the enterprise in arrears now, or does an
episode begin within the next 90 days? (An inspector who arrives during
arrears confirms them; signals such as wage complaints mostly come then.) :func:`detectors.calibrate.fit_logistic`
then fits non-negative weights and industry offsets, and an isotonic map from
the fitted log-odds to the observed frequency (the rule file's
``calibration``); the evidence itself
(half-lives, caps, extractors) is unchanged, so a fitted file is a drop-in
replacement. Judge the result with ``earlywarn backtest`` on *another* seed.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm import tqdm

from detectors.calibrate import fit_logistic, isotonic_knots, reliability_table
from detectors.engine import SIGNALS, WageArrearsEngine
from detectors.wage_score import ScoreParams, decay, probability, raw_logit
from rules.loader import load_rules, parse_rules
from simulators.evaluation.backtest import DAY, HORIZON_DAYS, TruthIndex, decode_log
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from simulators.world.truth import epoch0


def snapshots(scenario: str, rules_path: Path, every_days: int = 7, progress: bool = True,
              **overrides: Any) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Evidence X, labels y, industries and snapshot times from one replay."""
    s = load_scenario(scenario, **overrides)
    rules = load_rules(rules_path)
    gen = generate(s, progress=progress)
    t0 = epoch0(s.start)
    log = decode_log(gen.lines, t0, progress=progress, total=len(gen.lines))
    truth = TruthIndex(gen.truth)
    engine = WageArrearsEngine(rules)
    params = ScoreParams.from_rules(rules, SIGNALS)
    store: dict[str, Any] = {}
    by_day: dict[int, list] = defaultdict(list)
    for d, ev in log.events:
        by_day[d].append(ev)
    X, y, industries, times = [], [], [], []
    last_day = max(by_day) if by_day else 0
    for d in tqdm(range(min(by_day, default=0), last_day + 1), desc="snapshots", unit="day", disable=not progress):
        if by_day.get(d):
            store.update(engine.run(by_day[d], store.get).touched)
        if d % every_days or d * DAY > s.days * DAY - HORIZON_DAYS * DAY:
            continue
        t = t0 + (d + 1) * DAY
        for enterprise_id, state in store.items():
            episodes = truth.arrears.get(enterprise_id, [])
            X.append(decay(state.evidence, (t - (state.t or t)) / DAY, params))
            y.append(any(a <= t + HORIZON_DAYS * DAY and t < b for a, b in episodes))
            industries.append(state.industry or "other")
            times.append(t)
    return np.array(X), np.array(y, dtype=bool), industries, np.array(times)


def fit_rules(scenario: str, rules_path: Path, out: Path, version: str, progress: bool = True,
              **overrides: Any) -> dict[str, Any]:
    """Fit weights, write a rule file beside the thresholds of ``rules_path``; return the fit report."""
    X, y, industries, _ = snapshots(scenario, rules_path, progress=progress, **overrides)
    names = sorted(set(industries))
    groups = np.array([names.index(i) for i in industries])
    fit = fit_logistic(X, y, groups, len(names))
    data = yaml.safe_load(Path(rules_path).read_text(encoding="utf-8"))
    data["version"] = version
    given = "".join(f" --{k} {v}" for k, v in overrides.items())
    data["description"] = (f"Weights fitted by `earlywarn fit --scenario {scenario}{given}` (maximum likelihood, "
                           f"non-negative, L2 1e-6): {fit.n} weekly enterprise snapshots, label = in arrears now or "
                           f"within 90 days.")
    data["intercept"] = round(fit.intercept, 4)
    data["industry_prior"] = {n: round(float(o), 4) for n, o in zip(names, fit.offsets)}
    for name, w in zip(SIGNALS, fit.weights):
        data["signals"][name]["weight"] = round(float(w), 4)
    data.pop("calibration", None)
    uncalibrated = ScoreParams.from_rules(parse_rules(yaml.safe_dump(data), "fitted weights"), SIGNALS)
    offsets = np.array([data["industry_prior"].get(i, 0.0) for i in industries])
    knots, probs = isotonic_knots(raw_logit(X, offsets, uncalibrated), y)
    data["calibration"] = {"logit": [round(float(k), 4) for k in knots], "probability": [float(f"{q:.4g}") for q in probs]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    fitted = load_rules(out)  # the written file must validate
    params = ScoreParams.from_rules(fitted, SIGNALS)
    p = probability(X, offsets, params)
    raw = 1.0 / (1.0 + np.exp(-raw_logit(X, offsets, params)))
    return {"rules": str(out), "snapshots": int(fit.n), "positives": int(y.sum()), "log_loss": fit.log_loss,
            "reliability_before_calibration": reliability_table(raw, y),
            "weights": dict(zip(SIGNALS, map(float, fit.weights))), "reliability": reliability_table(p, y)}
