"""Fit the two alert lists' models on simulated worlds or a district's own history, and write a rule file.

Rows: the engine is replayed over each event log exactly as in the backtest
(same decoding, same delivery-day batches), and every enterprise instant it
scores is kept: the feature row (:mod:`detectors.features`), when it was
delivered, and two labels from the truth, as the report judges alerts:

* ``inspect_now`` — an inspector checking after the yellow deadline finds
  arrears or distress, or arrears begin within the horizon (the effective
  warning rate's hit);
* ``early_warning`` — the firm is not yet in arrears and they begin within the
  horizon (``before_onset``); rows already in arrears are left out of this
  list's fit, being no longer early.

Models: gradient-boosted trees (scikit-learn's HistGradientBoosting with the
monotone constraints of :data:`detectors.features.MONOTONE`, exported to the
numpy ensemble the engine evaluates, checked equal to scikit-learn's own
prediction) or a sign-constrained logistic. The probability is an isotonic map
fitted on enterprises held out of the model fit. Thresholds are then chosen
by replaying the held-out scores through the level logic (as ``tune`` does):
the most ``objective`` with the effective warning rate at its target in
*every* world fitted on, so a threshold that only works in one world is not
chosen.

With a recorded log (``--events/--truth``) the fit is time-split: the model,
its calibration and thresholds see only instants delivered before
``train_until``; the report then judges them on the later months.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from detectors.calibrate import fit_logistic, isotonic_knots, reliability_table
from detectors.engine import Instant
from detectors.features import FEATURES, MONOTONE
from detectors.models import Logistic, TreeEnsemble, calibrated
from rules.loader import parse_rules
from simulators.evaluation.backtest import DAY, DecodeStats, TruthIndex, decided_at
from simulators.evaluation.baseline import load_baseline
from simulators.evaluation.logbacktest import LogPass, run_log
from simulators.evaluation.logfiles import iter_lines, read_events
from simulators.evaluation.run import truth_from_doc
from simulators.evaluation.truthfile import read_truth
from simulators.evaluation.tune import Target, choose, row_levels, sweep_scores
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from simulators.world.truth import CST, epoch0

CHECK_DAYS = 3.0
"""Rows are labelled as an alert raised then would be judged: checked after the yellow deadline."""
LISTS = ("inspect_now", "early_warning")


@dataclass
class World:
    """The rows of one event log and the truth they are labelled by."""

    name: str
    truth: TruthIndex
    inspectors: int
    X: np.ndarray
    enterprise: np.ndarray
    t: np.ndarray
    """instant (event time)"""
    raised: np.ndarray
    """when an alert at that instant could have been seen (delivery)"""
    y: dict[str, np.ndarray] = field(default_factory=dict)
    candidate: dict[str, np.ndarray] = field(default_factory=dict)
    """rows each list may alert on (early warning: not yet in arrears)"""

    def label(self) -> None:
        cats = [self.truth.category(e, r, r + CHECK_DAYS * DAY) for e, r in zip(self.enterprise.tolist(),
                                                                                   self.raised.tolist())]
        hit = [self.truth.outcome(e, r + CHECK_DAYS * DAY, r)[0] != "no_risk"
               for e, r in zip(self.enterprise.tolist(), self.raised.tolist())]
        cat = np.array(cats)
        self.y = {"inspect_now": np.array(hit, dtype=bool), "early_warning": cat == "before_onset"}
        self.candidate = {"inspect_now": np.ones(len(cat), bool), "early_warning": cat != "already_in_arrears"}


def collect(items: Iterable[Any], rules: Any, stats: DecodeStats, progress: bool = False
            ) -> tuple[list[Instant], list[float], LogPass]:
    """Replay a log through the engine as the backtest does; every scored instant, dated as its alert would be."""
    rows: list[Instant] = []
    raised: list[float] = []
    decided = [0.0]

    def on_batch(batch: list[Any]) -> None:
        decided[0] = decided_at(batch)

    def record(instants: list[Instant]) -> None:
        for x in instants:
            rows.append(x)
            raised.append(max(decided[0], x.t))

    lp = run_log(items, rules, load_baseline(), stats, progress=progress, record=record, before_batch=on_batch)
    return rows, raised, lp


def world_from_scenario(scenario: str, rules: Any, seed: int | None = None, progress: bool = False,
                        **overrides: Any) -> World:
    s = load_scenario(scenario, **({"seed": seed} if seed is not None else {}), **overrides)
    gen = generate(s, progress=progress)
    stats = DecodeStats()
    instants, raised, _ = collect(iter_lines(gen.lines, f"<scenario {s.name}>", stats.problems), rules, stats,
                                  progress)
    return _world(f"{s.name}#{s.seed}", TruthIndex(gen.truth), s.inspectors, instants, raised)


def world_from_log(events: Path, truth: Path, rules: Any, progress: bool = False) -> World:
    doc = read_truth(truth)
    stats = DecodeStats()
    instants, raised, lp = collect(read_events(Path(events), stats.problems, progress=progress), rules, stats)
    source = truth_from_doc(doc, lp)
    return _world(doc.scenario or Path(events).name, TruthIndex(source.truth, source.verified), source.inspectors,
                  instants, raised)


def _world(name: str, truth: TruthIndex, inspectors: int, instants: list[Instant], raised: list[float]) -> World:
    X = np.vstack([x.row for x in instants]) if instants else np.zeros((0, len(FEATURES)))
    w = World(name, truth, inspectors, X, np.array([x.enterprise_id for x in instants], dtype=object),
              np.array([x.t for x in instants]), np.array(raised))
    w.label()
    return w


def subset(w: World, keep: np.ndarray) -> World:
    return dataclasses.replace(w, X=w.X[keep], enterprise=w.enterprise[keep], t=w.t[keep], raised=w.raised[keep],
                               y={k: v[keep] for k, v in w.y.items()},
                               candidate={k: v[keep] for k, v in w.candidate.items()})


# -- models -------------------------------------------------------------------------------------------

def fit_trees(X: np.ndarray, y: np.ndarray, seed: int = 0, max_iter: int = 300) -> TreeEnsemble:
    """Boosted trees with monotone constraints; the export is checked against scikit-learn's own prediction."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    cst = [MONOTONE.get(f, 0) for f in FEATURES]
    clf = HistGradientBoostingClassifier(
        loss="log_loss", learning_rate=0.06, max_iter=max_iter, max_leaf_nodes=15, min_samples_leaf=100,
        l2_regularization=1.0, monotonic_cst=cst, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=25, random_state=seed)
    # one thread: OpenMP's spinning workers slow a fit down tenfold when the two cores are shared (a worker,
    # a test, a benchmark), and one thread gives the same trees on every machine
    with threadpool_limits(limits=1, user_api="openmp"):
        clf.fit(X, y)
    ens = export_trees(clf)
    probe = X[np.random.default_rng(seed).choice(len(X), size=min(len(X), 5000), replace=False)]
    gap = np.abs(ens.raw(probe) - clf.decision_function(probe)).max()
    if gap > 1e-6:
        raise RuntimeError(f"exported trees disagree with scikit-learn by {gap:.2e} in log-odds")
    return ens


