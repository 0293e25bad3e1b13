"""The combined complaint-surge score, and one entry point per method.

Why combine: EARS-like windows catch a sudden jump, the NB-CUSUM a sustained
moderate rise, the same-season baseline a rise that only looks ordinary
next to the daily or weekly rush. A wage-arrears or group-incident scorer
wants one number per (subject, topic) series, not four.

Two ways to get the components' p-values (``SurgeConfig.pvalues``):

* ``"nb"`` (default): a negative binomial predictive fitted to each
  component's baseline, weekday-aware when ``period`` is set, with the
  dispersion floored at Poisson and a minimum rate, so ``p = 0.001`` means
  about one quiet bucket in a thousand (:mod:`detectors.surge_nb`,
  :mod:`detectors.predictive`); combined by the Cauchy combination test
  (``combine="cauchy"``, :mod:`detectors.combine`), which stays calibrated
  when the components read the same counts;
* ``"normal"`` (legacy): ``1 - Phi(z)`` over the window's sample sd, combined
  by Bonferroni's ``min(1, m min_i p_i)``. It is kept because the
  wage-arrears engine's weights were fitted on it (:mod:`detectors.named_surge`);
  on quiet series it alarms on several percent of buckets at alpha = 0.001.

The score is ``1 - p``; ``statistic`` is ``-log10 p``, computed in logs so
that big surges stay ordered where ``1 - p`` has rounded to 1. Alarm when
``p < alpha`` (default 0.001; :func:`alpha_for_rate` turns a false-alarm
rate per series-year into alpha).

Streaming use, one (subject, topic) series of bucket counts::

    state = SurgeState.new(SurgeConfig(bucket_seconds=86400, period=7))
    state, result = update_surge(state, count, at)   # count None = missing

Example
-------
>>> import numpy as np
>>> cfg = SurgeConfig()
>>> state = SurgeState.new(cfg)
>>> for i, c in enumerate([3, 4, 2, 3, 5, 3, 4, 3, 2, 4, 3, 25]):
...     state, res = update_surge(state, c, at=float(i))
>>> res.alarm, res.score > 0.999
(True, True)
>>> r = run_method("ears-c1", np.array([3, 4, 2, 3, 5, 3, 4, 25.0]))
>>> r.alarm.astype(int).tolist()
[0, 0, 0, 0, 0, 0, 0, 1]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
from scipy.special import log_ndtr

from detectors.base import Result, SeriesResult
from detectors.combine import log_bonferroni, log_cauchy
from detectors.cusum import dispersion, nb_cusum_batch, nb_llr
from detectors.ears import ears_batch
from detectors.seasonal import infer_period, ref_stats_at, seasonal_lags
from detectors.surge_nb import BACKTEST_SPAN, NO_ALARM, push_nb

MIN_RING = 30
"""buckets of history the ``nb`` path keeps at least (one float each)"""
CALIBRATED = {"c1-nb": "c1", "c2-nb": "c2", "seasonal-nb": "seasonal", "nb-cusum-reset": "cusum"}
"""single calibrated components, run through the same streaming update as ``combined``"""
METHODS = ("ears-c1", "ears-c2", "ears-c3", "farrington", "nb-cusum", *CALIBRATED, "combined",
           "combined-legacy")
MAX_STATISTIC = 300.0
"""−log10 p as reported in an alert: a zero-variance baseline gives p = 0, and a double cannot say much less than
1e-308 anyway; past this every surge is simply the rarest there is"""


def reportable(statistic: float) -> float:
    """``statistic`` (−log10 p) fit for an alert or a score: capped at :data:`MAX_STATISTIC`, NaN as 0.

    Why: JSON has no Infinity (PostgreSQL refuses it, and the sink stalled on it, issue #19).

    >>> reportable(float("inf")), reportable(float("nan")), reportable(4.2)
    (300.0, 0.0, 4.2)
    """
    if statistic != statistic:
        return 0.0
    return min(float(statistic), MAX_STATISTIC)


RECAL_T0 = 1.0
"""``-log10 p`` above which a bucket counts as a surprise in the record (p < 0.1)"""
RECAL_PRIOR = 3.0
"""the record starts as if it already held this many surprises, spread as the model's p says"""
LN10 = math.log(10.0)


def recalibrated(statistic: float, record: tuple[float, float, float]) -> float:
    """``-log10 p`` judged against the series' own record of surprises rather than the model's alone.

    Why: the predictive's p is exact only for counts as regular as its negative binomial. Sub-daily counts
    (tweets, calls) come in bursts, so on a busy series a bucket at ``p = 1e-15`` happens every few days
    while a sparse series rarely gets below 1e-5 even in a real surge; one threshold then fires all day
    on the first and never on the second. A calibrated ``-log10 p`` exceeds ``t0`` in a share ``10^-t0``
    of quiet buckets and its excess over ``t0`` is exponential with mean ``1 / ln 10``. The record
    (:func:`push_record`) measures both on this series: the share ``q`` of recent buckets above
    :data:`RECAL_T0` and their mean excess ``m``; the statistic is read on that tail instead,
    ``-log10 q + (t - t0) / (m ln 10)`` (linear below ``t0``, so the map is continuous and increasing).
    A well-calibrated series maps to itself; :data:`RECAL_PRIOR` surprises at the model's own
    calibration keep a short record from saying much.

    >>> round(recalibrated(7.0, (0.0, 0.0, 0.0)), 6)             # empty record: the model's own p
    7.0
    >>> round(recalibrated(7.0, (1000.0, 100.0, 100 / LN10)), 6)   # a record as calibrated as the model
    7.0
    >>> round(recalibrated(7.0, (1000.0, 100.0, 300 / LN10)), 2)   # surprises three times as deep as claimed
    3.04
    """
    if statistic != statistic:
        return statistic
    n, k, excess = record
    share = (k + RECAL_PRIOR) / (n + RECAL_PRIOR * 10.0 ** RECAL_T0)
    scale = (excess + RECAL_PRIOR / LN10) / (k + RECAL_PRIOR) * LN10
    base = -math.log10(share)
    if statistic > RECAL_T0:
        return base + (statistic - RECAL_T0) / scale
    return statistic * base / RECAL_T0


def push_record(record: tuple[float, float, float], statistic: float, halflife: float) -> tuple[float, float, float]:
    """The record after one more scored bucket, older buckets discounted by ``halflife`` (in buckets).

    Excesses are counted whole (a burst *should* make the next spike on this series less surprising),
    capped only at :data:`MAX_STATISTIC` so an infinite one stays a number.

    >>> push_record((0.0, 0.0, 0.0), 3.5, 1.0)
    (1.0, 1.0, 2.5)
    >>> push_record((1.0, 1.0, 2.5), 0.2, 1.0)
    (1.5, 0.5, 1.25)
    """
    if statistic != statistic:
        return record
    d = 0.5 ** (1.0 / halflife)
    n, k, excess = record
    hit = statistic > RECAL_T0
    return (n * d + 1.0, k * d + (1.0 if hit else 0.0),
            excess * d + (min(statistic, MAX_STATISTIC) - RECAL_T0 if hit else 0.0))


@dataclass(frozen=True)
class SurgeConfig:
    """Parameters of the combined score (defaults: R's EARS settings).

    ``bucket_seconds`` lets :func:`update_surge` notice skipped buckets from
    ``at`` and treat them as missing; ``period`` (in buckets, e.g. 7 for
    daily counts, 24 for hourly) switches on the same-season baseline.
    """

    baseline: int = 7
    alpha: float = 0.001
    cusum_window: int = 28
    cusum_guard: int = 2
    kappa: float = 2.0
    h: float = 5.0
    period: int | None = None
    cycles: int = 4
    half_width: int = 1
    bucket_seconds: float | None = None
    components: tuple[str, ...] = ("c1", "c2", "cusum", "seasonal")
    min_sigma: float = 0.0
    """floor on the baseline sd of the z-score components (R's ``minSigma``): with a sparse
    series whose baseline is all zeros, one case is then a moderate surprise, not an infinite one"""
    pvalues: str = "nb"
    """``"nb"``: calibrated predictive tails; ``"normal"``: the legacy z-score tails"""
    combine: str = "cauchy"
    """``"cauchy"`` or ``"bonferroni"`` (the legacy minimum)"""
    min_rate: float = 0.3
    """smallest expected count per bucket the ``nb`` path believes in: against an empty baseline,
    3 counts give p ~ 0.004 (no alarm at 0.001), 4 give p ~ 0.0006"""
    prior_weight: float = 1.0
    """how many buckets' worth the prior centre weighs against a component's own window"""
    phi_min: float = 1.0
    """floor on the quasi-Poisson dispersion (1 = never tighter than Poisson)"""
    phase_exposure: bool = True
    """with ``period``: weekday (phase) factors as exposures in every window of the ``nb`` path"""
    recalibrate: float | None = None
    """half-life, in scored buckets, of the series' own record of surprises against which the combined
    ``-log10 p`` is recalibrated (:func:`recalibrated`); None: off. :func:`run_method` sets half a day
    for sub-daily buckets, where a day holds hundreds of them; daily series keep the model's p"""

    def __post_init__(self) -> None:
        if self.pvalues not in ("nb", "normal"):
            raise ValueError(f"pvalues must be 'nb' or 'normal', got {self.pvalues!r}")
        if self.combine not in ("cauchy", "bonferroni"):
            raise ValueError(f"combine must be 'cauchy' or 'bonferroni', got {self.combine!r}")
        if self.recalibrate is not None and not self.recalibrate > 0:
            raise ValueError(f"recalibrate must be a half-life > 0 buckets or None, got {self.recalibrate!r}")
        if self.min_rate < 0 or self.prior_weight < 0 or self.phi_min < 1:
            raise ValueError(f"need min_rate >= 0, prior_weight >= 0, phi_min >= 1; got {self.min_rate}, "
                             f"{self.prior_weight}, {self.phi_min}")

    def lags(self) -> dict[str, np.ndarray]:
        """Reference lags per component (nearest first)."""
        out: dict[str, np.ndarray] = {}
        if "c1" in self.components:
            out["c1"] = np.arange(1, self.baseline + 1)
        if "c2" in self.components:
            out["c2"] = np.arange(3, self.baseline + 3)
        if "cusum" in self.components:
            out["cusum"] = np.arange(self.cusum_guard + 1, self.cusum_guard + self.cusum_window + 1)
        if "seasonal" in self.components and self.period:
            out["seasonal"] = seasonal_lags(self.period, self.cycles, self.half_width)
        return out

    def history_length(self) -> int:
        n = int(max((int(v.max()) for v in self.lags().values()), default=1))
        if self.pvalues == "nb":
            # each window predicts its own last BACKTEST_SPAN buckets again; weekday factors need several cycles
            n = max(n + BACKTEST_SPAN + self.cusum_guard, MIN_RING,
                    4 * self.period + 2 if self.period and self.phase_exposure else 0)
        return n


def alpha_for_rate(false_alarms_per_year: float, bucket_seconds: float) -> float:
    """The per-bucket alpha that gives ``false_alarms_per_year`` per quiet series.

    Why: an officer budgets false alarms per area and year, not per bucket.

    >>> alpha_for_rate(0.365, 86400.0)   # one false alarm per series every ~3 years, daily buckets
    0.001
    """
    per_year = 365.0 * 86400.0 / bucket_seconds
    return round(false_alarms_per_year / per_year, 12)


@dataclass
class SurgeState:
    """Per-series state: a ring of recent counts and the CUSUM sum.

    The ring holds as many buckets as the longest reference window (a few
    dozen without a seasonal baseline). :func:`update_surge` returns a new
    state and leaves the one passed in untouched.
    """

    config: SurgeConfig
    ring: np.ndarray
    pos: int = 0  # index where the next count goes
    cusum: float = 0.0
    last_at: float | None = None
    since_alarm: int = NO_ALARM
    """buckets since the CUSUM's last alarm while it re-learns its baseline (-1: none)"""
    record: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """with ``config.recalibrate``: the discounted record of surprises, (buckets scored, those with
    ``-log10 p`` above :data:`RECAL_T0`, their summed excess over it); see :func:`recalibrated`"""
    _lags: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)
    """the config's reference lags as plain tuples: per update, Python arithmetic on a few dozen
    numbers is several times faster than numpy's per-call overhead"""

    @classmethod
    def new(cls, config: SurgeConfig | None = None) -> "SurgeState":
        cfg = config or SurgeConfig()
        return cls(cfg, np.full(cfg.history_length(), np.nan), _lags=_plain_lags(cfg))

    def to_dict(self) -> dict:
        """Plain data for a changelogged table (config is kept by the caller)."""
        d = {"ring": self.ring.tolist(), "pos": self.pos, "cusum": self.cusum, "last_at": self.last_at,
             "since_alarm": self.since_alarm}
        if self.config.recalibrate:  # only then: the stream's daily states keep their old shape
            d["record"] = list(self.record)
        return d

    @classmethod
    def from_dict(cls, config: SurgeConfig, d: dict) -> "SurgeState":
        """Inverse of :meth:`to_dict`; a dict written before ``since_alarm`` existed reads as no recent alarm."""
        return cls(config, np.array(d["ring"], dtype=float), d["pos"], d["cusum"], d["last_at"],
                   int(d.get("since_alarm", NO_ALARM)), tuple(float(v) for v in d.get("record", (0.0, 0.0, 0.0))),
                   _lags=_plain_lags(config))


