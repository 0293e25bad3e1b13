"""Farrington-type surveillance: quasi-Poisson regression on past seasons.

Why: for counts with a yearly (or weekly, daily) rhythm, the fairest
expectation for this bucket is what the same season looked like in the last
``b`` cycles, allowing for a trend. Farrington et al. (1996) fit a
quasi-Poisson GLM to those reference buckets, down-weight past outbreaks
(Anscombe residuals), and alarm when the count exceeds a 2/3-power
prediction bound. This follows R ``surveillance::algo.farrington`` with its
default fitter (``glm.fit``): ``b=3, w=3, reweight=TRUE, alpha=0.01,
trend=TRUE, limit54=c(5,4), powertrans="2/3"``. The GLM is fitted here by
IRLS in numpy, with R's starting values and convergence rule.

Steps for bucket ``k`` (``period`` buckets per cycle):

1. reference buckets ``k - i*period + j``, ``i = 1..b``, ``j = -w..w``;
2. fit ``log mu = a + beta*t`` (quasi-Poisson), dispersion ``phi >= 1``;
   refit with weights ``gamma * s^-2`` for standardised Anscombe residuals
   ``s > 1``;
3. keep the trend only if it is significant (t-test, 5%), ``b >= 3`` and the
   prediction does not exceed the largest reference count;
4. upper bound ``(mu0^(2/3) + z_{1-alpha/2} sqrt(4/9 mu0^(1/3) tau))^(3/2)``,
   ``tau = phi + Var(mu0_hat)/mu0``;
5. alarm when ``(x - mu0)/(U - mu0) > 1`` and at least ``limit54[0]`` cases
   fell in the last ``limit54[1]`` buckets (current included).

Score: the predictive tail ``1 - pnorm(x^(2/3); mu0^(2/3), se)`` turned into
``Phi(z)``, so it rises with the count; 0 when too few cases.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> x = rng.poisson(6, 52 * 4).astype(float)
>>> x[-1] = 30
>>> r = farrington_batch(x, period=52, start=len(x) - 1)
>>> bool(r.alarm[-1]), 4 < float(r.expected[-1]) < 8
(True, True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import t as student_t

from detectors.base import SeriesResult

EPS = float(np.finfo(float).eps)  # R's log-link inverse is pmax(exp(eta), eps)


def _inv_link(eta: float) -> float:
    """exp(eta) floored at eps like R, and capped instead of overflowing."""
    return max(math.exp(min(eta, 700.0)), EPS)


@dataclass
class GlmFit:
    """What the threshold needs from a quasi-Poisson fit."""

    coef: np.ndarray
    cov_unscaled: np.ndarray
    mu: np.ndarray
    hat: np.ndarray
    dispersion: float  # Pearson estimate, not yet floored at 1
    df_residual: int
    converged: bool


def fit_quasipoisson(y: np.ndarray, X: np.ndarray, prior: np.ndarray | None = None,
                     maxit: int = 25, epsilon: float = 1e-8) -> GlmFit:
    """Log-link quasi-Poisson GLM by IRLS, as R's ``glm.fit`` does it.

    Start at ``mu = y + 0.1``; stop when the relative deviance change is below
    ``epsilon``. Working weights, hat values and the unscaled covariance come
    from the last weighted least-squares step, like R's returned object.
    """
    n, p = X.shape
    wt = np.ones(n) if prior is None else np.asarray(prior, dtype=float)
    mu = y + 0.1
    eta = np.log(mu)

    def deviance(m: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(y > 0, y * np.log(y / m), 0.0)
        return float(np.sum(wt * 2.0 * (term - (y - m))))

    dev_old = deviance(mu)
    converged = False
    for _ in range(maxit):
        z = eta + (y - mu) / mu
        w2 = wt * mu
        sw = np.sqrt(w2)
        q, r = np.linalg.qr(X * sw[:, None])
        coef = np.linalg.solve(r, q.T @ (z * sw))
        eta = X @ coef
        mu = np.maximum(np.exp(np.minimum(eta, 700.0)), EPS)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
    rinv = np.linalg.inv(r)
    cov_unscaled = rinv @ rinv.T
    hat = np.sum(q * q, axis=1)
    resid = (y - mu) / mu
    df = n - p
    disp = float(np.sum(w2 * resid ** 2) / df) if df > 0 else math.nan
    return GlmFit(coef, cov_unscaled, mu, hat, disp, df, converged)


def anscombe_weights(y: np.ndarray, fit: GlmFit, phi: float) -> np.ndarray:
    """Farrington's weights: ``gamma * s^-2`` where standardised residual s > 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1.5 * (np.power(y, 2 / 3) * np.power(fit.mu, -1 / 6) - np.sqrt(fit.mu))
        s = a / np.sqrt(phi * (1.0 - fit.hat))
        inv2 = np.where(s > 1.0, s ** -2.0, 1.0)
    gamma = len(s) / np.sum(inv2)
    return gamma * inv2