def export_trees(clf: Any) -> TreeEnsemble:
    """Flatten a fitted binary HistGradientBoostingClassifier into :class:`TreeEnsemble` arrays."""
    feature, threshold, left, right, value, count, roots = [], [], [], [], [], [], []
    for (pred,) in clf._predictors:
        nodes = pred.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits are not supported by the engine's tree evaluator")
        off = len(feature)
        roots.append(off)
        leaf = nodes["is_leaf"].astype(bool)
        val = nodes["value"].astype(float).copy()
        cnt = nodes["count"].astype(float)
        for i in range(len(nodes) - 1, -1, -1):          # children come after parents: fill inner values bottom-up
            if not leaf[i]:
                a, b = int(nodes["left"][i]), int(nodes["right"][i])
                val[i] = (val[a] * cnt[a] + val[b] * cnt[b]) / max(cnt[a] + cnt[b], 1e-12)
        feature.extend(np.where(leaf, -1, nodes["feature_idx"]).tolist())
        threshold.extend(np.where(leaf, 0.0, nodes["num_threshold"]).tolist())
        left.extend(np.where(leaf, -1, nodes["left"].astype(np.int64) + off).tolist())
        right.extend(np.where(leaf, -1, nodes["right"].astype(np.int64) + off).tolist())
        value.extend(val.tolist())
        count.extend(cnt.tolist())
    return TreeEnsemble(feature=np.array(feature), threshold=np.array(threshold), left=np.array(left),
                        right=np.array(right), value=np.array(value), count=np.array(count), roots=np.array(roots),
                        base=float(np.ravel(clf._baseline_prediction)[0]))


