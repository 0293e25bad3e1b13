"""Negative-binomial CUSUM for sustained shifts in counts.

Why: EARS looks at one bucket at a time and misses a surge that rises
moderately for several buckets; a likelihood-ratio CUSUM accumulates that
evidence and, in published comparisons at a 0.5% false-alarm rate, found
every simulated outbreak where EARS found about half (Höhle & Paul 2008;
R ``surveillance::algo.glrnb`` with fixed ``theta``).

The chart: ``S_t = max(0, S_{t-1} + llr_t)`` where ``llr_t`` is the log
likelihood ratio of the count under NB(kappa*mu0, alpha) against
NB(mu0, alpha) (variance ``mu + alpha*mu^2``; ``alpha=0`` is Poisson).
Alarm when ``S_t > h``; the chart restarts at 0 after an alarm, as R does.

Score: ``exp(S)`` is a likelihood ratio, so by Ville's inequality the chance
under no-surge that it ever reaches ``exp(s)`` is at most ``exp(-s)``. The
score ``1 - exp(-S)`` is therefore one minus a (conservative) tail
probability, comparable with the other methods' scores.

Example
-------
>>> import numpy as np
>>> x = np.array([3, 4, 2, 3, 7, 8, 9, 8], dtype=float)
>>> r = nb_cusum_batch(x, mu0=np.full(8, 3.0), alpha=0.1, kappa=2.0, h=4.0)
>>> r.alarm.astype(int).tolist()
[0, 0, 0, 0, 0, 0, 1, 0]
>>> s, res = nb_cusum_update(CusumState(), 9.0, mu0=3.0, alpha=0.1, kappa=2.0, h=4.0)
>>> round(s.s, 3), res.alarm
(2.293, False)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detectors.base import Result, SeriesResult

MIN_MU = 0.2  # a zero baseline would make any single case infinitely surprising


def nb_llr(x: np.ndarray | float, mu0: np.ndarray | float, alpha: np.ndarray | float,
           kappa: float) -> np.ndarray | float:
    """Log-likelihood ratio NB(kappa*mu0) vs NB(mu0) for count(s) ``x``."""
    if isinstance(x, float) and isinstance(mu0, float) and isinstance(alpha, float):
        return _nb_llr_one(x, mu0, alpha, kappa)
    mu0 = np.maximum(mu0, MIN_MU)
    mu1 = kappa * mu0
    alpha = np.asarray(alpha, dtype=float)
    nb_ok = alpha > 1e-8  # below this NB and Poisson agree to ~1e-8; avoid 1/alpha overflow
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = 1.0 / np.where(nb_ok, alpha, 1.0)
        nb = x * np.log(mu1 * (r + mu0) / (mu0 * (r + mu1))) + r * np.log((r + mu0) / (r + mu1))
    pois = x * math.log(kappa) - (mu1 - mu0)
    out = np.where(nb_ok, nb, pois)
    return out if out.ndim else float(out)


def _nb_llr_one(x: float, mu0: float, alpha: float, kappa: float) -> float:
    """:func:`nb_llr` for one count, in plain floats (the streaming path, called per bucket)."""
    mu0 = max(mu0, MIN_MU)
    mu1 = kappa * mu0
    if alpha > 1e-8:
        r = 1.0 / alpha
        return x * math.log(mu1 * (r + mu0) / (mu0 * (r + mu1))) + r * math.log((r + mu0) / (r + mu1))
    return x * math.log(kappa) - (mu1 - mu0)


def dispersion(mean: float | np.ndarray, var: float | np.ndarray) -> float | np.ndarray:
    """Moment estimate of the NB ``alpha``: (var - mean) / mean², at least 0."""
    if isinstance(mean, float) and isinstance(var, float):
        try:
            a = (var - mean) / (mean * mean)
        except (ZeroDivisionError, OverflowError):
            return 0.0
        return max(a, 0.0) if math.isfinite(a) else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (np.asarray(var) - mean) / np.square(mean)
    a = np.where(np.isfinite(a), np.maximum(a, 0.0), 0.0)
    return a if a.ndim else float(a)


@dataclass(frozen=True)
class CusumState:
    """The running CUSUM sum (one float per series)."""

    s: float = 0.0


def cusum_score(s: float | np.ndarray) -> float | np.ndarray:
    """``1 - exp(-S)``: one minus Ville's bound on the no-surge tail probability."""
    return -np.expm1(-np.maximum(s, 0.0))


def nb_cusum_update(state: CusumState, value: float, mu0: float, alpha: float = 0.0,
                    kappa: float = 2.0, h: float = 5.0) -> tuple[CusumState, Result]:
    """One bucket: state in, count and expectation in → new state, Result.

    A missing count or expectation (NaN) leaves the chart where it was.
    """
    if value is None or math.isnan(value) or math.isnan(mu0):
        return state, Result(score=math.nan, alarm=False, expected=mu0, statistic=state.s)
    s = max(0.0, state.s + float(nb_llr(value, mu0, alpha if not math.isnan(alpha) else 0.0, kappa)))
    alarm = s > h
    res = Result(
        score=float(cusum_score(s)), alarm=alarm, expected=float(max(mu0, 0.0)), statistic=s,
        reasons=(f"NB-CUSUM: sustained excess over expected {mu0:.3g} (S={s:.2f} > {h:g})",) if alarm else (),
    )
    return CusumState(0.0 if alarm else s), res


def nb_cusum_batch(values: np.ndarray, mu0: np.ndarray, alpha: np.ndarray | float = 0.0,
                   kappa: float = 2.0, h: float = 5.0) -> SeriesResult:
    """The chart over a series with a given expectation per bucket."""
    x = np.asarray(values, dtype=float)
    mu = np.broadcast_to(np.asarray(mu0, dtype=float), x.shape)
    al = np.broadcast_to(np.nan_to_num(np.asarray(alpha, dtype=float)), x.shape)
    ok = ~(np.isnan(x) | np.isnan(mu))
    llr = np.where(ok, nb_llr(np.where(ok, x, 0.0), np.where(ok, mu, 1.0), al, kappa), 0.0)
    stat = np.empty(len(x))
    alarm = np.zeros(len(x), dtype=bool)
    s = 0.0
    for i in range(len(x)):
        if ok[i]:
            s = max(0.0, s + llr[i])
            if s > h:
                alarm[i] = True
                stat[i] = s
                s = 0.0
                continue
        stat[i] = s
    score = np.where(ok, cusum_score(stat), np.nan)
    return SeriesResult(expected=np.where(ok, np.maximum(mu, 0.0), mu), score=score,
                        alarm=alarm, statistic=stat)
