"""Calibrated tail probabilities for a count against a short baseline.

Why: a normal tail over the sample sd of seven counts is not a probability.
The sd is itself a noisy estimate (a flat baseline gives sd = 0 and p = 0
for any rise), and counts have a right tail heavier than the normal's. Here
the count is judged against a negative binomial *predictive* distribution
fitted to the baseline:

* each baseline bucket ``i`` has an exposure ``e_i`` (1, or a weekday
  factor) and mean ``lam * e_i``; the rate ``lam`` gets a gamma prior worth
  ``prior_weight`` buckets centred on ``prior_rate`` (the series' longer
  history), and its posterior mean is held at ``min_rate`` or more, so an
  empty week followed by one to three complaints is a plausible count, not
  p = 0; the posterior shape ``S + w r0`` measures how well ``lam`` is known;
* the new count has mean ``mu = e lam`` and variance ``phi mu`` (a dispersion
  ``phi >= phi_min >= 1``) plus ``mu^2 / shape`` for the estimated mean: a
  negative binomial of size ``1 / ((phi - 1) / mu + 1 / shape)``, so
  ``P(X >= x) = I_q(x, size)`` with ``q = mu / (size + mu)`` (``I`` the
  regularised incomplete beta). The NB's right tail, not a scaled Poisson's:
  at the same variance an overdispersed count's tail is heavier.

The p-value is the mid-p ``(P(X >= x) + P(X >= x + 1)) / 2``: counts are
discrete, and the mid-p is the usual deterministic compromise between a
conservative exact p and an exactly uniform randomised one. It is returned
as a natural log, exact far into the tail (where ``I_q`` underflows, a tight
geometric bound on the tail sum takes over), so scores never tie.

Example
-------
>>> import math
>>> ref = [0.0] * 7
>>> round(math.exp(log_midp(3, ref, min_rate=0.3)), 4)   # 3 against an empty week: plausible
0.0042
>>> round(math.exp(log_midp(3, ref, min_rate=0.0)), 6)   # without the floor: nothing was ever seen
0.0
>>> log_midp(60, [3.0, 4, 2, 3, 5, 3, 4]) / math.log(10) < -20   # a real surge: far in the tail
True
>>> math.isnan(log_midp(5, [3.0, float("nan")]))    # fewer than three present buckets: no decision
True
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy.special import betainc, gammaln
from scipy.stats import chi2

MIN_PRESENT = 3
LN10 = math.log(10.0)


def dispersion_pearson(ys: Sequence[float], es: Sequence[float], lam: float, phi_min: float = 1.0,
                       n_params: int = 1) -> float:
    """Quasi-Poisson dispersion ``sum (y - lam e)^2 / (lam e) / (n - n_params)``, at least ``phi_min``.

    >>> dispersion_pearson([5.0, 5, 5, 5], [1.0] * 4, 5.0)   # under-dispersed: held at Poisson
    1.0
    >>> round(dispersion_pearson([0.0, 10, 0, 10], [1.0] * 4, 5.0), 2)
    6.67
    """
    n = len(ys)
    if n <= n_params or lam <= 0:
        return phi_min
    chi2 = 0.0
    for y, e in zip(ys, es):
        mu = lam * e
        if mu > 0:
            chi2 += (y - mu) * (y - mu) / mu
    return max(phi_min, chi2 / (n - n_params))


def _log_sf_ge(k: float, size: float, q: float) -> float:
    """log P(X >= k) for X ~ NB(size, 1 - q), i.e. mean ``size q / (1 - q)``."""
    if k <= 0:
        return 0.0
    v = float(betainc(k, size, q))
    if v > 1e-280:
        return math.log(v)
    # tail underflowed: sum_{j>=k} pmf(j) <= pmf(k) / (1 - ratio), ratio = pmf(k+1)/pmf(k) = q (k+size)/(k+1)
    log_pmf = (gammaln(k + size) - gammaln(k + 1.0) - gammaln(size)
               + size * math.log1p(-q) + k * math.log(q))
    ratio = q * (k + size) / (k + 1.0)
    return float(log_pmf - math.log1p(-ratio)) if ratio < 1.0 else float(log_pmf)


def nb_size(mu: float, shape: float, phi: float) -> float:
    """NB size of the predictive: overdispersion ``(phi - 1) / mu`` plus the mean's own ``1 / shape``.

    >>> round(nb_size(10.0, 1e12, 2.0), 6)   # known mean, variance 2 mu: size mu / (phi - 1)
    10.0
    """
    return 1.0 / (max(phi - 1.0, 0.0) / mu + 1.0 / shape)


def log_midp_nb(x: float, mu: float, shape: float, phi: float) -> float:
    """Natural log of the mid-p of count ``x`` under the predictive NB (see module docstring)."""
    r = nb_size(mu, shape, phi)
    q = mu / (r + mu)
    a = _log_sf_ge(x, r, q)
    b = _log_sf_ge(x + 1.0, r, q)
    hi = max(a, b)
    return hi + math.log(0.5 * (math.exp(a - hi) + math.exp(b - hi)))


@lru_cache(maxsize=256)
def _phi_scales(df: int, points: int = 8) -> tuple[float, ...]:
    """``df / chi2_df`` at the mid-quantiles of ``points`` equal-probability bins."""
    return tuple(float(df / chi2.ppf((k + 0.5) / points, df)) for k in range(points))


def log_midp_phi_uncertain(x: float, mu: float, shape: float, phi_hat: float, df: int,
                           phi_min: float = 1.0) -> float:
    """:func:`log_midp_nb` averaged over the sampling uncertainty of an estimated dispersion.

    Why: a Pearson ``phi`` from ``df`` degrees of freedom is ``phi * chi2_df / df``;
    plugging it in as if known makes the tail too thin exactly when it came
    out small (the count analogue of using z where Student's t belongs). The
    p-value is averaged over ``phi_hat * df / chi2_df`` at eight quantiles,
    each floored at ``phi_min``.

    >>> known = log_midp_nb(40, 20.0, 160.0, 2.0)
    >>> log_midp_phi_uncertain(40, 20.0, 160.0, 2.0, df=6) > known   # less sure of phi: a fatter tail
    True
    """
    phis = np.maximum(phi_min, phi_hat * np.asarray(_phi_scales(max(int(df), 1))))
    r = 1.0 / ((phis - 1.0) / mu + 1.0 / shape)
    q = mu / (r + mu)
    if x <= 0:
        return math.log(0.5 * (1.0 + float(np.mean(betainc(1.0, r, q)))))
    tails = betainc(np.array([x, x + 1.0]).repeat(len(r)), np.concatenate([r, r]), np.concatenate([q, q]))
    if tails.min() > 1e-280:  # the usual case: one vectorised call
        return math.log(float(np.mean(tails)))  # mean over phi of (P(X >= x) + P(X >= x+1)) / 2
    logs = [log_midp_nb(x, mu, shape, phi) for phi in phis.tolist()]
    hi = max(logs)
    return hi + math.log(sum(math.exp(v - hi) for v in logs) / len(logs))


def predictive(ref: Sequence[float], exposures: Sequence[float] | None = None, exposure_now: float = 1.0,
               prior_rate: float = 0.0, prior_weight: float = 1.0, min_rate: float = 0.0,
               phi_min: float = 1.0, phi: float | None = None) -> tuple[float, float, float] | None:
    """(expected count, posterior shape, phi) for the next bucket; None with < 3 present buckets.

    ``prior_rate`` is floored at ``min_rate``; both are per unit of exposure.
    ``phi``: a dispersion estimated elsewhere (e.g. over a longer stretch of
    the series, far less noisy than over seven buckets); by default the
    window's own Pearson estimate.
    """
    ys: list[float] = []
    es: list[float] = []
    for i, y in enumerate(ref):
        if y == y:
            ys.append(y)
            es.append(1.0 if exposures is None else exposures[i])
    if len(ys) < MIN_PRESENT:
        return None
    s = sum(ys)
    e_sum = sum(es)
    r0 = max(prior_rate, min_rate)
    lam_fit = s / e_sum if e_sum > 0 else 0.0
    phi = dispersion_pearson(ys, es, lam_fit, phi_min) if phi is None else phi
    rate = e_sum + prior_weight
    shape = max(s + prior_weight * r0, min_rate * rate)
    if shape <= 0:
        shape = 1e-9  # no history and no floor: any count is far in the tail, but still a number
    return exposure_now * shape / rate, shape, phi


def log_midp(x: float, ref: Sequence[float], exposures: Sequence[float] | None = None,
             exposure_now: float = 1.0, prior_rate: float = 0.0, prior_weight: float = 1.0,
             min_rate: float = 0.0, phi_min: float = 1.0) -> float:
    """Log mid-p of count ``x`` against baseline ``ref`` (NaN = missing); NaN when undecidable."""
    fit = predictive(ref, exposures, exposure_now, prior_rate, prior_weight, min_rate, phi_min)
    if fit is None or x != x:
        return math.nan
    mu, shape, phi = fit
    return log_midp_nb(x, mu, shape, max(phi, phi_min))