def fit_sign_logistic(X: np.ndarray, y: np.ndarray) -> Logistic:
    """A logistic whose weights keep the signs of :data:`MONOTONE` (free where it says nothing)."""
    sign = np.array([MONOTONE.get(f, 0) for f in FEATURES], dtype=float)
    scale = np.maximum(X.std(axis=0), 1e-9)
    free = sign == 0
    # fit_logistic bounds weights at ≥ 0: flip decreasing features, and give free ones both signs
    Z = np.hstack([X / scale * np.where(sign < 0, -1.0, 1.0), -X[:, free] / scale[free]])
    fit = fit_logistic(Z, y, groups=np.zeros(len(X), dtype=int), n_groups=1, l2=1e-5)
    k = len(FEATURES)
    w = fit.weights[:k] * np.where(sign < 0, -1.0, 1.0)
    w[free] -= fit.weights[k:]
    return Logistic(float(fit.intercept), w / scale)


# -- the whole fit ------------------------------------------------------------------------------------

def _auc(score: np.ndarray, y: np.ndarray) -> float | None:
    pos, neg = int(y.sum()), int((~y).sum())
    if not pos or not neg:
        return None
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    return round(float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg)), 4)


def _subsample(y: np.ndarray, rng: np.random.Generator, negatives: float) -> np.ndarray:
    """All positives and a share of the negatives (the rest of the rows say the same thing)."""
    return y | (rng.random(len(y)) < negatives)


DEFAULT_TARGETS: dict[str, tuple[str, Target]] = {
    "inspect_now": ("recall", Target(min_ewr=0.85)),
    "early_warning": ("early_recall", Target(max_weekly=0.25)),
}
"""Inspect now: the most recall with 85% of visits finding arrears or distress, in every world fitted on.
Early warning: the most early recall within a quarter of an alert per inspector a week (about 500 a year for a
district's 40 inspectors), in every world."""


FOLDS = 4


def fit_lists(worlds: list[World], model: str = "trees", seed: int = 0, negatives: float = 0.35,
              targets: dict[str, tuple[str, Target]] | None = None, progress: bool = False) -> dict[str, Any]:
    """Fit both lists on ``worlds``; models, calibrations, thresholds and a report per list.

    Cross-fitted: the enterprises are split in :data:`FOLDS` by a hash of their
    credit code; each fold is scored by a model fitted on the others, so every
    row has an out-of-fold score. The calibration is fitted, and the thresholds
    chosen, on those out-of-fold scores of every firm; the model shipped is
    fitted on all of them. Inspect-now first: the early-warning list is fitted
    and judged on the instants where the firm is not on the inspect-now list
    (as the engine runs it) and not yet in arrears.
    """
    targets = targets or DEFAULT_TARGETS
    rng = np.random.default_rng(seed)
    fold = [fold_of(w.enterprise) for w in worlds]
    out: dict[str, Any] = {}
    on_now = [np.zeros(len(w.X), dtype=bool) for w in worlds]
    for name in LISTS:
        rows = [w.candidate[name] & ~busy for w, busy in zip(worlds, on_now)]

        def fit_on(parts: list[np.ndarray]) -> Any:
            X = np.vstack([w.X[m] for w, m in zip(worlds, parts)])
            y = np.concatenate([w.y[name][m] for w, m in zip(worlds, parts)])
            keep = _subsample(y, rng, negatives)
            return (fit_trees(X[keep], y[keep], seed) if model == "trees" else fit_sign_logistic(X[keep], y[keep]),
                    int(keep.sum()), int(y[keep].sum()))

        oof = [np.zeros(len(w.X)) for w in worlds]
        for k in range(FOLDS):
            scorer_k, _, _ = fit_on([r & (f != k) for r, f in zip(rows, fold)])
            for w, f, o in zip(worlds, fold, oof):
                o[f == k] = scorer_k.raw(w.X[f == k])
        scorer, n_fit, n_pos = fit_on(rows)
        raw_cal = np.concatenate([o[r] for o, r in zip(oof, rows)])
        y_cal = np.concatenate([w.y[name][r] for w, r in zip(worlds, rows)])
        knots = isotonic_knots(raw_cal, y_cal)
        p_cal = calibrated(raw_cal, knots)
        objective, target = targets[name]
        sweeps = [sweep_scores(w, calibrated(o, knots), mask=busy) for w, o, busy in zip(worlds, oof, on_now)]
        chosen, table = choose(sweeps, objective, target)
        out[name] = {"scorer": scorer, "knots": knots, "thresholds": chosen["thresholds"],
                     "report": {"rows_fitted": n_fit, "positives_fitted": n_pos,
                                "auc_out_of_fold": _auc(raw_cal, y_cal),
                                "reliability_out_of_fold": reliability_table(p_cal, y_cal),
                                "objective": objective, "target": str(target), "chosen": chosen, "sweep": table}}
        if name == "inspect_now":
            on_now = [row_levels(w.enterprise, calibrated(o, knots), chosen["thresholds"], 0.02) > 0
                      for w, o in zip(worlds, oof)]
        if progress:
            print(f"{name}: out-of-fold AUC {out[name]['report']['auc_out_of_fold']}; thresholds "
                  f"{chosen['thresholds']}; per world (alerts, EWR, {objective}) "
                  f"{[(m['world'], m['alerts'], m['effective_warning_rate'], m[objective]) for m in chosen['worlds']]}")
    return out


