"""Combining the component p-values of one bucket into one p-value.

Why not the minimum: ``min_i p_i`` (even Bonferroni-adjusted) inherits the
worst-calibrated component and, when the components agree, throws away the
agreement. The Cauchy combination test (Liu & Xie 2020, JASA 115: 393) maps
each p to a standard Cauchy variate ``tan((1/2 - p) pi)`` and averages them;
the tail of the average is Cauchy again *whatever the dependence* between
the components (asymptotically, as p gets small — the region an alarm lives
in), so the combined p stays calibrated when the components read the same
counts. Fisher's product needs independence and would overstate evidence.

A component with no evidence either way (p = 1, e.g. a CUSUM at 0) would
map to minus infinity and veto every other component; each p is therefore
capped at 1/2 (Cauchy variate 0) first. In the tail, where alarms are
decided, this changes the combined p by a relative O(1/T), i.e. nothing.

Everything is in natural logs, so a surge whose p underflows a double still
ranks above a smaller one.

Example
-------
>>> import math
>>> round(math.exp(log_cauchy([math.log(0.01)])), 6)      # one component: itself
0.01
>>> round(math.exp(log_cauchy([math.log(0.01), math.log(0.01)])), 4)   # agreement is not double counting
0.01
>>> log_cauchy([-2000.0, math.log(0.5)]) < -1990
True
>>> round(math.exp(log_cauchy([math.log(0.001), 0.0])), 4)   # a silent CUSUM does not veto
0.002
>>> round(math.exp(log_bonferroni([math.log(0.01), math.log(0.2)])), 3)
0.02
"""
from __future__ import annotations

import math
from typing import Sequence

_TINY = -600.0  # below this log p, 1/(pi p) overflows long before tan() loses it


def _cot_pi(p: float) -> float:
    """tan((1/2 - p) pi) = cot(pi p), accurate for small p."""
    if p < 1e-8:
        return 1.0 / (math.pi * p) - math.pi * p / 3.0
    return 1.0 / math.tan(math.pi * p)


def log_cauchy(log_ps: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Log of the Cauchy-combined p-value of ``exp(log_ps)`` (equal weights by default)."""
    if not log_ps:
        return math.nan
    w = [1.0 / len(log_ps)] * len(log_ps) if weights is None else [x / sum(weights) for x in weights]
    if min(log_ps) < _TINY:
        # the smallest p's dominate: T ~ sum w_i / (pi p_i), and p_comb ~ 1 / (pi T)
        terms = [math.log(wi) - lp - math.log(math.pi) for wi, lp in zip(w, log_ps) if lp < _TINY + 50]
        hi = max(terms)
        log_t = hi + math.log(sum(math.exp(t - hi) for t in terms))
        return -math.log(math.pi) - log_t
    t = sum(wi * _cot_pi(min(math.exp(lp), 0.5)) for wi, lp in zip(w, log_ps))
    if t > 1e8:
        return -math.log(math.pi * t)  # arctan tail: 1/2 - arctan(t)/pi = 1/(pi t) + O(t^-3)
    p = 0.5 - math.atan(t) / math.pi
    return math.log(min(max(p, 1e-300), 1.0))


def log_bonferroni(log_ps: Sequence[float]) -> float:
    """Log of ``min(1, m * min_i p_i)``: valid under any dependence, conservative by up to ``m``."""
    if not log_ps:
        return math.nan
    return min(0.0, math.log(len(log_ps)) + min(log_ps))