def _plain_lags(cfg: SurgeConfig) -> dict[str, tuple[int, ...]]:
    return {name: tuple(int(x) for x in lag) for name, lag in cfg.lags().items()}


def _stats(ref: list[float]) -> tuple[float, float]:
    """Mean and sample sd of the non-missing reference counts (NaN when fewer than three)."""
    ref = [x for x in ref if x == x]
    n = len(ref)
    if n < 3:
        return math.nan, math.nan
    mean = sum(ref) / n
    return mean, math.sqrt(sum((x - mean) * (x - mean) for x in ref) / (n - 1))


def _log_z_tail(x: float, mean: float, sd: float) -> float:
    """Log upper-tail normal probability of x given baseline mean and sd.

    Kept in logs so that big surges stay distinguishable (1 - p rounds to 1).
    """
    if math.isnan(mean):
        return math.nan
    if sd == 0:
        return math.log(0.5) if x == mean else (-math.inf if x > mean else 0.0)
    return float(log_ndtr(-(x - mean) / sd))


def update_surge(state: SurgeState, count: float | None, at: float) -> tuple[SurgeState, Result]:
    """One bucket of one (subject, topic) series → new state and combined Result.

    ``count=None`` (or NaN) means the source was silent: no decision, and the
    bucket is remembered as missing rather than as zero. ``at`` is the bucket
    start in seconds; with ``config.bucket_seconds`` set, skipped buckets are
    filled as missing.
    """
    new, result, _ = update_surge_components(state, count, at)
    return new, result


