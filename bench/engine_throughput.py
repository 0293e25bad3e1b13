"""Engine batch path, events/s: the fast path, its in-tree reference, and an older commit, in one run.

Two workloads, both decoded once before timing (decode excluded, as in ``bench.stream_throughput``):

* ``synthetic`` — ``bench.stream_throughput``'s events (monthly utility and social-insurance reports and wage
  complaints, ``--events`` over ``--enterprises``), cut into batches of 2,000;
* ``yuhang`` — the ``yuhang`` scenario scaled to ``--district`` enterprises, one delivery day per batch
  (what the backtest feeds the engine).

Each is timed ``--runs`` times per path, alternating, and the medians reported. ``--baseline-rev`` (default
``main``) is unpacked with ``git archive`` into a temporary directory and timed by the same code in a child
process, so "before" and "after" share the machine's load. Every path's output — alert payloads and score
updates — is hashed; the report says whether the hashes agree.

    python -m bench.engine_throughput [--runs 3] [--baseline-rev main]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def synthetic(n: int, k: int) -> list[list[Any]]:
    """The stream benchmark's events, decoded, in batches of 2,000."""
    from earlywarn.identifiers import make_uscc
    from streams.decode import decode

    ids = [make_uscc(f"91330110MA{i:07d}") for i in range(k)]
    events = []
    for i in range(n):
        e, month, kind = ids[i % k], 1 + (i // k) % 12, i % 3
        at = f"2026-{month:02d}-01T09:00:00+08:00"
        if kind == 0:
            topic, rec = "ew.water_arrears", {"months_overdue": i % 4, "overdue_amount": 100.0 * (i % 4),
                                               "usual_monthly_bill": 100.0}
        elif kind == 1:
            topic, rec = "ew.social_insurance_arrears", {"months_unpaid": i % 3, "amount_owed": 10.0,
                                                          "insured_headcount": 20, "paid_headcount": 20 - i % 3}
        else:
            topic, rec = "ew.hotline_complaint", {"area_code": "330110001002003", "topic": "wage"}
        rec.update({"event_id": f"b{i}", "occurred_at": at, "enterprise_id": e})
        events.append(decode(topic, json.dumps(rec).encode()))
    return [events[i:i + 2000] for i in range(0, len(events), 2000)]


def district(enterprises: int) -> list[list[Any]]:
    """The yuhang scenario at ``enterprises``, decoded as the backtest decodes it, one delivery day a batch."""
    from simulators.evaluation.backtest import REF_MIDNIGHT, DecodeStats, day_batches, decode_items
    from simulators.evaluation.logfiles import iter_lines
    from simulators.world.generate import generate
    from simulators.world.scenario import load_scenario

    base = load_scenario("yuhang")
    k = enterprises / base.enterprises
    s = load_scenario("yuhang", enterprises=enterprises, hotline_per_day=base.hotline_per_day * k,
                      inspectors=max(1, round(base.inspectors * k)))
    gen = generate(s, progress=False)
    stats = DecodeStats()
    return [[ev for ev in batch if ev.enterprise_id]
            for _, batch in day_batches(decode_items(iter_lines(gen.lines, "<scenario>", stats.problems), stats,
                                                     REF_MIDNIGHT))]


def time_engine(batches: list[list[Any]], fast: bool | None) -> tuple[float, str, int]:
    """(events/s, hash of every alert and score update, alerts) of one pass; ``fast`` None: the engine's default."""
    from detectors.engine import WageArrearsEngine
    from earlywarn.settings import DEFAULT_RULES
    from rules.loader import load_rules

    rules = load_rules(DEFAULT_RULES)
    engine = WageArrearsEngine(rules) if fast is None else WageArrearsEngine(rules, fast=fast)
    store: dict[str, Any] = {}
    outs = []
    n = sum(len(b) for b in batches)
    start = time.perf_counter()
    for batch in batches:
        out = engine.run(batch, store.get)
        store.update(out.touched)
        outs.append((out.alerts, out.score_updates))
    rate = n / (time.perf_counter() - start)
    digest = hashlib.sha256(json.dumps(outs, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return rate, digest, sum(len(a) for a, _ in outs)


def measure(workload: str, args: argparse.Namespace, paths: list[bool | None]) -> dict[str, Any]:
    """Time each path ``args.runs`` times, alternating, on one workload built once."""
    batches = synthetic(args.events, args.enterprises) if workload == "synthetic" else district(args.district)
    rates: dict[str, list[float]] = {str(p): [] for p in paths}
    digests: dict[str, set[str]] = {str(p): set() for p in paths}
    alerts = 0
    for p in paths:            # compile (numba) and warm caches outside the timing
        time_engine(batches[:5], p)
    for _ in range(args.runs):
        for p in paths:
            rate, digest, alerts = time_engine(batches, p)
            rates[str(p)].append(rate)
            digests[str(p)].add(digest)
    return {"events": sum(len(b) for b in batches), "batches": len(batches), "alerts": alerts,
            "runs": {p: [round(r) for r in v] for p, v in rates.items()},
            "median_events_per_s": {p: round(statistics.median(v)) for p, v in rates.items()},
            "output_hash": {p: sorted(v) for p, v in digests.items()}}


def baseline(rev: str, args: argparse.Namespace) -> dict[str, Any]:
    """The same measurement of the engine at ``rev``, in a child process importing that tree."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--runs", str(args.runs),
               "--events", str(args.events), "--enterprises", str(args.enterprises), "--district",
               str(args.district)]
        out = subprocess.run(cmd, cwd=tmp, env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin"}, capture_output=True,
                             text=True, check=True).stdout
    return {"rev": rev, "commit": commit, **json.loads(out.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--enterprises", type=int, default=10_000)
    ap.add_argument("--district", type=int, default=10_000, help="enterprises of the scaled yuhang workload")
    ap.add_argument("--baseline-rev", default="main", help="git revision to time beside this tree ('' to skip)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:  # an older tree: its engine's default path only
        print(json.dumps({w: measure(w, args, [None]) for w in ("synthetic", "yuhang")}))
        return
    result: dict[str, Any] = {
        "command": (f"python -m bench.engine_throughput --runs {args.runs} --events {args.events} --enterprises "
                    f"{args.enterprises} --district {args.district} --baseline-rev {args.baseline_rev!r}"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "paths": {"True": "fast path (compiled levels/episodes)", "False": "in-tree plain reference",
                  "baseline": "the engine at --baseline-rev"}}
    for w in ("synthetic", "yuhang"):
        result[w] = measure(w, args, [True, False])
        print(w, json.dumps(result[w]["median_events_per_s"]), flush=True)
    if args.baseline_rev:
        base = baseline(args.baseline_rev, args)
        result["baseline"] = {"rev": base["rev"], "commit": base["commit"]}
        for w in ("synthetic", "yuhang"):
            result[w]["median_events_per_s"]["baseline"] = base[w]["median_events_per_s"]["None"]
            result[w]["runs"]["baseline"] = base[w]["runs"]["None"]
            result[w]["output_hash"]["baseline"] = base[w]["output_hash"]["None"]
    for w in ("synthetic", "yuhang"):
        m = result[w]["median_events_per_s"]
        result[w]["same_output_every_path"] = len({h for v in result[w]["output_hash"].values() for h in v}) == 1
        if "baseline" in m:
            result[w]["fast_over_baseline"] = round(m["True"] / m["baseline"], 2)
        result[w]["fast_over_reference"] = round(m["True"] / m["False"], 2)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine_throughput.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({w: {k: result[w][k] for k in ("median_events_per_s", "same_output_every_path")}
                      for w in ("synthetic", "yuhang")}, indent=1))


if __name__ == "__main__":
    main()
