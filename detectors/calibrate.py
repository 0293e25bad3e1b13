"""Fit the scorer's weights to ground truth, and check calibration.

The wage-arrears score is a logistic model over decayed evidence. Its weights
are fitted by maximum likelihood with every evidence weight held ≥ 0, so the
score stays monotone in evidence (more unpaid months can never lower it), and
a small L2 penalty so rare channels do not run away. Industry offsets are
free. The result goes into a rule file; the fit is run on one simulated draw
and judged on another.

>>> rng = np.random.default_rng(0)
>>> X = rng.uniform(0, 2, size=(40000, 2))
>>> y = rng.uniform(size=40000) < 1 / (1 + np.exp(-(-3 + 1.5 * X[:, 0])))
>>> fit = fit_logistic(X, y, groups=np.zeros(40000, dtype=int), n_groups=1)
>>> bool(abs(fit.weights[0] - 1.5) < 0.15), bool(fit.weights[1] < 0.1)
(True, True)
>>> fit_logistic(X, ~y, groups=np.zeros(40000, dtype=int), n_groups=1).weights[0]  # a negative effect is held at 0
np.float64(0.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit


@dataclass(frozen=True)
class LogisticFit:
    intercept: float
    weights: np.ndarray
    offsets: np.ndarray
    """per-group (industry) log-odds offsets, mean zero"""
    log_loss: float
    n: int


def fit_logistic(X: np.ndarray, y: np.ndarray, groups: np.ndarray, n_groups: int,
                 l2: float = 1e-6, sample_weight: np.ndarray | None = None) -> LogisticFit:
    """Maximum-likelihood logistic fit with non-negative evidence weights."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = X.shape
    w_s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    total = w_s.sum()
    G = np.zeros((n, n_groups))
    G[np.arange(n), groups] = 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w, g = theta[0], theta[1:1 + k], theta[1 + k:]
        z = b + X @ w + G @ g
        ll = w_s * (y * log_expit(z) + (1 - y) * log_expit(-z))
        r = w_s * (expit(z) - y)
        value = -ll.sum() / total + l2 * (w @ w + g @ g)
        grad = np.concatenate([[r.sum()], X.T @ r, G.T @ r]) / total
        grad[1:1 + k] += 2 * l2 * w
        grad[1 + k:] += 2 * l2 * g
        return value, grad

    base = np.clip(np.average(y, weights=w_s), 1e-6, 1 - 1e-6)
    theta0 = np.concatenate([[np.log(base / (1 - base))], np.full(k, 0.1), np.zeros(n_groups)])
    bounds = [(None, None)] + [(0.0, None)] * k + [(None, None)] * n_groups
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000})
    b, w, g = res.x[0], res.x[1:1 + k], res.x[1 + k:]
    shift = g.mean()
    return LogisticFit(float(b + shift), w, g - shift, float(res.fun), n)


def reliability_table(p: np.ndarray, y: np.ndarray, edges: tuple[float, ...] = (0, .01, .02, .05, .1, .2, .3, .5, .7, 1.0001)
                      ) -> list[dict[str, float]]:
    """Predicted against observed frequency per probability bin (a calibration check)."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (p >= lo) & (p < hi)
        if sel.any():
            rows.append({"bin": f"{lo:.2f}-{min(hi, 1):.2f}", "n": int(sel.sum()),
                         "predicted": float(p[sel].mean()), "observed": float(y[sel].mean())})
    return rows


def isotonic_knots(logit: np.ndarray, y: np.ndarray, max_knots: int = 24,
                   floor: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """A monotone map raw log-odds → observed frequency, as knots to interpolate between.

    The isotonic (pool-adjacent-violators) fit of ``y`` on ``logit`` is a step
    function; its steps are merged, in order, into at most ``max_knots``
    groups, each summarised by its mean log-odds and its observed frequency.
    Merging ordered steps keeps both sequences monotone.

    >>> x = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0])
    >>> k, q = isotonic_knots(x, np.array([0, 0, 1, 0, 1, 1]))
    >>> k.tolist(), q.tolist()
    ([-2.5, -0.5, 1.5], [1e-05, 0.5, 0.99999])
    """
    from scipy.optimize import isotonic_regression

    order = np.argsort(logit, kind="stable")
    x = np.asarray(logit, dtype=float)[order]
    fitted = isotonic_regression(np.asarray(y, dtype=float)[order]).x
    cuts = np.flatnonzero(np.diff(fitted) > 0) + 1
    blocks = np.split(np.arange(len(x)), cuts)
    step = int(np.ceil(len(blocks) / max_knots))
    knots, probs = [], []
    for g in range(0, len(blocks), step):
        idx = np.concatenate(blocks[g:g + step])
        xm, pm = float(x[idx].mean()), float(fitted[idx].mean())
        if knots and xm <= knots[-1]:      # equal log-odds split across steps: one knot
            probs[-1] = max(probs[-1], pm)
            continue
        knots.append(xm)
        probs.append(pm)
    q = np.clip(np.maximum.accumulate(np.array(probs)), floor, 1.0 - floor)
    return np.array(knots), q