def update_surge_components(state: SurgeState, count: float | None,
                            at: float) -> tuple[SurgeState, Result, dict[str, float]]:
    """:func:`update_surge`, also returning each component's natural-log p-value.

    Why: a backtest of the single components then costs one pass, and each
    is exactly what that component alone would say (the ring is the same).
    """
    cfg = state.config
    ring = state.ring.tolist()
    size = len(ring)
    pos = state.pos
    if cfg.bucket_seconds and state.last_at is not None:
        skipped = int(round((at - state.last_at) / cfg.bucket_seconds)) - 1
        for _ in range(min(max(skipped, 0), size)):
            ring[pos] = math.nan
            pos = (pos + 1) % size
    x = math.nan if count is None else float(count)
    tails: dict[str, float] = {}
    expected: dict[str, float] = {}
    pos, s, since = _step(cfg, state._lags or _plain_lags(cfg), ring, pos, state.cusum, state.since_alarm, x,
                          tails, expected)
    new = SurgeState(cfg, np.array(ring), pos, s, at, since, state.record, _lags=state._lags)
    if not tails:
        return new, Result(score=math.nan, alarm=False, expected=math.nan), tails
    driver = min(tails, key=tails.__getitem__)
    logp = min(0.0, (log_cauchy if cfg.combine == "cauchy" else log_bonferroni)(list(tails.values())))
    if cfg.recalibrate:
        stat = -logp / math.log(10)
        logp = -recalibrated(stat, state.record) * math.log(10)
        new.record = push_record(state.record, stat, cfg.recalibrate)
    p = math.exp(logp)
    alarm = p < cfg.alpha
    reasons = ()
    if alarm:
        reasons = (f"{driver}: count {x:g} vs expected {expected[driver]:.3g} (p={math.exp(tails[driver]):.2g})",)
    return new, Result(score=1.0 - p, alarm=alarm, expected=expected[driver],
                       statistic=-logp / math.log(10), reasons=reasons), tails


