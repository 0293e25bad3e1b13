"""Probability of detecting a simulated outbreak at a matched false-alarm rate, weekly and daily.

Why: DESIGN §6 and issue #22 ask for sensitivity at a false-alarm rate of
0.5% on outbreaks simulated the way the surveillance literature does it
(Noufaily et al. 2013, Statistics in Medicine 32: 1206-1222), so our numbers
can be read beside theirs and Watkins et al.'s (NB-CUSUM 1.00 vs EARS
0.53-0.60 at FAR ~ 0.005).

The design, written from the paper's description (our own grid of
parameters in its spirit, not its exact 28-row table):

* baseline counts ``NB`` with mean ``mu(t) = exp(theta + beta t + sum_j
  gamma1 cos(2 pi j t / P) + gamma2 sin(2 pi j t / P))`` (``P`` = 52 weeks or
  365.25 days; daily series also get a day-of-week factor) and variance
  ``phi * mu``;
* an outbreak starting at ``t0`` has ``Poisson(k * sd(t0))`` cases,
  ``sd = sqrt(phi mu(t0))``, ``k`` in 2, 3, 5, 10, each case delayed by
  ``floor(lognormal(0, 0.5))`` buckets (most within two buckets);
* two outbreaks of random ``k`` in each series' history (methods must live
  with past outbreaks in their baselines), one in the evaluated final year;
* FAR: the same series without the evaluated outbreak. Each method's
  threshold is the 0.995 quantile of its statistic over every evaluated
  bucket of every clean series (one threshold per method and frequency, as a
  deployment would have), so FAR = 0.005 for all; POD: the share of
  outbreaks with a bucket above it between their start and their last case.

Methods are run as ``detect-series`` runs them (timestamps given, so the
cycle is inferred). The calibrated components (``c1-nb`` …) come from the
same pass as ``combined`` (:func:`detectors.surge.update_surge_components`);
each equals what the component alone reports. Farrington runs weekly only
(one GLM per bucket is too slow for the daily grid here).

Run: ``python -m bench.surge_outbreaks [--series 20]`` → ``bench/results/surge_outbreaks.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from detectors.farrington import farrington_batch
from detectors.seasonal import infer_period
from detectors.surge import CALIBRATED, SurgeConfig, SurgeState, log10_p, run_method, update_surge_components

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
KS = (2.0, 3.0, 5.0, 10.0)
TARGET_FAR = 0.005
DOW = np.log(np.array([1.3, 1.1, 1.0, 1.0, 1.05, 0.8, 0.75]))


@dataclass(frozen=True)
class Scenario:
    theta: float
    phi: float
    beta: float = 0.0
    gamma1: float = 0.0
    gamma2: float = 0.0
    m: int = 0


# means from ~1.6 to ~40 a bucket, Poisson to strongly overdispersed, with and without trend and seasonality
WEEKLY = (
    Scenario(0.5, 1.0), Scenario(0.5, 2.0, 0.0, 0.2, 0.4, 1), Scenario(1.5, 1.0, 0.0, 0.6, 0.6, 1),
    Scenario(1.5, 3.0, 0.003, 0.3, -0.5, 2), Scenario(2.5, 1.5), Scenario(2.5, 2.0, 0.002, 0.6, 0.4, 1),
    Scenario(2.5, 5.0, 0.0, 0.5, 0.5, 2), Scenario(3.75, 1.5, 0.0, 0.8, 0.2, 1),
    Scenario(3.75, 3.0, -0.002, 0.2, 0.6, 2), Scenario(1.0, 1.5, 0.002), Scenario(2.0, 2.0, 0.0, 1.0, 0.2, 1),
    Scenario(3.0, 2.0, 0.001, 0.4, 0.4, 2),
)
DAILY = tuple(replace(s, theta=s.theta - 0.8, beta=s.beta / 7.0) for s in WEEKLY)  # about a seventh of the weekly mean


def baseline_mean(sc: Scenario, n: int, daily: bool) -> np.ndarray:
    t = np.arange(n, dtype=float)
    period = 365.25 if daily else 52.0
    eta = sc.theta + sc.beta * t
    for j in range(1, sc.m + 1):
        eta = eta + sc.gamma1 * np.cos(2 * np.pi * j * t / period) + sc.gamma2 * np.sin(2 * np.pi * j * t / period)
    if daily:
        eta = eta + DOW[np.arange(n) % 7]
    return np.exp(eta)


def nb_counts(rng: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    if phi <= 1.0:
        return rng.poisson(mu).astype(float)
    size = mu / (phi - 1.0)
    return rng.negative_binomial(size, size / (size + mu)).astype(float)


def outbreak(rng: np.random.Generator, n: int, t0: int, k: float, mu: np.ndarray, phi: float) -> tuple[np.ndarray, int]:
    """Extra cases per bucket, and the last bucket with a case (``t0`` if none)."""
    cases = rng.poisson(k * math.sqrt(phi * mu[t0]))
    delays = np.floor(rng.lognormal(0.0, 0.5, cases)).astype(int)
    extra = np.bincount(np.minimum(t0 + delays, n - 1), minlength=n).astype(float)
    return extra, int(t0 + delays.max()) if cases else t0


def simulate(rng: np.random.Generator, scenarios: tuple[Scenario, ...], n_series: int, n: int, n_eval: int,
             daily: bool) -> list[dict]:
    out = []
    for si, sc in enumerate(scenarios):
        mu = baseline_mean(sc, n, daily)
        for i in range(n_series):
            clean = nb_counts(rng, mu, sc.phi)
            for _ in range(2):  # past outbreaks, left in both copies
                extra, _ = outbreak(rng, n, int(rng.integers(60, n - n_eval - 10)), float(rng.choice(KS)), mu, sc.phi)
                clean = clean + extra
            k = KS[i % len(KS)]
            t0 = int(rng.integers(n - n_eval, n - 5))
            extra, last = outbreak(rng, n, t0, k, mu, sc.phi)
            out.append({"scenario": si, "k": k, "clean": clean, "with": clean + extra, "start": t0, "end": last})
    return out


def statistics(runs: list[dict], step: float, farrington: bool) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per method, per series: (−log10 p on the clean copy, on the copy with the outbreak)."""
    n = len(runs[0]["clean"])
    ts = np.arange(n) * step
    period = infer_period(ts)
    cfg = SurgeConfig(bucket_seconds=step, period=period, phase_exposure=period <= 168)
    names = ("ears-c1", "ears-c2", "ears-c3", "nb-cusum", "combined-legacy")
    out: dict[str, list] = {m: [] for m in names + tuple(CALIBRATED) + ("combined",)}
    if farrington:
        out["farrington"] = []
    timing: dict[str, float] = {}
    for run in runs:
        pair: dict[str, list[np.ndarray]] = {m: [] for m in out}
        for copy in ("clean", "with"):
            x = run[copy]
            for m in names:
                t = time.perf_counter()
                pair[m].append(log10_p(m, run_method(m, x, ts)))
                timing[m] = timing.get(m, 0.0) + time.perf_counter() - t
            t = time.perf_counter()
            comb, comps = _one_pass(x, ts, cfg)
            timing["combined (one pass, all components)"] = timing.get("combined (one pass, all components)", 0.0) \
                + time.perf_counter() - t
            pair["combined"].append(comb)
            for m, c in CALIBRATED.items():
                pair[m].append(comps[c])
            if farrington:
                t = time.perf_counter()
                r = farrington_batch(x, period=period or 52, start=n - 60)
                pair["farrington"].append(log10_p("farrington", r))
                timing["farrington"] = timing.get("farrington", 0.0) + time.perf_counter() - t
        for m in out:
            out[m].append((pair[m][0], pair[m][1]))
    out["_timing"] = timing  # type: ignore[assignment]
    return out


