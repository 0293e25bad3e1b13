"""Plain functions behind ``earlywarn simulate``, ``backtest``, ``fit`` and ``tune`` (the CLI registers them).

A thin façade over the two subpackages: ``simulators.world`` makes districts,
``simulators.evaluation`` judges detectors on any event log.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from simulators.evaluation.report import print_report
from simulators.evaluation.run import backtest
from simulators.evaluation.truthfile import truth_document
from simulators.evaluation.tune import Target, sweep
from simulators.world.generate import Generated, generate
from simulators.world.scenario import load_scenario

__all__ = ["simulate", "write_scenario", "backtest", "print_report", "tune"]


def simulate(scenario: str, speed: float = 0.0, to_kafka: bool = False, out: Path | None = None,
             seed: int | None = None, bootstrap: str | None = None, progress: bool = True,
             producer: Any = None) -> dict[str, Any]:
    """Generate a scenario; write ``events.jsonl`` and ``truth.json`` to ``out`` and/or replay to Kafka.

    ``speed`` is simulated seconds per wall-clock second for the Kafka replay
    (0 = as fast as possible).
    """
    s = load_scenario(scenario, **({"seed": seed} if seed is not None else {}))
    gen = generate(s, progress=progress)
    result: dict[str, Any] = {"scenario": s.name, "seed": s.seed, "lines": len(gen.lines), "faults": gen.faults,
                              "truth": gen.truth.summary()}
    if out is not None:
        result["files"] = {k: str(v) for k, v in write_scenario(gen, Path(out)).items()}
    if to_kafka:
        if not bootstrap:
            raise ValueError("--to-kafka needs a broker: set EW_KAFKA_BROKER or pass bootstrap")
        from simulators.evaluation.replay import replay
        result["kafka"] = replay(gen.lines, bootstrap, speed=speed, progress=progress, producer=producer)
    return result


def write_scenario(gen: Generated, out: Path) -> dict[str, Path]:
    """``events.jsonl`` and ``truth.json`` in the documented formats (the truth with inspectors and grids)."""
    paths = gen.write(out)
    geo = gen.scenario.geography
    paths["truth"].write_text(truth_document(gen.truth, gen.scenario.inspectors, geo.streets
                                             * geo.communities_per_street * geo.grids_per_community),
                              encoding="utf-8")
    return paths


def tune(scenario: str | None = None, list_name: str = "inspect_now", objective: str = "recall",
         target_ewr: float | None = 0.85, max_weekly: float | None = None, out_dir: Path = Path("var/tune"),
         rules: Path | None = None, progress: bool = True, seed: int | None = None, events: Path | None = None,
         truth: Path | None = None) -> dict[str, Any]:
    """Sweep one list's alert thresholds; print the table, write a PNG plot and a rule file with the chosen ones."""
    return sweep(scenario, list_name=list_name, objective=objective, target=Target(target_ewr, max_weekly),
                 out_dir=Path(out_dir), rules=rules, progress=progress,
                 overrides={"seed": seed} if seed is not None else None, events=events, truth=truth)
