"""Year-over-year change per topic, with a significance score.

Why: city reports flag topics by their year-on-year rise ("hotline cases on
one topic up 72.51%"). A percentage alone is noisy for small counts (2 → 4
is +100%), so the alarm needs both the rise and evidence that it is not
chance.

Test: given ``current`` cases this period and ``previous`` in the same
period a year before, and no change in rate, ``current`` given the total
``current + previous`` is Binomial(total, e/(1+e)) where ``e`` is the
exposure ratio (1 for equal-length periods). The one-sided p-value is
``P(X >= current)``; the score is ``1 - p``. Alarm when the rise reaches
``min_change`` (default 50%) and ``p < alpha``.

Example
-------
>>> r = yoy_change(current=1723, previous=999)   # +72.5%
>>> round(r.statistic, 4), r.alarm, r.score > 0.999
(0.7247, True, True)
>>> yoy_change(current=4, previous=2).alarm     # +100% but could be chance
False
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom

from detectors.base import Result, SeriesResult


def yoy_change(current: float, previous: float, min_change: float = 0.5, alpha: float = 0.01,
               exposure_ratio: float = 1.0) -> Result:
    """Year-over-year relative change of one topic; statistic = the change."""
    if current is None or previous is None or math.isnan(current) or math.isnan(previous):
        return Result(score=math.nan, alarm=False, expected=math.nan)
    if current < 0 or previous < 0 or exposure_ratio <= 0:
        raise ValueError(f"counts must be >= 0 and exposure_ratio > 0, got {current}, {previous}, {exposure_ratio}")
    expected = previous * exposure_ratio
    change = (current - expected) / expected if expected > 0 else (math.inf if current > 0 else 0.0)
    n = int(round(current + previous))
    k = int(round(current))
    p0 = exposure_ratio / (1.0 + exposure_ratio)
    pval = float(binom.sf(k - 1, n, p0)) if n > 0 else 1.0
    alarm = change >= min_change and pval < alpha
    reasons = (f"up {100 * change:.2f}% year on year ({previous:g} → {current:g}, p={pval:.2g})",) if alarm else ()
    return Result(score=1.0 - pval, alarm=bool(alarm), expected=expected, statistic=change, reasons=reasons)


def yoy_batch(current: np.ndarray, previous: np.ndarray, min_change: float = 0.5,
              alpha: float = 0.01, exposure_ratio: float = 1.0) -> SeriesResult:
    """Vectorised :func:`yoy_change` over topics (or periods)."""
    c = np.asarray(current, dtype=float)
    p = np.asarray(previous, dtype=float)
    ok = ~(np.isnan(c) | np.isnan(p))
    cc, pp = np.where(ok, c, 0.0), np.where(ok, p, 0.0)
    expected = pp * exposure_ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(expected > 0, (cc - expected) / expected, np.where(cc > 0, np.inf, 0.0))
    n = np.rint(cc + pp).astype(int)
    k = np.rint(cc).astype(int)
    pval = np.where(n > 0, binom.sf(k - 1, n, exposure_ratio / (1.0 + exposure_ratio)), 1.0)
    alarm = ok & (change >= min_change) & (pval < alpha)
    return SeriesResult(expected=np.where(ok, expected, np.nan), score=np.where(ok, 1.0 - pval, np.nan),
                        alarm=alarm, statistic=np.where(ok, change, np.nan))