def advance(state: SurgeState, counts: Sequence[float], at: float) -> SurgeState:
    """Store several buckets in a row without scoring them (``at``: the last one's start).

    Why: closing a run of quiet weeks needs only the ring and the CUSUM sum;
    skipping the EARS tails makes that several times cheaper, and the state
    is exactly what :func:`update_surge` bucket by bucket would leave.
    """
    cfg = state.config
    if cfg.recalibrate:  # the record needs every bucket's p: score them after all
        step = cfg.bucket_seconds or 1.0
        for k, count in enumerate(counts):
            state, _ = update_surge(state, float(count), at - (len(counts) - 1 - k) * step)
        return state
    ring = state.ring.tolist()
    pos, s, since = state.pos, state.cusum, state.since_alarm
    lags = state._lags or _plain_lags(cfg)
    if cfg.pvalues == "nb":
        for count in counts:
            pos, s, since = push_nb(cfg, lags, ring, pos, s, since, float(count), None, None)
        return SurgeState(cfg, np.array(ring), pos, s, at, since, state.record, _lags=state._lags)
    for k, count in enumerate(counts):
        if s == 0.0 and cfg.kappa > 1 and not any(counts[k:]):
            # a zero count can only lower the chart (its llr is negative when kappa > 1), so from a
            # chart at 0 the remaining zeros just go into the ring
            for _ in range(min(len(counts) - k, len(ring))):
                ring[pos] = 0.0
                pos = (pos + 1) % len(ring)
            pos = (pos + max(0, len(counts) - k - len(ring))) % len(ring)
            break
        pos, s = _push(cfg, lags, ring, pos, s, float(count), None, None)
    return SurgeState(state.config, np.array(ring), pos, s, at, since, state.record, _lags=state._lags)