def fold_of(enterprise: np.ndarray) -> np.ndarray:
    """Each enterprise's fold, from a hash of its id: stable across runs and worlds."""
    return np.array([int(hashlib.sha256(e.encode()).hexdigest()[:8], 16) % FOLDS for e in enterprise.tolist()])


def evidence_only(path: Path) -> Any:
    """The evidence channels of a rule file (of any engine version), with placeholder models: what a fit needs to
    replay a log. The features and models of the file are ignored; the channels are validated."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    placeholder = {"model": {"kind": "logistic", "intercept": -10.0, "weights": {}},
                   "thresholds": {"blue": 0.5, "yellow": 0.6, "red": 0.7}, "hysteresis": 0.02}
    doc = {"version": "evidence-only", "signals": {k: {f: v for f, v in ch.items() if f != "weight"}
                                                   for k, ch in (data or {}).get("signals", {}).items()},
           "features": list(FEATURES), "lists": {n: placeholder for n in LISTS},
           "deadlines_days": (data or {}).get("deadlines_days", {}), "horizon_days": (data or {}).get("horizon_days", 90)}
    return parse_rules(yaml.safe_dump(doc), f"{path} (evidence channels)")


def rule_file(base_rules_path: Path, fitted: dict[str, Any], version: str, description: str) -> str:
    """The YAML of a rule file with ``fitted`` lists, the evidence channels of ``base_rules_path``."""
    base = evidence_only(base_rules_path).model_dump(mode="json")
    data: dict[str, Any] = {"version": version, "description": description, "signals": base["signals"],
                            "features": list(FEATURES), "lists": {},
                            "deadlines_days": base["deadlines_days"], "horizon_days": base["horizon_days"]}
    for name in LISTS:
        f = fitted[name]
        scorer = f["scorer"]
        if isinstance(scorer, TreeEnsemble):
            model: dict[str, Any] = {"kind": "trees", "trees": int(len(scorer.roots)), "blob": scorer.to_blob()}
        else:
            model = {"kind": "logistic", "intercept": round(scorer.intercept, 6),
                     "weights": {k: round(float(v), 6) for k, v in zip(FEATURES, scorer.weights) if v != 0}}
        knots, probs = f["knots"]
        blue, yellow, red = f["thresholds"]
        data["lists"][name] = {
            "description": LIST_PURPOSE[name], "model": model,
            "calibration": {"logit": [round(float(k), 5) for k in knots],
                            "probability": [min(max(float(f"{q:.4g}"), 1e-5), 0.9999) for q in probs]},
            "thresholds": {"blue": blue, "yellow": yellow, "red": red}, "hysteresis": 0.02}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    parse_rules(text, "fitted rules")          # what is written must validate
    return text


LIST_PURPOSE = {
    "inspect_now": "firms that show wage-arrears risk today, ranked for the effective warning rate (inspect now)",
    "early_warning": "firms not yet in arrears, ranked for an arrears onset within 90 days (a visit that may prevent it)",
}


def fit_rules(out: Path, version: str, scenarios: list[str] | None = None, seed: int | list[int] | None = None,
              events: Path | None = None, truth: Path | None = None, train_until: date | None = None,
              rules: Path | None = None, model: str = "trees", progress: bool = True,
              targets: dict[str, tuple[str, Target]] | None = None, overrides: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """``earlywarn fit``: worlds (scenarios, or a recorded log split in time) → a rule file and a report."""
    from earlywarn.settings import DEFAULT_RULES

    if bool(scenarios) == (events is not None):
        raise ValueError("give --scenario (one or more) or --events with --truth, not both and not neither")
    if events is not None and truth is None:
        raise ValueError("--events needs --truth (the ground truth the rows are labelled by)")
    base_path = Path(rules or DEFAULT_RULES)
    base = evidence_only(base_path)
    later: World | None = None
    if scenarios:
        seeds = seed if isinstance(seed, list) else [seed]
        worlds = [world_from_scenario(s, base, k, progress, **(overrides or {})) for s in scenarios for k in seeds]
        given = " ".join(f"--scenario {s}" for s in scenarios) + "".join(f" --seed {k}" for k in seeds if k is not None)
    else:
        assert events is not None and truth is not None
        whole = world_from_log(events, truth, base, progress)
        split = _split_time(whole, train_until)
        worlds = [subset(whole, whole.raised < split)]
        later = whole
        given = f"--events {events} --truth {truth} --train-until {datetime.fromtimestamp(split, CST).date()}"
    fitted = fit_lists(worlds, model=model, targets=targets, progress=progress)
    desc = (f"Fitted by `earlywarn fit {given} --model {model}`: "
            + "; ".join(f"{n}: {fitted[n]['report']['positives_fitted']} positives in "
                        f"{fitted[n]['report']['rows_fitted']} rows, out-of-fold AUC {fitted[n]['report']['auc_out_of_fold']}, "
                        f"thresholds for the most {fitted[n]['report']['objective']} with "
                        f"{fitted[n]['report']['target']} in every world" for n in LISTS))
    text = rule_file(base_path, fitted, version, desc)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    report: dict[str, Any] = {"rules": str(out), "version": version, "model": model,
                              "worlds": [w.name for w in worlds],
                              "lists": {n: {k: v for k, v in fitted[n]["report"].items() if k != "sweep"} for n in LISTS}}
    if later is not None:
        report["later_months"] = judge_later(later, split, parse_rules(text, str(out)))
    return report


def _split_time(w: World, train_until: date | None) -> float:
    if train_until is not None:
        return epoch0(train_until)
    lo, hi = float(w.raised.min()), float(w.raised.max())
    day = math.floor((lo + (hi - lo) * 2 / 3 - epoch0(date(2000, 1, 1))) / DAY)
    return epoch0(date(2000, 1, 1)) + day * DAY


def judge_later(w: World, split: float, rules: Any) -> dict[str, Any]:
    """The fitted lists judged on the months after ``split`` only: alerts raised then, episodes starting then."""
    from simulators.evaluation.tune import alerts_at
    tr = w.truth.truth
    split_day = (split - epoch0(tr.start)) / DAY
    later_truth = TruthIndex(dataclasses.replace(tr, warmup_days=max(tr.warmup_days, math.ceil(split_day))),
                             w.truth.verified)
    out: dict[str, Any] = {"from": datetime.fromtimestamp(split, CST).date().isoformat()}
    after = w.raised >= split
    for name, lst in rules.lists.items():
        scorer, knots = lst.scorer(), lst.knots()
        p = calibrated(scorer.raw(w.X), knots)
        alerts = [a for a in alerts_at(w, p, lst.thresholds.as_tuple(), lst.hysteresis, rules.deadlines_days)
                  if a.raised >= split]
        from simulators.evaluation.backtest import evaluate
        m = evaluate(alerts, later_truth, w.inspectors)
        sel = after & w.candidate[name]
        out[name] = {"auc": _auc(p[sel], w.y[name][sel]), **{k: m[k] for k in (
            "alerts", "effective_warning_rate", "strict_warning_rate", "recall", "recall_non_sudden", "early_recall",
            "before_onset_share", "categories")}}
    return out
