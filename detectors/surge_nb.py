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
from detectors.predictive import log_midp_nb, predictive

if TYPE_CHECKING:  # pragma: no cover
    from detectors.surge import SurgeConfig

SHRINK = 2.0
"""phase factors are shrunk towards 1 as if each phase had this many extra buckets at the overall mean"""
NO_ALARM = -1


def phase_factors(ring: list[float], pos: int, period: int) -> list[float]:
    """Exposure per lag modulo ``period`` (index 0: the current bucket's phase), mean 1.

    >>> ring = [10.0, 2, 10, 2, 10, 2, 10, 2]   # pos 0: the next bucket follows a 2
    >>> [round(f, 2) for f in phase_factors(ring, 0, 2)]
    [1.44, 0.56]
    """
    size = len(ring)
    sums = [0.0] * period
    counts = [0] * period
    for lag in range(1, size + 1):
        v = ring[(pos - lag) % size]
        if v == v:
            sums[lag % period] += v
            counts[lag % period] += 1
    n = sum(counts)
    total = sum(sums)
    if n == 0 or total <= 0:
        return [1.0] * period
    m = total / n
    f = [(s + SHRINK * m) / (c + SHRINK) / m for s, c in zip(sums, counts)]
    mean_f = sum(f) / period
    return [x / mean_f for x in f]


def _ring_mean(ring: list[float]) -> float:
    vals = [v for v in ring if v == v]
    return sum(vals) / len(vals) if vals else 0.0


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
        factors = phase_factors(ring, pos, cfg.period) if cfg.period and cfg.phase_exposure else None
        prior = _ring_mean(ring)  # per unit of exposure, as the factors average 1
        for name, lag in lags.items():
            if tails is None and name != "cusum":
                continue
            if name == "cusum":
                if since != NO_ALARM and since <= lag[-1]:
                    lag = tuple(k for k in range(1, since + 1))  # re-learn from the new regime only
            ref = [ring[(pos - k) % size] for k in lag]
            exps = None if factors is None else [factors[k % cfg.period] for k in lag]
            now = 1.0 if factors is None else factors[0]
            fit = predictive(ref, exps, now, prior, cfg.prior_weight, cfg.min_rate, cfg.phi_min)
            if fit is None:
                continue
            mu, size_nb, q, phi = fit
            if name == "cusum":
                mu0 = max(mu, cfg.min_rate, MIN_MU)
                s = max(0.0, s + float(nb_llr(x, mu0, (phi - 1.0) / mu0, cfg.kappa)))
                if tails is not None:
                    tails[name] = -s
                    expected[name] = mu0
                if s > cfg.h:
                    s = 0.0
                    since = 0
            else:
                tails[name] = log_midp_nb(x, size_nb, q, phi)
                expected[name] = mu
    ring[pos] = x
    return (pos + 1) % size, s, since