def _step(cfg: SurgeConfig, lags: dict[str, tuple[int, ...]], ring: list[float], pos: int, s: float, since: int,
          x: float, tails: dict[str, float] | None, expected: dict[str, float] | None) -> tuple[int, float, int]:
    """One bucket through the configured path: next position, CUSUM sum, buckets since its alarm."""
    if cfg.pvalues == "nb":
        return push_nb(cfg, lags, ring, pos, s, since, x, tails, expected)
    pos, s = _push(cfg, lags, ring, pos, s, x, tails, expected)
    return pos, s, since


def _push(cfg: SurgeConfig, lags: dict[str, tuple[int, ...]], ring: list[float], pos: int, s: float, x: float,
          tails: dict[str, float] | None, expected: dict[str, float] | None) -> tuple[int, float]:
    """Judge ``x`` against the ring, step the CUSUM, store ``x``: the next position and CUSUM sum.

    Fills ``tails`` (log tail probability per component) and ``expected``
    when given; without them only the CUSUM, which carries state, is computed.
    """
    size = len(ring)
    if not math.isnan(x):
        for name, lag in lags.items():
            if tails is None and name != "cusum":
                continue
            mean, sd = _stats([ring[(pos - k) % size] for k in lag])
            if name == "cusum":
                if math.isnan(mean):
                    continue
                s = max(0.0, s + float(nb_llr(x, mean, dispersion(mean, sd * sd), cfg.kappa)))
                if tails is not None:
                    tails[name] = -s
                    expected[name] = mean
                if s > cfg.h:
                    s = 0.0  # restart the chart after its own alarm, as R does
            else:
                logp = _log_z_tail(x, mean, max(sd, cfg.min_sigma))
                if not math.isnan(logp):
                    tails[name] = logp
                    expected[name] = mean
    ring[pos] = x
    return (pos + 1) % size, s


