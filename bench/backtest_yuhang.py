"""Benchmark: ``earlywarn backtest --scenario yuhang --json`` — run time, peak memory, the report.

Run from a fresh clone: ``.venv/bin/python -m bench.backtest_yuhang``. Writes
``bench/results/backtest_yuhang.json``: the backtest JSON plus wall time, CPU
time and peak resident memory of this process (generation and backtest).

``--enterprises 250000`` scales the district to DESIGN §6's full size (hotline
volume and inspectors in proportion, same geography) and writes
``backtest_yuhang_250000.json``: the speed of a district-year backtest, and the
memory of every enterprise's state held at once.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from simulators.commands import backtest

from simulators.world.scenario import load_scenario

RESULTS = Path(__file__).resolve().parent / "results"


def scaled(scenario: str, enterprises: int) -> dict:
    """Overrides for a district of ``enterprises``: hotline volume and inspectors grow in proportion."""
    s = load_scenario(scenario)
    k = enterprises / s.enterprises
    return {"enterprises": enterprises, "hotline_per_day": s.hotline_per_day * k,
            "inspectors": max(1, round(s.inspectors * k))}


def main(scenario: str = "yuhang", enterprises: int | None = None) -> dict:
    overrides = scaled(scenario, enterprises) if enterprises else None
    out = RESULTS / (f"backtest_{scenario}_{enterprises}.json" if enterprises else f"backtest_{scenario}.json")
    wall = time.perf_counter()
    cpu = time.process_time()
    report = backtest(scenario, json_out=False, progress=sys.stderr.isatty(), overrides=overrides)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=RESULTS).stdout.strip()
    except OSError:
        commit = ""
    command = f"python -m bench.backtest_yuhang {scenario}" + (f" --enterprises {enterprises}" if enterprises else "")
    result = {"command": command, "overrides": overrides,
              "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak_mb, 1),
              "python": platform.python_version(), "machine": f"{platform.machine()}, {platform.system()}",
              "commit": commit, "report": {k: v for k, v in report.items() if not k.startswith("_")}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="yuhang")
    ap.add_argument("--enterprises", type=int, default=None, help="scale the district to this many enterprises")
    args = ap.parse_args()
    r = main(args.scenario, args.enterprises)
    print(json.dumps({k: r[k] for k in ("wall_seconds", "cpu_seconds", "peak_rss_mb")}))
