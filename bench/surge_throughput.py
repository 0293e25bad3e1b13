"""Streaming throughput of the surge path, and outbreak sensitivity per method.

Why: DESIGN §6 asks for per-core throughput of the real work and for
sensitivity at a fixed false-alarm rate. Two measurements, median of 3 runs,
one process (one core):

* ``update_surge`` calls per second over many (subject, topic) series;
* ``WindowedCounts.add`` events per second (with watermark advances);
* sensitivity on simulated outbreaks: each method's threshold is set on
  outbreak-free simulated series so that ~0.5% of buckets alarm, then the
  share of injected outbreaks detected (within the outbreak) is reported.

Run: ``python -m bench.surge_throughput`` → ``bench/results/surge_throughput.json``.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from detectors.surge import SurgeConfig, SurgeState, run_method, update_surge
from streams.windows import WindowedCounts

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


def bench_update_surge(n_series: int = 2000, n_buckets: int = 50, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(5.0, size=(n_buckets, n_series)).astype(float)
    cfg = SurgeConfig(bucket_seconds=86400.0)
    states = [SurgeState.new(cfg) for _ in range(n_series)]
    t0 = time.perf_counter()
    for b in range(n_buckets):
        at = b * 86400.0
        row = counts[b]
        for i in range(n_series):
            states[i], _ = update_surge(states[i], row[i], at)
    return n_series * n_buckets / (time.perf_counter() - t0)


def bench_windows(n_events: int = 300_000, n_subjects: int = 10_000, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 30 * 86400, n_events))
    t = t + rng.normal(0, 600, n_events)  # out of order by ~10 minutes
    subj = rng.integers(0, n_subjects, n_events)
    topic = rng.integers(0, 5, n_events)
    ids = np.arange(n_events)
    dup = rng.random(n_events) < 0.02  # 2% redeliveries
    ids[dup] = np.maximum(ids[dup] - 1, 0)
    events = list(zip(ids.tolist(), subj.tolist(), topic.tolist(), t.tolist()))
    w = WindowedCounts(bucket="hour", allowed_lateness=1800)
    t0 = time.perf_counter()
    for k, ev in enumerate(events):
        w.add(*ev)
        if k % 1000 == 999:
            w.advance(ev[3] - 1200)
    w.advance(t[-1] + 10 * 86400)
    return n_events / (time.perf_counter() - t0)


def median_of_3(fn) -> dict:
    runs = [fn() for _ in range(3)]
    return {"median": statistics.median(runs), "runs": runs}


# ------------------------------------------------------------ sensitivity


def _simulate(rng: np.random.Generator, n: int, base: float, size: float) -> np.ndarray:
    """Negative-binomial daily counts with a weekly rhythm."""
    week = np.array([1.3, 1.1, 1.0, 1.0, 1.0, 0.8, 0.8])
    mu = base * week[np.arange(n) % 7]
    return rng.negative_binomial(size, size / (size + mu)).astype(float)


def sensitivity(methods=("ears-c1", "ears-c2", "ears-c3", "nb-cusum", "combined"),
                n_series: int = 60, n: int = 400, target_far: float = 0.005, seed: int = 1) -> dict:
    """Detection share of injected outbreaks at a ~0.5% false-alarm rate."""
    rng = np.random.default_rng(seed)
    ts = np.arange(n) * 86400.0
    clean = [_simulate(rng, n, base=rng.uniform(3, 15), size=5.0) for _ in range(n_series)]
    outbreaks = []
    for x in clean:
        y = x.copy()
        start = int(rng.integers(200, n - 20))
        length = int(rng.integers(3, 10))
        extra = rng.poisson(np.mean(x) * 0.6 * np.arange(1, length + 1) / length * 2)
        y[start:start + length] += extra
        outbreaks.append((y, start, length))
    out = {}
    for m in methods:
        null_stats = np.concatenate([_stat(run_method(m, x, ts))[60:] for x in clean])
        null_stats = null_stats[np.isfinite(null_stats)]
        thr = float(np.quantile(null_stats, 1 - target_far)) if len(null_stats) else np.inf
        found = 0
        for y, s, L in outbreaks:
            st = _stat(run_method(m, y, ts))
            found += bool(np.any(st[s:s + L] > thr))
        far = float(np.mean(null_stats > thr))
        out[m] = {"sensitivity": found / len(outbreaks), "false_alarm_rate": far, "threshold": thr}
    return out


def _stat(r) -> np.ndarray:
    s = np.asarray(r.statistic, dtype=float)
    return np.where(np.isnan(s), -np.inf, s)


def main() -> dict:
    doc = {
        "machine_note": "one process, one core; median of 3 runs",
        "update_surge_per_s": median_of_3(bench_update_surge),
        "windows_add_per_s": median_of_3(bench_windows),
    }
    print(f"update_surge: {doc['update_surge_per_s']['median']:,.0f}/s  "
          f"windows.add: {doc['windows_add_per_s']['median']:,.0f}/s", flush=True)
    if "--no-sensitivity" not in sys.argv:
        doc["sensitivity_at_0.5pct_far"] = sensitivity()
        for m, r in doc["sensitivity_at_0.5pct_far"].items():
            print(f"{m:10s} sensitivity {r['sensitivity']:.2f} at FAR {r['false_alarm_rate']:.4f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "surge_throughput.json").write_text(json.dumps(doc, indent=2))
    return doc


if __name__ == "__main__":
    main()
