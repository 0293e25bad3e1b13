"""Do the surge p-values mean what they say? Share of quiet buckets with p < alpha.

Why: an officer acts on "p = 0.001" only if it means about one false alarm
in a thousand quiet buckets (issue #22). Quiet daily series (no outbreak)
are simulated at several baseline levels, Poisson and overdispersed
(negative binomial, variance = phi * mean), with a weekday rhythm; each
method runs over them exactly as ``detect-series`` would (daily timestamps,
so the weekday-aware windows are on), and the share of scored buckets with
p < alpha is reported for alpha = 0.01 and 0.001. Target: within a factor
1.5 of alpha (``ok``). Shares far *below* alpha are conservative (fewer
false alarms than promised, at some cost in power): at low levels counts are
too discrete to reach every alpha.

Run: ``python -m bench.surge_calibration [--series 60] [--days 500]``
→ ``bench/results/surge_calibration.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from detectors.surge import log10_p, run_method

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
METHODS = ("ears-c1", "nb-cusum", "c1-nb", "c2-nb", "seasonal-nb", "nb-cusum-reset",
           "combined", "combined-legacy")
LEVELS = (1.0, 5.0, 20.0, 100.0)
DISPERSIONS = (1.0, 2.0)
ALPHAS = (0.01, 0.001)
WEEK = np.array([1.25, 1.1, 1.0, 1.0, 1.0, 0.85, 0.8])
WARMUP = 60  # buckets before every method has its windows (EARS 7-10, CUSUM 30, weekday factors 14)


def quiet(rng: np.random.Generator, days: int, level: float, phi: float) -> np.ndarray:
    """Daily counts with mean ``level`` times a weekday factor and variance ``phi`` times the mean."""
    mu = level * WEEK[np.arange(days) % 7] / WEEK.mean()
    if phi <= 1.0:
        return rng.poisson(mu).astype(float)
    size = mu / (phi - 1.0)
    return rng.negative_binomial(size, size / (size + mu)).astype(float)


def main(n_series: int = 60, days: int = 500, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    ts = np.arange(days) * 86400.0
    cells = {(lv, phi): [quiet(rng, days, lv, phi) for _ in range(n_series)] for lv in LEVELS for phi in DISPERSIONS}
    out: dict = {"design": {"series_per_cell": n_series, "days": days, "warmup": WARMUP, "levels": LEVELS,
                            "dispersions": DISPERSIONS, "weekday_factors": WEEK.tolist(), "seed": seed},
                 "methods": {}}
    for m in METHODS:
        t0 = time.perf_counter()
        rows = {}
        for (lv, phi), series in cells.items():
            stats = np.concatenate([log10_p(m, run_method(m, x, ts))[WARMUP:] for x in series])
            stats = stats[~np.isnan(stats)]
            row = {"units": int(len(stats))}
            for a in ALPHAS:
                share = float(np.mean(stats > -np.log10(a)))
                row[f"share_p<{a:g}"] = share
                row[f"ok_{a:g}"] = bool(a / 1.5 <= share <= a * 1.5)
            rows[f"level={lv:g},phi={phi:g}"] = row
        out["methods"][m] = {"cells": rows, "seconds": time.perf_counter() - t0,
                             "cells_ok": {f"{a:g}": sum(r[f"ok_{a:g}"] for r in rows.values()) for a in ALPHAS},
                             "cells_liberal": {f"{a:g}": sum(r[f"share_p<{a:g}"] > 1.5 * a for r in rows.values())
                                               for a in ALPHAS}}
        line = "  ".join(f"{k}: {r['share_p<0.01']:.4f}/{r['share_p<0.001']:.5f}" for k, r in rows.items())
        print(f"{m:16s} {line}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "surge_calibration.json").write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=60)
    ap.add_argument("--days", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    main(a.series, a.days, a.seed)