def _one_pass(x: np.ndarray, ts: np.ndarray, cfg: SurgeConfig) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    state = SurgeState.new(cfg)
    comb = np.full(len(x), np.nan)
    comps = {c: np.full(len(x), np.nan) for c in CALIBRATED.values()}
    for i in range(len(x)):
        state, r, tails = update_surge_components(state, x[i], float(ts[i]))
        comb[i] = r.statistic
        for c, lp in tails.items():
            comps[c][i] = -lp / math.log(10)
    return comb, comps


def pod_at_far(runs: list[dict], stats: list[tuple[np.ndarray, np.ndarray]], n_eval: int) -> dict:
    n = len(runs[0]["clean"])
    null = np.concatenate([np.nan_to_num(c[n - n_eval:], nan=-np.inf) for c, _ in stats])
    thr = float(np.quantile(null, 1.0 - TARGET_FAR))
    far = float(np.mean(null > thr))
    hits = []
    for run, (_, w) in zip(runs, stats):
        seg = np.nan_to_num(w[run["start"]:run["end"] + 1], nan=-np.inf)
        hits.append(bool(np.any(seg > thr)))
    hits_a = np.array(hits)
    ks = np.array([r["k"] for r in runs])
    return {"pod": float(hits_a.mean()), "far": far, "threshold_log10p": thr,
            "pod_by_k": {f"{k:g}": float(hits_a[ks == k].mean()) for k in KS}}


def run(daily: bool, n_series: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n, n_eval, step = (600, 365, 86400.0) if daily else (312, 52, 7 * 86400.0)
    runs = simulate(rng, DAILY if daily else WEEKLY, n_series, n, n_eval, daily)
    stats = statistics(runs, step, farrington=not daily)
    timing = stats.pop("_timing")
    res = {m: pod_at_far(runs, s, n_eval) for m, s in stats.items()}
    return {"buckets": n, "evaluated": n_eval, "outbreaks": len(runs), "methods": res, "seconds": timing}


def main(n_series: int = 20, seed: int = 3) -> dict:
    doc = {"design": __doc__.split("Run:")[0].strip(), "series_per_scenario": n_series, "seed": seed,
           "target_far": TARGET_FAR, "ks": KS,
           "literature": {"Watkins et al. (FAR ~ 0.005)": {"NB-CUSUM": 1.0, "EARS C1-C3": "0.53-0.60"}}}
    for label, daily in (("weekly", False), ("daily", True)):
        t0 = time.perf_counter()
        doc[label] = run(daily, n_series, seed)
        doc[label]["wall_seconds"] = time.perf_counter() - t0
        for m, r in sorted(doc[label]["methods"].items(), key=lambda kv: -kv[1]["pod"]):
            by_k = " ".join(f"k={k}:{v:.2f}" for k, v in r["pod_by_k"].items())
            print(f"{label:6s} {m:16s} POD {r['pod']:.3f}  FAR {r['far']:.4f}  ({by_k})", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "surge_outbreaks.json").write_text(json.dumps(doc, indent=2))
    return doc


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="POD at a matched 0.5% FAR on Noufaily-style outbreaks")
    ap.add_argument("--series", type=int, default=20, help="series per scenario (one outbreak each)")
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    main(a.series, a.seed)
