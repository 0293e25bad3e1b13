"""Evidence channels that fade: each channel's strength decays by its half-life and saturates at a cap.

Every function works on numpy arrays whose last axis is the channel, so one
enterprise (shape ``(S,)``) and many (``(N, S)``) share the maths. A channel's
decayed strength is one of the model's features (:mod:`detectors.features`).

>>> p = EvidenceParams(half_lives=np.array([30.0, 60.0]), combine_max=np.array([True, False]),
...                    caps=np.array([3.0, 3.0]), labels=("a", "b"))
>>> e = apply_evidence(np.zeros(2), np.array([1]), np.array([1.0]), p)
>>> round(float(decay(e, 60.0, p)[1]), 2)
0.5
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EvidenceParams:
    """Rule-file numbers of the evidence channels as arrays, in channel order."""

    half_lives: np.ndarray
    combine_max: np.ndarray
    caps: np.ndarray
    labels: tuple[str, ...]
    signals: tuple[str, ...] = ()

    @classmethod
    def from_rules(cls, rules: Any, signals: tuple[str, ...]) -> "EvidenceParams":
        """Build from a validated rule file (duck-typed: ``rules.signals[name].half_life_days`` …)."""
        rs = [rules.signals[s] for s in signals]
        return cls(half_lives=np.array([r.half_life_days for r in rs], dtype=float),
                   combine_max=np.array([r.combine == "max" for r in rs]),
                   caps=np.array([r.cap for r in rs], dtype=float),
                   labels=tuple(r.label for r in rs), signals=signals)


def decay(evidence: np.ndarray, dt_days: np.ndarray | float, p: EvidenceParams) -> np.ndarray:
    """Evidence after ``dt_days`` (≥ 0; broadcast over leading axes)."""
    dt = np.maximum(np.asarray(dt_days, dtype=float), 0.0)
    if dt.ndim:
        dt = dt[..., None]
    return evidence * np.exp2(-dt / p.half_lives)


def apply_evidence(evidence: np.ndarray, signal_idx: np.ndarray, strength: np.ndarray,
                   p: EvidenceParams, rows: np.ndarray | None = None) -> np.ndarray:
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
