"""``make bench``: every benchmark, one after another (never two at once on 2 cores)."""
from __future__ import annotations

import subprocess
import sys

STEPS = [
    ["bench.nab"],
    ["bench.surge_throughput"],
    ["bench.surge_calibration", "--series", "30", "--days", "400"],
    ["bench.surge_outbreaks", "--series", "10"],
    ["bench.surge_alerts_yuhang", "--scenario", "yuhang"],
    ["bench.surge_alerts_yuhang", "--scenario", "hotline-surge"],
    ["bench.stream_throughput", "--events", "100000", "--enterprises", "10000", "--runs", "3"],
    ["bench.stream_throughput", "--events", "100000", "--enterprises", "10000", "--runs", "3", "--bulk", "200"],
    ["bench.alert_latency", "--alerts", "60", "--rate", "300"],
    ["bench.backtest_yuhang"],
    ["bench.backtest_yuhang", "--enterprises", "250000"],
    ["bench.backtest_yuhang", "--enterprises", "250000", "--recorded"],
    ["bench.engine_throughput", "--runs", "3"],
    ["bench.wage_score"],
]


def main() -> int:
    for step in STEPS:
        print(f"== python -m {' '.join(step)}", flush=True)
        if subprocess.call([sys.executable, "-m", *step]) != 0:
            print(f"benchmark {step[0]} failed", file=sys.stderr)
            return 1
    print("results in bench/results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
