"""EARS C1, C2 and C3 — the CDC's Early Aberration Reporting System.

Why: public-health surveillance trusts these because they need no long
history (seven buckets) and behave predictably. The formulas follow R
``surveillance::earsC`` (``baseline=7, alpha=0.001, minSigma=0`` by default)
so that the alarms reproduce the package's alarms exactly:

* C1 compares the count with the mean and sample sd of the ``baseline``
  previous buckets: alarm when ``x > mean + z(1-alpha) * max(sd, min_sigma)``.
* C2 does the same with a two-bucket guard gap (buckets t-9 … t-3), so that
  a surge building over two buckets does not hide inside its own baseline.
* C3 uses the C2 statistics ``C2_i = (x_i - mean_i) / sd_i``. R computes
  ``upper = max(0, x_t + sd_t * (z - max(0, C2_{t-2}-1) - max(0, C2_{t-1}-1)))``
  and alarms when ``x_t > upper``. Note the R quirk this implies: the current
  count only matters through the clip at 0, so C3 alarms in the buckets
  *after* a jump. We reproduce it (``variant="r"``) and also offer the
  textbook form (``variant="hutwagner"``: alarm when
  ``sum_{i=t-2..t} max(0, C2_i - 1) > z``).

Missing buckets (NaN) are left out of a baseline (at least 3 present values
are needed, as R's minimum baseline); a missing current bucket gets no
decision. With complete data this is exactly R.

Scores are ``Phi(statistic)`` (one minus the normal upper-tail probability),
so ``score > 1 - alpha`` coincides with the alarm for C1/C2.

Example
-------
>>> import numpy as np
>>> x = np.array([2, 3, 2, 4, 3, 2, 3, 12], dtype=float)
>>> r = ears_batch(x, "C1")
>>> bool(r.alarm[-1]), round(float(r.expected[-1]), 3)
(True, 2.714)
>>> state = EarsState()
>>> for v in x:
...     state, res = ears_update(state, v, method="C1")
>>> res.alarm
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import ndtr, ndtri

from detectors.base import Result, SeriesResult

Method = Literal["C1", "C2", "C3"]
MIN_BASELINE = 3


def z_alpha(alpha: float) -> float:
    """Upper normal quantile ``qnorm(1 - alpha)`` as R uses it."""
    return float(ndtri(1.0 - alpha))


def _check(method: str, baseline: int, min_sigma: float) -> str:
    m = method.upper()
    if m not in ("C1", "C2", "C3"):
        raise ValueError(f"EARS method must be C1, C2 or C3, got {method!r}")
    if baseline < MIN_BASELINE:
        raise ValueError(f"baseline must be >= {MIN_BASELINE}, got {baseline}")
    if min_sigma < 0:
        raise ValueError(f"min_sigma must be >= 0, got {min_sigma}")
    return m


def _lags(method: str, baseline: int) -> tuple[int, int]:
    """(nearest lag, farthest lag) of the reference window."""
    return (1, baseline) if method == "C1" else (3, baseline + 2)


# ---------------------------------------------------------------- batch form


def _ref_stats(values: np.ndarray, near: int, far: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd of values[t-far … t-near] for every t (NaN-aware)."""
    n = len(values)
    mean = np.full(n, np.nan)
    sd = np.full(n, np.nan)
    if n <= far:
        return mean, sd
    width = far - near + 1
    win = np.lib.stride_tricks.sliding_window_view(values, width)  # win[j] = v[j..j+width-1]
    win = win[: n - far]  # window for t = j + far
    present = np.sum(~np.isnan(win), axis=1)
    ok = present >= MIN_BASELINE
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.nanmean(np.where(ok[:, None], win, 0.0), axis=1)
        dev = np.where(np.isnan(win), 0.0, win - m[:, None])
        s = np.sqrt(np.sum(dev * dev, axis=1) / (present - 1))
    mean[far:] = np.where(ok, m, np.nan)
    sd[far:] = np.where(ok, s, np.nan)
    return mean, sd