def _fit(y: np.ndarray, t: np.ndarray, trend: bool, reweight: bool) -> tuple[GlmFit, float, np.ndarray]:
    X = np.column_stack([np.ones_like(t), t]) if trend else np.ones((len(t), 1))
    fit = fit_quasipoisson(y, X)
    if not fit.converged and trend:
        X = X[:, :1]
        fit = fit_quasipoisson(y, X)
    phi = max(fit.dispersion, 1.0)
    if reweight:
        omega = anscombe_weights(y, fit, phi)
        fit = fit_quasipoisson(y, X, prior=omega)
        phi = max(fit.dispersion, 1.0)
    return fit, phi, X


@dataclass(frozen=True)
class FarringtonPoint:
    expected: float
    upper: float
    alarm: bool
    score: float
    trend: bool


def farrington_point(x: np.ndarray, k: int, period: int, b: int = 3, w: int = 3,
                     reweight: bool = True, alpha: float = 0.01, trend: bool = True,
                     limit54: tuple[int, int] = (5, 4)) -> FarringtonPoint | None:
    """Farrington for bucket ``k`` of ``x`` (all earlier buckets visible)."""
    idx = np.array([k - period * i + j for i in range(b, 0, -1) for j in range(-w, w + 1)])
    idx = idx[idx >= 0]
    y = x[idx]
    keep = ~np.isnan(y)
    idx, y = idx[keep], y[keep]
    if len(y) < 3 or math.isnan(x[k]):
        return None
    t = (idx + 1).astype(float)  # R's 1-based time index
    fit, phi, X = _fit(y, t, trend, reweight)
    do_trend = X.shape[1] == 2
    if do_trend:
        se = math.sqrt(fit.dispersion * fit.cov_unscaled[1, 1])
        p = 2.0 * student_t.sf(abs(fit.coef[1] / se), fit.df_residual) if se > 0 else 0.0
        mu_hat = _inv_link(fit.coef[0] + fit.coef[1] * (k + 1))
        if not (b >= 3 and p < 0.05 and mu_hat <= y.max()):
            do_trend = False
            fit, phi, X = _fit(y, t, False, reweight)
    x0 = np.array([1.0, k + 1.0]) if do_trend else np.array([1.0])
    mu0 = _inv_link(float(x0 @ fit.coef))
    se_fit = math.sqrt(float(x0 @ fit.cov_unscaled @ x0) * phi) * mu0
    tau = phi + se_fit ** 2 / mu0
    se = math.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau)
    upper = (mu0 ** (2.0 / 3.0) + float(ndtri(1.0 - alpha / 2.0)) * se) ** 1.5
    lo = max(0, k - limit54[1] + 1)
    enough = np.nansum(x[lo:k + 1]) >= limit54[0]
    xk = float(x[k])
    exceed = (xk - mu0) / (upper - mu0) if enough else 0.0
    z = (xk ** (2.0 / 3.0) - mu0 ** (2.0 / 3.0)) / se
    return FarringtonPoint(mu0, upper if enough else 0.0, bool(exceed > 1.0),
                           float(ndtr(z)) if enough else 0.0, do_trend)


def farrington_batch(values: np.ndarray, period: int = 52, b: int = 3, w: int = 3,
                     reweight: bool = True, alpha: float = 0.01, trend: bool = True,
                     limit54: tuple[int, int] = (5, 4), start: int | None = None) -> SeriesResult:
    """Farrington over a series; buckets before ``start`` (default: the first
    with one full cycle of history, ``period*b - w`` in R's sense) get NaN."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    first = max(period * b - w - 1, period - w) if start is None else start
    expected = np.full(n, np.nan)
    score = np.full(n, np.nan)
    stat = np.full(n, np.nan)
    alarm = np.zeros(n, dtype=bool)
    for k in range(max(first, 0), n):
        pt = farrington_point(x, k, period, b, w, reweight, alpha, trend, limit54)
        if pt is None:
            continue
        expected[k], score[k], alarm[k] = pt.expected, pt.score, pt.alarm
        stat[k] = (x[k] - pt.expected) / (pt.upper - pt.expected) if pt.upper > 0 else 0.0
    return SeriesResult(expected=expected, score=score, alarm=alarm, statistic=stat)
