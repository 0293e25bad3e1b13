"""Time ``backtest --events`` over a recorded log with whichever tree is on ``PYTHONPATH`` (an older commit too).

Why: to compare a commit that has no ``bench.backtest_yuhang --recorded`` on the same recorded files::

    git archive main | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base python bench/time_recorded.py var/bench/yuhang_250000

Prints wall and CPU seconds, this process's and its largest child's peak RSS, and the headline figures.
"""
import json
import resource
import sys
import time
from pathlib import Path

from simulators.evaluation.run import backtest

d = Path(sys.argv[1])
w, c = time.perf_counter(), time.process_time()
r = backtest(events=d / "events.jsonl", truth=d / "truth.json", progress=False)
out = {"wall_seconds": round(time.perf_counter() - w, 2), "cpu_seconds": round(time.process_time() - c, 2),
       "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
       "child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
       "alerts": r["alerts"], "effective_warning_rate": r["effective_warning_rate"], "events": r["events"],
       "lists": {k: (v["alerts"], v["effective_warning_rate"]) for k, v in r["lists"].items()}}
print(json.dumps(out))