def _safe_z(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """(x - mean) / sd with 0/0 -> 0 and c/0 -> ±inf (a flat baseline)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - mean) / sd
    z = np.where((sd == 0) & (x == mean), 0.0, z)
    return z


def ears_batch(
    values: np.ndarray,
    method: Method | str = "C1",
    baseline: int = 7,
    alpha: float = 0.001,
    min_sigma: float = 0.0,
    variant: Literal["r", "hutwagner"] = "r",
) -> SeriesResult:
    """EARS over a whole series; buckets without enough history get NaN score.

    Why a batch form: the backtest and the R reference run over arrays; the
    streaming :func:`ears_update` computes the same numbers point by point.
    """
    m = _check(str(method), baseline, min_sigma)
    x = np.asarray(values, dtype=float)
    z = z_alpha(alpha)
    near, far = _lags(m, baseline)
    mean, sd = _ref_stats(x, near, far)
    sig = np.maximum(sd, min_sigma)
    if m in ("C1", "C2"):
        upper = mean + z * sig
        with np.errstate(invalid="ignore"):
            alarm = x > upper
        stat = _safe_z(x, mean, sig)
    else:
        c2 = _safe_z(x, mean, sig)
        part = np.maximum(0.0, c2 - 1.0)
        lag1 = np.concatenate([[np.nan], part[:-1]])
        lag2 = np.concatenate([[np.nan, np.nan], part[:-2]])
        lagsum = lag1 + lag2
        if variant == "r":
            with np.errstate(invalid="ignore"):
                upper = np.maximum(0.0, x + sig * (z - lagsum))
                alarm = x > upper
            stat = np.where(x > 0, lagsum, -np.inf)
            stat = np.where(np.isnan(lagsum) | np.isnan(x), np.nan, stat)
        else:
            stat = lagsum + part
            with np.errstate(invalid="ignore"):
                alarm = stat > z
    with np.errstate(invalid="ignore"):
        alarm = np.where(np.isnan(stat), False, alarm).astype(bool)
    score = ndtr(stat)
    return SeriesResult(expected=mean, score=score, alarm=alarm, statistic=stat)


# ------------------------------------------------------------ streaming form


@dataclass(frozen=True)
class EarsState:
    """The last ``baseline + 4`` counts and the last two C2 excesses.

    Why so small: EARS needs nothing older, so per-key state stays a few
    dozen bytes for hundreds of thousands of (subject, topic) series.
    """

    history: tuple[float, ...] = ()
    c2_parts: tuple[float, float] = (math.nan, math.nan)


def _mean_sd(vals: list[float]) -> tuple[float, float]:
    present = [v for v in vals if not math.isnan(v)]
    n = len(present)
    if n < MIN_BASELINE:
        return math.nan, math.nan
    mean = sum(present) / n
    var = sum((v - mean) ** 2 for v in present) / (n - 1)
    return mean, math.sqrt(var)


def _z(x: float, mean: float, sd: float) -> float:
    if sd == 0:
        if x == mean:
            return 0.0
        return math.inf if x > mean else -math.inf
    return (x - mean) / sd


def ears_update(
    state: EarsState,
    value: float,
    method: Method | str = "C1",
    baseline: int = 7,
    alpha: float = 0.001,
    min_sigma: float = 0.0,
    variant: Literal["r", "hutwagner"] = "r",
) -> tuple[EarsState, Result]:
    """One bucket of EARS: state in, count in → new state and a Result.

    ``value`` may be NaN (missing bucket): no decision, and the gap stays in
    the history so later baselines skip it.
    """
    m = _check(str(method), baseline, min_sigma)
    z = z_alpha(alpha)
    x = float("nan") if value is None else float(value)
    hist = state.history
    keep = baseline + 4
    near, far = _lags(m, baseline)
    n = len(hist)
    mean = sd = math.nan
    if n >= far:
        ref = list(hist[n - far: n - near + 1])
        mean, sd = _mean_sd(ref)
    sig = max(sd, min_sigma) if not math.isnan(sd) else math.nan
    # C2 part for the C3 chain, always tracked (cheap) so C3 can start any time
    if m == "C2" or m == "C3":
        c2 = _z(x, mean, sig) if not (math.isnan(x) or math.isnan(sig)) else math.nan
        part = max(0.0, c2 - 1.0) if not math.isnan(c2) else math.nan
    else:
        c2 = part = math.nan
    stat = math.nan
    alarm = False
    if not (math.isnan(x) or math.isnan(sig)):
        if m in ("C1", "C2"):
            stat = _z(x, mean, sig)
            alarm = x > mean + z * sig
        else:
            lagsum = state.c2_parts[0] + state.c2_parts[1]
            if not math.isnan(lagsum):
                if variant == "r":
                    raw = x + sig * (z - lagsum)
                    alarm = (not math.isnan(raw)) and x > max(0.0, raw)
                    stat = lagsum if x > 0 else -math.inf
                else:
                    stat = lagsum + part
                    alarm = stat > z
    score = float(ndtr(stat)) if not math.isnan(stat) else math.nan
    new_hist = (hist + (x,))[-keep:]
    new_state = EarsState(history=new_hist, c2_parts=(state.c2_parts[1], part))
    reasons: tuple[str, ...] = ()
    if alarm:
        reasons = (f"EARS {m}: {x:g} above expected {mean:.3g} (z={stat:.2f})",)
    return new_state, Result(score=score, alarm=bool(alarm), expected=mean,
                             statistic=stat, reasons=reasons)
