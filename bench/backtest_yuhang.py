"""Benchmark: ``earlywarn backtest --scenario yuhang --json`` — run time, peak memory, the report.

Run from a fresh clone: ``.venv/bin/python -m bench.backtest_yuhang``. Writes
``bench/results/backtest_yuhang.json``: the backtest JSON plus wall time, CPU
time and peak resident memory of this process (generation and backtest).
"""
from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from simulators.commands import backtest

OUT = Path(__file__).resolve().parent / "results" / "backtest_yuhang.json"


def main(scenario: str = "yuhang") -> dict:
    wall = time.perf_counter()
    cpu = time.process_time()
    report = backtest(scenario, json_out=False, progress=sys.stderr.isatty())
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=OUT.parent).stdout.strip()
    except OSError:
        commit = ""
    result = {"command": f"earlywarn backtest --scenario {scenario} --json",
              "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak_mb, 1),
              "python": platform.python_version(), "machine": f"{platform.machine()}, {platform.system()}",
              "commit": commit, "report": {k: v for k, v in report.items() if not k.startswith("_")}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    r = main(sys.argv[1] if len(sys.argv) > 1 else "yuhang")
    print(json.dumps({k: r[k] for k in ("wall_seconds", "cpu_seconds", "peak_rss_mb")}))
