"""Benchmark: ``earlywarn backtest --scenario yuhang --json`` — run time, peak memory, the report.

Run from a fresh clone: ``.venv/bin/python -m bench.backtest_yuhang``. Writes
``bench/results/backtest_yuhang.json``: the backtest JSON plus wall time, CPU
time and peak resident memory of this process (generation and backtest).

``--enterprises 250000`` scales the district to DESIGN §6's full size (hotline
volume and inspectors in proportion, same geography) and writes
``backtest_yuhang_250000.json``: the speed of a district-year backtest, and the
memory of every enterprise's state held at once.

``--recorded`` times what issue #24 asks for: a *recorded* district-year through
``backtest --events --truth``. The scenario is generated once into
``var/bench/<scenario>_<enterprises>/`` (``events.jsonl``, ``truth.json``; kept
for later runs) in a child process, so neither its time nor its memory is in the
figures; the JSON is ``backtest_<scenario>_<enterprises>_recorded.json``.
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


VAR = Path("var/bench")


def recording(scenario: str, enterprises: int | None) -> Path:
    """The directory holding the scenario's recorded log and truth, generated once (in a child process)."""
    where = VAR / f"{scenario}_{enterprises or load_scenario(scenario).enterprises}"
    if not (where / "truth.json").exists():
        code = ("import sys; from pathlib import Path; from bench.backtest_yuhang import write_recording; "
                "write_recording(sys.argv[1], int(sys.argv[2]) if sys.argv[2] != 'None' else None, Path(sys.argv[3]))")
        subprocess.run([sys.executable, "-c", code, scenario, str(enterprises), str(where)], check=True)
    return where


def write_recording(scenario: str, enterprises: int | None, where: Path) -> None:
    from simulators.commands import write_scenario
    from simulators.world.generate import generate

    s = load_scenario(scenario, **(scaled(scenario, enterprises) if enterprises else {}))
    tmp = where.with_name(where.name + ".tmp")
    write_scenario(generate(s, progress=sys.stderr.isatty()), tmp)
    tmp.rename(where)


def main(scenario: str = "yuhang", enterprises: int | None = None, recorded: bool = False) -> dict:
    overrides = scaled(scenario, enterprises) if enterprises else None
    name = f"backtest_{scenario}" + (f"_{enterprises}" if enterprises else "") + ("_recorded" if recorded else "")
    out = RESULTS / f"{name}.json"
    where = None
    if recorded:
        where = recording(scenario, enterprises)
        if resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss:    # generated just now, by a child
            subprocess.run([sys.executable, "-m", "bench.backtest_yuhang", scenario, "--recorded"]
                           + (["--enterprises", str(enterprises)] if enterprises else []), check=True)
            return json.loads(out.read_text(encoding="utf-8"))      # timed in a fresh process
    wall = time.perf_counter()
    cpu = time.process_time()
    if where is not None:
        report = backtest(events=where / "events.jsonl", truth=where / "truth.json", json_out=False,
                          progress=sys.stderr.isatty())
    else:
        report = backtest(scenario, json_out=False, progress=sys.stderr.isatty(), overrides=overrides)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    child_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    """the largest child's peak: with --recorded, the process that reads and validates the log (decode_ahead);
    it runs beside this one, so this process's peak plus it bounds the whole run's"""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=RESULTS).stdout.strip()
    except OSError:
        commit = ""
    command = (f"python -m bench.backtest_yuhang {scenario}" + (f" --enterprises {enterprises}" if enterprises else "")
               + (" --recorded" if recorded else ""))
    result = {"command": command, "overrides": overrides, "events_path": str(where / "events.jsonl") if where else None,
              "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak_mb, 1),
              "child_peak_rss_mb": round(child_peak_mb, 1), "peak_rss_mb_with_child": round(peak_mb + child_peak_mb, 1),
              "python": platform.python_version(), "machine": f"{platform.machine()}, {platform.system()}",
              "commit": commit, "report": {k: v for k, v in report.items() if not k.startswith("_")}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="yuhang")
    ap.add_argument("--enterprises", type=int, default=None, help="scale the district to this many enterprises")
    ap.add_argument("--recorded", action="store_true",
                    help="time `backtest --events` over the scenario recorded to files (generated once, untimed)")
    args = ap.parse_args()
    r = main(args.scenario, args.enterprises, args.recorded)
    print(json.dumps({k: r[k] for k in ("wall_seconds", "cpu_seconds", "peak_rss_mb", "child_peak_rss_mb")}))
