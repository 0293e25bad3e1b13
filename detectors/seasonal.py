"""Same-season baselines for bucketed counts.

Why: complaint and message volumes follow the clock — a 10:00 bucket is
busier than a 03:00 one, a Monday busier than a Sunday. Comparing a bucket
with the buckets just before it (EARS) mistakes every morning rise for a
surge; comparing it with the same time of day (or weekday) in previous
cycles does not. This is the EARS idea with Farrington's "same season in
past years" reference window, at the scale of days or weeks.

The reference set for bucket ``t`` is ``t - k*period + j`` for
``k = 1..cycles`` and ``j = -half_width..half_width``; missing (NaN)
buckets are left out and at least 3 present values are required.

Example
-------
>>> import numpy as np
>>> day = np.array([1, 1, 5, 9, 5, 1], dtype=float)   # period 6
>>> x = np.concatenate([day, day, day, [1, 1, 5, 30]])
>>> mean, sd = seasonal_ref_stats(x, period=6, cycles=3, half_width=0)
>>> float(mean[-1]), float(sd[-1])
(9.0, 0.0)
>>> infer_period([0, 300, 600, 900])   # 5-minute buckets -> daily cycle
288
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

MIN_PRESENT = 3


def seasonal_lags(period: int, cycles: int, half_width: int = 0) -> np.ndarray:
    """All lags of the reference window, nearest first."""
    if period < 2 or cycles < 1 or half_width < 0 or half_width >= period:
        raise ValueError(f"bad seasonal window: period={period}, cycles={cycles}, half_width={half_width}")
    lags = [k * period + j for k in range(1, cycles + 1) for j in range(-half_width, half_width + 1)]
    return np.array(sorted(set(lags)), dtype=np.int64)


def ref_stats_at(values: np.ndarray, lags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd over ``values[t - lags]`` for every t (NaN-aware).

    Buckets whose reference window reaches before the start use what exists.
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    t = np.arange(n)[:, None] - lags[None, :]
    valid = t >= 0
    ref = np.where(valid, x[np.clip(t, 0, None)], np.nan)
    present = np.sum(~np.isnan(ref), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(ref, axis=1) / present
        dev = np.where(np.isnan(ref), 0.0, ref - mean[:, None])
        sd = np.sqrt(np.sum(dev * dev, axis=1) / (present - 1))
    ok = present >= MIN_PRESENT
    return np.where(ok, mean, np.nan), np.where(ok, sd, np.nan)


def seasonal_ref_stats(values: np.ndarray, period: int, cycles: int = 4,
                       half_width: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Same-season mean and sd for every bucket (see module docstring)."""
    return ref_stats_at(values, seasonal_lags(period, cycles, half_width))


def infer_period(timestamps: Sequence[float] | np.ndarray) -> int | None:
    """The natural cycle, in buckets, from the bucket width (seconds).

    Sub-daily buckets → one day; daily buckets → one week; weekly → a year
    (52); anything else → None (no seasonal baseline).
    """
    ts = np.asarray(timestamps, dtype=float)
    if len(ts) < 2:
        return None
    step = float(np.median(np.diff(ts)))
    if step <= 0:
        return None
    if step < 86400 and 86400 % step == 0:
        return int(86400 // step)
    if abs(step - 86400) < 1:
        return 7
    if abs(step - 7 * 86400) < 1:
        return 52
    return None
