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

Each window's dispersion is measured by backtesting it: the window predicts
each of its own last 28 buckets as it predicts the current one, and the mean
squared Pearson error (winsorised, so a past outbreak does not inflate it)
is the ``phi`` of the predictive, its sampling uncertainty integrated out.
Misfit (a season the window lags behind) is thereby priced in.

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

import numpy as np
from numba import njit

from detectors.cusum import MIN_MU, nb_llr
from detectors.predictive import log_midp_phi_uncertain, predictive

if TYPE_CHECKING:  # pragma: no cover
    from detectors.surge import SurgeConfig

SHRINK = 3.0
"""phase factors are shrunk towards 1 as if each phase had this many extra *counts* at the overall mean:
strong shrinkage where counts are few and noisy, almost none where they are many"""
NO_ALARM = -1
MAX_PHASE_PERIOD = 28
"""weekday or hour-of-day cycles get one factor per phase; longer ones (52 weeks a year) are seasons,
smooth, so their factors pool the neighbouring phases (+-2) rather than rest on four values each"""
BACKTEST_SPAN = 28
"""recent buckets each component predicts again to measure its own dispersion"""


def phase_factors(ring: list[float], pos: int, period: int, skip: int = 0) -> tuple[list[float], float]:
    """Exposure per lag modulo ``period`` (index 0: the current bucket's phase), mean 1, and the
    variance inflation ``(1 + 1/n) / (1 - 1/n)`` (``n`` buckets behind the current phase's factor):
    the backtest's errors are in-sample for the factors (each bucket helped set its own), the
    current bucket's is not.
    The ``skip`` most recent buckets are left out (a surge under way must not set its own norm).

    >>> ring = [10.0, 2, 10, 2, 10, 2, 10, 2]   # pos 0: the next bucket follows a 2
    >>> f, inflation = phase_factors(ring, 0, 2)
    >>> [round(x, 2) for x in f], round(inflation, 3)
    ([1.59, 0.41], 1.571)
    """
    size = len(ring)
    sums = [0.0] * period
    counts = [0] * period
    for lag in range(1 + skip, size + 1):
        v = ring[(pos - lag) % size]
        if v == v:
            sums[lag % period] += v
            counts[lag % period] += 1
    if period > MAX_PHASE_PERIOD:  # a season: pool each phase with its neighbours
        sums = [sum(sums[(r + d) % period] for d in range(-2, 3)) for r in range(period)]
        counts = [sum(counts[(r + d) % period] for d in range(-2, 3)) for r in range(period)]
    n = sum(counts)
    total = sum(sums)
    if n == 0 or total <= 0:
        return [1.0] * period, 1.0
    m = total / n
    c0 = SHRINK / m  # pseudo-buckets worth SHRINK counts
    f = [(s + c0 * m) / (c + c0) / m for s, c in zip(sums, counts)]
    mean_f = sum(f) / period
    n_now = max(counts[0] + c0, 1.5)
    return [x / mean_f for x in f], (1.0 + 1.0 / n_now) / (1.0 - 1.0 / n_now)


def _ring_mean(ring: list[float]) -> float:
    vals = [v for v in ring if v == v]
    return sum(vals) / len(vals) if vals else 0.0


def backtest_dispersion(ring: list[float], pos: int, lag: tuple[int, ...], factors: list[float] | None,
                        period: int, skip: int, span: int, prior: float, prior_weight: float,
                        min_rate: float) -> tuple[float, int] | None:
    """:func:`backtest_dispersion_reference`, compiled (the same operations in the same order: bit for bit).

    Why: it is the backtest's hottest loop (a few hundred thousand calls a district-year, tens of seconds in
    plain Python). Pass numpy arrays (``ring`` as float64, ``factors`` or None) to skip the conversion.

    >>> ring = [5.0, 6, 4, 5, 7, 5, 4, 6, 5, 5, 6, 4, 5, 6, 5, 4] * 2
    >>> phi, df = backtest_dispersion(ring, 0, (1, 2, 3, 4), None, 7, 0, 20, 5.0, 1.0, 0.0)
    >>> round(phi, 2), df
    (0.13, 20)
    """
    r = np.asarray(ring, dtype=np.float64)
    f = _NO_FACTORS if factors is None else np.asarray(factors, dtype=np.float64)
    phi, n = _dispersion_kernel(r, pos, _lag_array(lag), f, factors is not None, period, skip, span, prior,
                                prior_weight, min_rate)
    return None if n < 0 else (phi, n)


_NO_FACTORS = np.zeros(1)
_LAGS: dict[tuple[int, ...], np.ndarray] = {}


def _lag_array(lag: tuple[int, ...]) -> np.ndarray:
    a = _LAGS.get(lag)
    if a is None:
        a = _LAGS[lag] = np.asarray(lag, dtype=np.int64)
    return a


