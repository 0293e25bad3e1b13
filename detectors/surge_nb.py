"""One bucket of the calibrated surge components (the ``pvalues="nb"`` path of :mod:`detectors.surge`).

Why a module apart: the legacy z-score path must stay bit-for-bit what the
wage-arrears engine was fitted on; this path is the one whose p-values mean
what they say. Each component judges the count against a negative binomial
predictive (:mod:`detectors.predictive`) over its own reference lags:

* ``c1`` lags 1..baseline, ``c2`` lags 3..baseline+2 (EARS's windows);
* ``seasonal`` the same phase in past cycles (``period``);
* ``cusum`` an NB-CUSUM whose in-control mean comes from lags
  guard+1..guard+window; its p-value is ``exp(-S)`` (Kingman's bound on the
  stationary tail of a likelihood-ratio chart: conservative, never liberal).

With ``period`` set, every window is weekday-aware (or hour-of-day aware):
each bucket's exposure is its phase's share of the ring's volume, shrunk
towards 1, so a Monday is compared with what Mondays look like.

After a CUSUM alarm the chart restarts at 0 *and* re-learns its baseline
from the buckets since the alarm (at least three), so a sustained shift is
one alarm at its onset, not a new detection every few buckets.

Every window's prior centre is the ring's own mean (weeks of the series'
history), floored at ``min_rate``: a street whose topic had a handful of
complaints a month is not surprised by two in a day.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from detectors.cusum import MIN_MU, nb_llr
from detectors.predictive import dispersion_pearson, log_midp_phi_uncertain, predictive

if TYPE_CHECKING:  # pragma: no cover
    from detectors.surge import SurgeConfig

SHRINK = 3.0
"""phase factors are shrunk towards 1 as if each phase had this many extra *counts* at the overall mean:
strong shrinkage where counts are few and noisy, almost none where they are many"""
NO_ALARM = -1


def phase_factors(ring: list[float], pos: int, period: int, skip: int = 0) -> tuple[list[float], float]:
    """Exposure per lag modulo ``period`` (index 0: the current bucket's phase), mean 1, and the
    variance inflation ``1 + 1/n`` its estimate adds to the current bucket's prediction.
    The ``skip`` most recent buckets are left out (a surge under way must not set its own norm).

    >>> ring = [10.0, 2, 10, 2, 10, 2, 10, 2]   # pos 0: the next bucket follows a 2
    >>> f, inflation = phase_factors(ring, 0, 2)
    >>> [round(x, 2) for x in f], round(inflation, 3)
    ([1.59, 0.41], 1.222)
    """
    size = len(ring)
    sums = [0.0] * period
    counts = [0] * period
    for lag in range(1 + skip, size + 1):
        v = ring[(pos - lag) % size]
        if v == v:
            sums[lag % period] += v
            counts[lag % period] += 1
    n = sum(counts)
    total = sum(sums)
    if n == 0 or total <= 0:
        return [1.0] * period, 1.0
    m = total / n
    c0 = SHRINK / m  # pseudo-buckets worth SHRINK counts
    f = [(s + c0 * m) / (c + c0) / m for s, c in zip(sums, counts)]
    mean_f = sum(f) / period
    return [x / mean_f for x in f], 1.0 + 1.0 / (counts[0] + c0)


def _ring_mean(ring: list[float]) -> float:
    vals = [v for v in ring if v == v]
    return sum(vals) / len(vals) if vals else 0.0


def ring_dispersion(ring: list[float], pos: int, factors: list[float] | None,
                    period: int | None, skip: int = 0) -> tuple[float, int] | None:
    """Pearson dispersion of the whole ring around its (weekday-adjusted) mean, unfloored, and its
    degrees of freedom; None with fewer than 7 degrees of freedom.

    Why the whole ring: from seven buckets the estimate has 6 degrees of
    freedom and is too small one time in five, which is exactly when a
    quiet bucket looks like a surge; from four weeks it has about 20. The
    ``skip`` most recent buckets are left out, as in :func:`phase_factors`.
    """
    size = len(ring)
    ys, es = [], []
    for lag in range(1 + skip, size + 1):
        v = ring[(pos - lag) % size]
        if v == v:
            ys.append(v)
            es.append(1.0 if factors is None else factors[lag % period])
    n_params = period if factors is not None else 1
    if len(ys) < n_params + 7:
        return None
    lam = sum(ys) / sum(es)
    return dispersion_pearson(ys, es, lam, 0.0, n_params), len(ys) - n_params


def push_nb(cfg: "SurgeConfig", lags: dict[str, tuple[int, ...]], ring: list[float], pos: int, s: float,
            since: int, x: float, tails: dict[str, float] | None,
            expected: dict[str, float] | None) -> tuple[int, float, int]:
    """Judge ``x`` against the ring, step the CUSUM, store ``x``: next position, CUSUM sum, buckets since its alarm.

    ``tails`` (log p per component) and ``expected`` are filled when given;
    without them only the CUSUM, which carries state, is computed.
    """
    size = len(ring)
    if since != NO_ALARM:
        since = since + 1 if since < size else NO_ALARM
    if x == x:
        skip = cfg.cusum_guard
        factors, inflation = (phase_factors(ring, pos, cfg.period, skip) if cfg.period and cfg.phase_exposure
                              else (None, 1.0))
        prior = _ring_mean(ring)  # per unit of exposure, as the factors average 1
        pooled = ring_dispersion(ring, pos, factors, cfg.period, skip)
        phi_ring, df = (pooled[0] * inflation, pooled[1]) if pooled else (None, 0)
        for name, lag in lags.items():
            if tails is None and name != "cusum":
                continue
            if name == "cusum":
                if since != NO_ALARM and since <= lag[-1]:
                    lag = tuple(k for k in range(1, since + 1))  # re-learn from the new regime only
            ref = [ring[(pos - k) % size] for k in lag]
            exps = None if factors is None else [factors[k % cfg.period] for k in lag]
            now = 1.0 if factors is None else factors[0]
            fit = predictive(ref, exps, now, prior, cfg.prior_weight, cfg.min_rate, cfg.phi_min, phi_ring)
            if fit is None:
                continue
            mu, shape, q, phi = fit
            if name == "cusum":
                phi = max(phi, cfg.phi_min)
                mu0 = max(mu, cfg.min_rate, MIN_MU)
                s = max(0.0, s + float(nb_llr(x, mu0, (phi - 1.0) / mu0, cfg.kappa)))
                if tails is not None:
                    tails[name] = -s
                    expected[name] = mu0
                if s > max(cfg.h, -math.log(cfg.alpha)):  # its own alarm: p = exp(-S) < alpha
                    s = 0.0
                    since = 0
            else:
                # with a pooled estimate, its uncertainty is integrated out; a window's own (few df): plug-in
                tails[name] = log_midp_phi_uncertain(x, shape, q, phi, df if pooled else 10**6, cfg.phi_min)
                expected[name] = mu
    ring[pos] = x
    return (pos + 1) % size, s, since