def combined_batch(values: np.ndarray, timestamps: Sequence[float] | None = None,
                   config: SurgeConfig | None = None) -> SeriesResult:
    """The combined score over a series, by running the streaming update.

    Why not vectorised: running the very same :func:`update_surge` keeps the
    offline numbers identical to the stream's.
    """
    x = np.asarray(values, dtype=float)
    ts = np.arange(len(x), dtype=float) if timestamps is None else np.asarray(timestamps, dtype=float)
    cfg = config or SurgeConfig()
    state = SurgeState.new(cfg)
    out = np.empty((4, len(x)))
    for i in range(len(x)):
        state, r = update_surge(state, x[i], float(ts[i]))
        out[:, i] = (r.expected, r.score, float(r.alarm), r.statistic)
    return SeriesResult(expected=out[0], score=out[1], alarm=out[2].astype(bool), statistic=out[3])


def local_cusum_batch(values: np.ndarray, config: SurgeConfig | None = None) -> SeriesResult:
    """NB-CUSUM with expectation and dispersion from a guarded moving baseline."""
    cfg = config or SurgeConfig()
    x = np.asarray(values, dtype=float)
    lags = np.arange(cfg.cusum_guard + 1, cfg.cusum_guard + cfg.cusum_window + 1)
    mean, sd = ref_stats_at(x, lags)
    return nb_cusum_batch(x, mean, dispersion(mean, sd * sd), kappa=cfg.kappa, h=cfg.h)


def onset_filter(statistic: np.ndarray, refractory: int) -> np.ndarray:
    """Keep a bucket's statistic only where it beats every one of the previous
    ``refractory`` buckets; elsewhere -inf.

    Why: an alert is raised once per episode (the alert layer de-duplicates by
    episode start); a benchmark that charges every bucket of a long surge as a
    new detection (NAB does) should see episode starts only. The rule uses no
    threshold, so one threshold can still be swept over the result.

    >>> onset_filter(np.array([1.0, 5.0, 4.0, 6.0, 2.0]), 2).tolist()
    [1.0, 5.0, -inf, 6.0, -inf]
    """
    s = np.asarray(statistic, dtype=float)
    s = np.where(np.isnan(s), -np.inf, s)
    if refractory <= 0 or len(s) == 0:
        return s
    pad = np.concatenate([np.full(refractory, -np.inf), s[:-1]])
    prev_max = np.lib.stride_tricks.sliding_window_view(pad, refractory).max(axis=1)
    return np.where(s > prev_max, s, -np.inf)


def refractory_buckets(step_seconds: float | None) -> int:
    """Buckets an alarm episode covers, for :func:`onset_filter`: a day of sub-daily buckets, a week of daily
    ones, four weeks beyond (one bucket when the step is unknown).

    Why these: an officer gets one alert per episode, and a surge in hotline counts runs its course within
    about a day (5-minute buckets) or a week (daily counts); the span is fixed by the step alone, never
    fitted to a benchmark.

    >>> refractory_buckets(300.0), refractory_buckets(86400.0), refractory_buckets(7 * 86400.0), refractory_buckets(None)
    (288, 7, 4, 1)
    """
    if not step_seconds or not step_seconds > 0:
        return 1
    day = 86400.0
    span = day if step_seconds < day else 7 * day if step_seconds < 7 * day else 28 * day
    return max(1, int(round(span / step_seconds)))


