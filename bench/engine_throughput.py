"""Engine batch path, events/s: the fast path, its in-tree reference, and an older commit, in one run.

Two workloads, both decoded once before timing (decode excluded, as in ``bench.stream_throughput``):

* ``synthetic`` — ``bench.stream_throughput``'s events (monthly utility and social-insurance reports and wage
  complaints, ``--events`` over ``--enterprises``), cut into batches of 2,000;
* ``yuhang`` — the ``yuhang`` scenario scaled to ``--district`` enterprises, one delivery day per batch
  (what the backtest feeds the engine).

Each workload is built once and pickled. Every timing is one pass in a fresh child process (warmed up on
the first batches, so numba compilation is not timed), and the paths take turns run by run: this tree's
fast path, this tree's plain reference (``fast=False``), and the engine at ``--baseline-rev`` (default
``main``, unpacked with ``git archive`` and imported instead of this tree). So "before" and "after" share
the machine's load as it varies; medians of ``--runs`` are reported. Every path's output — alert payloads
and score updates — is hashed; the report says whether the hashes agree.

    python -m bench.engine_throughput [--runs 3] [--baseline-rev main]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import os
import pickle
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


def child_run(path: str, fast: str) -> dict[str, Any]:
    """In a child: load a pickled workload into whichever tree is on ``PYTHONPATH``, warm up, time one pass."""
    from detectors.engine import DecodedEvent

    with open(path, "rb") as fh:
        plain = pickle.load(fh)
    batches = [[DecodedEvent(*ev) for ev in batch] for batch in plain]
    choice = {"True": True, "False": False, "None": None}[fast]
    time_engine(batches[:max(5, len(batches) // 6)], choice)  # numba compiles or loads its cache: not timed
    rate, digest, alerts = time_engine(batches, choice)
    return {"rate": rate, "hash": digest, "alerts": alerts}


def spawn(tree: Path, workload: Path, fast: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-run", str(workload), "--fast", fast],
                         cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--enterprises", type=int, default=10_000)
    ap.add_argument("--district", type=int, default=10_000, help="enterprises of the scaled yuhang workload")
    ap.add_argument("--baseline-rev", default="main", help="git revision to time beside this tree ('' to skip)")
    ap.add_argument("--child-run", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--fast", default="None", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_run:
        print(json.dumps(child_run(args.child_run, args.fast)))
        return
    result: dict[str, Any] = {
        "command": (f"python -m bench.engine_throughput --runs {args.runs} --events {args.events} --enterprises "
                    f"{args.enterprises} --district {args.district} --baseline-rev {args.baseline_rev!r}"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "paths": {"fast": "this tree, fast path (compiled levels/episodes)", "reference": "this tree, fast=False",
                  "baseline": "the engine at --baseline-rev"}}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"fast": (ROOT, "True"), "reference": (ROOT, "False")}
        if args.baseline_rev:
            base = Path(tmp) / "baseline"
            base.mkdir()
            archive = subprocess.run(["git", "archive", args.baseline_rev], cwd=ROOT, capture_output=True,
                                     check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            trees["baseline"] = (base, "None")
            result["baseline"] = {"rev": args.baseline_rev, "commit": subprocess.run(
                ["git", "rev-parse", "--short", args.baseline_rev], cwd=ROOT, capture_output=True,
                text=True).stdout.strip()}
        files = {}
        for w in ("synthetic", "yuhang"):
            batches = synthetic(args.events, args.enterprises) if w == "synthetic" else district(args.district)
            files[w] = Path(tmp) / f"{w}.pickle"
            with open(files[w], "wb") as fh:
                pickle.dump([[(e.data_class, e.fields, e.t, e.at) for e in b] for b in batches], fh)
            result[w] = {"events": sum(len(b) for b in batches), "batches": len(batches),
                         "runs": {p: [] for p in trees}, "output_hash": {p: set() for p in trees}}
        for run in range(args.runs):
            for w in ("synthetic", "yuhang"):
                for name, (tree, fast) in trees.items():
                    r = spawn(tree, files[w], fast)
                    result[w]["runs"][name].append(round(r["rate"]))
                    result[w]["output_hash"][name].add(r["hash"])
                    result[w]["alerts"] = r["alerts"]
                print(f"run {run} {w}: " + json.dumps({p: v[-1] for p, v in result[w]["runs"].items()}), flush=True)
    for w in ("synthetic", "yuhang"):
        part = result[w]
        part["output_hash"] = {p: sorted(v) for p, v in part["output_hash"].items()}
        m = part["median_events_per_s"] = {p: round(statistics.median(v)) for p, v in part["runs"].items()}
        part["same_output_every_path"] = len({h for v in part["output_hash"].values() for h in v}) == 1
        part["fast_over_reference"] = round(m["fast"] / m["reference"], 2)
        if "baseline" in m:
            part["fast_over_baseline"] = round(m["fast"] / m["baseline"], 2)
            part["fast_over_baseline_per_run"] = [round(a / b, 2) for a, b in zip(part["runs"]["fast"],
                                                                                   part["runs"]["baseline"])]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine_throughput.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({w: {k: result[w][k] for k in ("median_events_per_s", "same_output_every_path")}
                      for w in ("synthetic", "yuhang")}, indent=1))


if __name__ == "__main__":
    main()
