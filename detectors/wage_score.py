"""Wage-arrears risk: decaying evidence combined into a probability.

Every function here works on numpy arrays whose last axis is the signal
channel, so the stream (one enterprise, shape ``(S,)``) and the backtest
(many enterprises, shape ``(N, S)``) run the identical maths.

The model is logistic: log-odds = intercept + industry prior + Σ wₛ·eₛ, with
each channel's evidence eₛ decaying by its half-life and saturating at a cap.
Contributions wₛ·eₛ are what an inspector is shown as reasons.

>>> p = ScoreParams(weights=np.array([1.0, 2.0]), half_lives=np.array([30.0, 60.0]),
...                 combine_max=np.array([True, False]), caps=np.array([3.0, 3.0]),
...                 intercept=-4.0, labels=("a", "b"))
>>> e = apply_evidence(np.zeros(2), np.array([1]), np.array([1.0]), p)
>>> round(float(probability(e, 0.0, p)), 3)
0.119
>>> round(float(decay(e, 60.0, p)[1]), 2)
0.5
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ScoreParams:
    """Rule-file numbers as arrays, in signal-channel order."""

    weights: np.ndarray
    half_lives: np.ndarray
    combine_max: np.ndarray
    caps: np.ndarray
    intercept: float
    labels: tuple[str, ...]
    signals: tuple[str, ...] = ()
    industry_prior: dict[str, float] | None = None
    calibration: tuple[np.ndarray, np.ndarray] | None = None
    """(raw log-odds knots, probabilities): a monotone recalibration, interpolated between knots"""

    @classmethod
    def from_rules(cls, rules: Any, signals: tuple[str, ...]) -> "ScoreParams":
        """Build from a validated rule file (duck-typed: ``rules.signals[name].weight`` …)."""
        rs = [rules.signals[s] for s in signals]
        return cls(
            weights=np.array([r.weight for r in rs], dtype=float),
            half_lives=np.array([r.half_life_days for r in rs], dtype=float),
            combine_max=np.array([r.combine == "max" for r in rs]),
            caps=np.array([r.cap for r in rs], dtype=float),
            intercept=float(rules.intercept),
            labels=tuple(r.label for r in rs),
            signals=signals,
            industry_prior=dict(rules.industry_prior),
            calibration=(None if getattr(rules, "calibration", None) is None else
                         (np.array(rules.calibration.logit, dtype=float),
                          np.array(rules.calibration.probability, dtype=float))),
        )

    def prior(self, industry: str | None) -> float:
        return (self.industry_prior or {}).get(industry or "", 0.0)


def decay(evidence: np.ndarray, dt_days: np.ndarray | float, p: ScoreParams) -> np.ndarray:
    """Evidence after ``dt_days`` (≥ 0; broadcast over leading axes)."""
    dt = np.maximum(np.asarray(dt_days, dtype=float), 0.0)
    if dt.ndim:
        dt = dt[..., None]
    return evidence * np.exp2(-dt / p.half_lives)


def apply_evidence(evidence: np.ndarray, signal_idx: np.ndarray, strength: np.ndarray,
                   p: ScoreParams, rows: np.ndarray | None = None) -> np.ndarray:
    """Add new evidence at one instant: max for state reports, sum for incidents.

    Within one instant the result does not depend on the order of the items.
    ``rows`` selects the enterprise row of each item in a 2-D batch.
    """
    out = evidence.copy()
    if rows is None and len(signal_idx) <= 8:  # one enterprise, a few items: a loop beats ufunc.at
        for i, v in zip(signal_idx.tolist(), strength.tolist()):
            out[i] = max(out[i], v) if p.combine_max[i] else out[i] + v
        return np.minimum(out, p.caps)
    idx = (signal_idx,) if rows is None else (rows, signal_idx)
    is_max = p.combine_max[signal_idx]
    if is_max.any():
        sel = tuple(i[is_max] for i in idx)
        np.maximum.at(out, sel, strength[is_max])
    if (~is_max).any():
        sel = tuple(i[~is_max] for i in idx)
        np.add.at(out, sel, strength[~is_max])
    return np.minimum(out, p.caps)


def contributions(evidence: np.ndarray, p: ScoreParams) -> np.ndarray:
    """Log-odds contributed by each channel (what reasons are ranked by)."""
    return evidence * p.weights


def raw_logit(evidence: np.ndarray, prior: np.ndarray | float, p: ScoreParams) -> np.ndarray:
    """The model's log-odds before recalibration."""
    return p.intercept + np.asarray(prior, dtype=float) + contributions(evidence, p).sum(axis=-1)


def probability(evidence: np.ndarray, prior: np.ndarray | float, p: ScoreParams) -> np.ndarray:
    """Calibrated probability of wage arrears within the horizon (monotone in every channel's evidence)."""
    logit = raw_logit(evidence, prior, p)
    if p.calibration is None:
        return 1.0 / (1.0 + np.exp(-logit))
    return np.interp(logit, *p.calibration)