def recalibration_halflife(step_seconds: float | None) -> float | None:
    """Half-life of the record :func:`recalibrated` reads: half a day of sub-daily buckets, None (off) for
    daily and longer ones.

    Why off for those: a year of daily counts holds a few dozen surprises at p < 0.1, too few to say more
    than the predictive's own backtested dispersion already does (and the calibration bench's daily
    figures stay as they were). Half a day was the best on NAB realTweets files 1-5 of 144, 288 and 576
    buckets, a week and no discounting (``python -m bench.nab --split``; README, Complaint surges).

    >>> recalibration_halflife(300.0), recalibration_halflife(3600.0), recalibration_halflife(86400.0)
    (144.0, 12.0, None)
    """
    if not step_seconds or not 0 < step_seconds < 86400.0:
        return None
    return 43200.0 / step_seconds


def run_method(name: str, values: np.ndarray, timestamps: Sequence[float] | None = None,
               config: SurgeConfig | None = None) -> SeriesResult:
    """Run one named method over a series of bucket counts.

    Names: ``ears-c1``, ``ears-c2``, ``ears-c3`` (R settings, exact),
    ``farrington`` (same-season quasi-Poisson; the "year" is the natural
    cycle inferred from the timestamps, 52 buckets when none are given),
    ``nb-cusum`` (the original chart), the calibrated single components
    ``c1-nb``, ``c2-nb``, ``seasonal-nb``, ``nb-cusum-reset``, ``combined``
    (calibrated components, Cauchy combination) and ``combined-legacy`` (the
    z-score components and Bonferroni minimum). With timestamps, the
    combined and calibrated methods add the cycle inferred from them
    (weekday-aware windows for daily data) and, for sub-daily buckets, the
    recalibration against the series' own record (:func:`recalibrated`).
    """
    x = np.asarray(values, dtype=float)
    key = name.lower()
    if key not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    if key.startswith("ears-"):
        return ears_batch(x, key[-2:].upper())
    period = infer_period(timestamps) if timestamps is not None else None
    if key == "farrington":
        from detectors.farrington import farrington_batch

        return farrington_batch(x, period=period or 52)
    cfg = config or SurgeConfig()
    if key == "nb-cusum":
        return local_cusum_batch(x, cfg)
    if config is None:
        if key == "combined-legacy":
            cfg = replace(cfg, pvalues="normal", combine="bonferroni")
        if period:
            bucket = float(np.median(np.diff(np.asarray(timestamps, dtype=float))))
            cfg = replace(cfg, period=period, bucket_seconds=bucket, phase_exposure=period <= 168,
                          recalibrate=recalibration_halflife(bucket))
    if key in CALIBRATED:
        cfg = replace(cfg, components=(CALIBRATED[key],), pvalues="nb")
    return combined_batch(x, timestamps, cfg)


def log10_p(name: str, result: SeriesResult) -> np.ndarray:
    """−log10 p per bucket for any method's result (NaN where it made no decision).

    Why: ``score = 1 - p`` rounds to 1 for every big surge; this keeps them
    apart. EARS C1/C2 and Farrington: the normal tail of their z; EARS C3 (R
    form): the tail of its lagged sum; the CUSUM: its Kingman bound ``S``.
    """
    key = name.lower()
    stat = np.asarray(result.statistic, dtype=float)
    if key.startswith("ears-"):
        return -log_ndtr(-stat) / math.log(10)
    if key == "nb-cusum":
        return stat / math.log(10)
    if key == "farrington":
        with np.errstate(divide="ignore"):
            return -np.log10(np.clip(1.0 - np.asarray(result.score, dtype=float), 0.0, 1.0))
    return stat