@njit(cache=True, nogil=True)
def _dispersion_kernel(ring: np.ndarray, pos: int, lag: np.ndarray, factors: np.ndarray, has_factors: bool,
                       period: int, skip: int, span: int, prior: float, prior_weight: float,
                       min_rate: float) -> tuple[float, int]:  # pragma: no cover (compiled)
    """The reference's loop over arrays; (phi, buckets) or (nan, -1) for None."""
    size = len(ring)
    errs = np.empty(span)
    m = 0
    far = lag[-1]
    for j in range(1 + skip, 1 + skip + span):
        if j + far > size:
            break
        y = ring[(pos - j) % size]
        if y != y:
            continue
        s_y = 0.0
        s_e = 0.0
        n = 0
        for k in lag:
            v = ring[(pos - j - k) % size]
            if v == v:
                s_y += v
                s_e += factors[(j + k) % period] if has_factors else 1.0
                n += 1
        if n < 3:
            continue
        e_now = factors[j % period] if has_factors else 1.0
        rate = s_e + prior_weight
        lam = max((s_y + prior_weight * prior) / rate, min_rate)
        mu = lam * e_now
        if mu <= 0:
            continue
        errs[m] = (y - mu) * (y - mu) / (mu * (rate + e_now) / rate)
        m += 1
    if m < 7:
        return np.nan, -1
    total = 0.0
    for i in range(m):
        total += errs[i]
    phi0 = total / m
    cap = 9.0 * max(phi0, 1.0)
    capped = 0.0
    for i in range(m):
        capped += min(errs[i], cap)
    return capped / m / 0.97, m


def backtest_dispersion_reference(ring: list[float], pos: int, lag: tuple[int, ...], factors: list[float] | None,
                                  period: int, skip: int, span: int, prior: float, prior_weight: float,
                                  min_rate: float) -> tuple[float, int] | None:
    """How far off this window's predictions were over the last ``span`` buckets, as a dispersion.

    Why: the one number that makes a p-value calibrated is the spread of the
    count around *this* prediction, misfit included (a season the window
    lags behind, a weekday factor that is a little off). So each component
    predicts each of its own recent buckets from the ring, exactly as it
    predicts the current one, and the mean squared Pearson error is the
    dispersion (degrees of freedom: the buckets used). Errors are winsorised
    at 9 times the first estimate (3 sd: a past outbreak must not make the
    series look noisy for a month) and the estimate divided by 0.97 for it.
    The ``skip`` newest buckets are left out. None with fewer than 7 buckets.

    >>> ring = [5.0, 6, 4, 5, 7, 5, 4, 6, 5, 5, 6, 4, 5, 6, 5, 4] * 2
    >>> phi, df = backtest_dispersion_reference(ring, 0, (1, 2, 3, 4), None, 7, 0, 20, 5.0, 1.0, 0.0)
    >>> round(phi, 2), df
    (0.13, 20)
    """
    size = len(ring)
    errs: list[float] = []
    far = lag[-1]
    for j in range(1 + skip, 1 + skip + span):
        if j + far > size:
            break
        y = ring[(pos - j) % size]
        if y != y:
            continue
        s_y = 0.0
        s_e = 0.0
        n = 0
        for k in lag:
            v = ring[(pos - j - k) % size]
            if v == v:
                s_y += v
                s_e += 1.0 if factors is None else factors[(j + k) % period]
                n += 1
        if n < 3:
            continue
        e_now = 1.0 if factors is None else factors[j % period]
        rate = s_e + prior_weight
        lam = max((s_y + prior_weight * prior) / rate, min_rate)
        mu = lam * e_now
        if mu <= 0:
            continue
        errs.append((y - mu) * (y - mu) / (mu * (rate + e_now) / rate))
    if len(errs) < 7:
        return None
    phi0 = sum(errs) / len(errs)
    cap = 9.0 * max(phi0, 1.0)
    return sum(min(e, cap) for e in errs) / len(errs) / 0.97, len(errs)


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
        ring_a = np.array(ring)
        factors_a = None if factors is None else np.array(factors)
        for name, lag in lags.items():
            if tails is None and name != "cusum":
                continue
            back = backtest_dispersion(ring_a, pos, lag, factors_a, cfg.period or 1, skip, BACKTEST_SPAN, prior,
                                       cfg.prior_weight, cfg.min_rate)
            phi_hat, df = (back[0] * inflation, back[1]) if back else (None, 0)
            if name == "cusum" and since != NO_ALARM and since <= lag[-1]:
                lag = tuple(range(1, since + 1))  # re-learn from the new regime only
            ref = [ring[(pos - k) % size] for k in lag]
            exps = None if factors is None else [factors[k % cfg.period] for k in lag]
            now = 1.0 if factors is None else factors[0]
            fit = predictive(ref, exps, now, prior, cfg.prior_weight, cfg.min_rate, cfg.phi_min, phi_hat)
            if fit is None:
                continue
            mu, shape, phi = fit
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
                # the backtest's uncertainty is integrated out; a window's own estimate (early on) is plugged in
                tails[name] = log_midp_phi_uncertain(x, mu, shape, phi, df if back else 10**6, cfg.phi_min)
                expected[name] = mu
    ring[pos] = x
    return (pos + 1) % size, s, since
