"""Poison events: when a stage fails on a micro-batch, find the event it fails on and let the rest through.

Why: the worker runs each stage (complaint surges, gatherings, the
wage-arrears engine) over a whole micro-batch, because its cost is per
message (DESIGN §7). One event that made a stage raise used to cost its
whole batch: 600 of 600 valid events lost, no dead letter (issue #19). The
contracts now bound what an event may hold, so this should not happen; if it
still does, the batch is run again event by event and only the events that
fail alone are dead-lettered. No Faust import: the agent passes the stages in.

>>> def halve(xs):
...     return [10 // x for x in xs]
>>> each_alone(halve, [1, 0, 5])
([10, 2], [(0, 'ZeroDivisionError: integer division or modulo by zero')])
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from detectors.engine import DecodedEvent, EngineOutput, WageArrearsEngine
from detectors.enterprise import EnterpriseState

E = TypeVar("E")
R = TypeVar("R")
Failure = tuple[Any, str]
"""(the event, why the stage failed on it alone)"""


def why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def each_alone(stage: Callable[[list[E]], list[R]], events: list[E]) -> tuple[list[R], list[Failure]]:
    """``stage(events)``; if it raises, ``stage([e])`` for each event, collecting the events that still fail.

    A stage that failed part-way may have counted some events already;
    stages given here must tolerate seeing an event twice (the surge counter
    skips a repeated event id, the gathering watch a repeated count).
    """
    try:
        return stage(events), []
    except Exception:
        pass
    out: list[R] = []
    failed: list[Failure] = []
    for ev in events:
        try:
            out.extend(stage([ev]))
        except Exception as exc:
            failed.append((ev, why(exc)))
    return out, failed


def run_engine_alone(engine: WageArrearsEngine, events: list[DecodedEvent],
                     load: Callable[[str], EnterpriseState | None]) -> tuple[EngineOutput, list[Failure]]:
    """The engine over the batch; if it raises, event by event, each on a copy of the state so far.

    A failed event leaves its enterprise's state as it was before it, as a
    failed batch leaves every state as it was (states are written back only
    from the output).
    """
    try:
        return engine.run(events, load), []
    except Exception:
        pass
    merged = EngineOutput()
    failed: list[Failure] = []
    for ev in events:
        def load_so_far(enterprise_id: str) -> EnterpriseState | None:
            state = merged.touched.get(enterprise_id)
            return copy.deepcopy(state) if state is not None else load(enterprise_id)
        try:
            out = engine.run([ev], load_so_far)
        except Exception as exc:
            failed.append((ev, why(exc)))
            continue
        merged.touched.update(out.touched)
        merged.score_updates += out.score_updates
        merged.alerts += out.alerts
        merged.duplicates += out.duplicates
    return merged, failed


def score_batch(stages: Sequence[tuple[str, Callable[[list[DecodedEvent]], list[R]]]], engine: WageArrearsEngine,
                events: list[DecodedEvent], load: Callable[[str], EnterpriseState | None]
                ) -> tuple[list[R], EngineOutput, list[Failure], int]:
    """The worker's stages, then the engine, over one micro-batch, each event failing alone.

    Returns what the stages raised, the engine's output, the failed events
    with the stage named in the reason (a failed event goes no further), and
    how many stages had to be rerun event by event.
    """
    failed: list[Failure] = []
    reruns = 0

    def drop(batch: list[DecodedEvent], bad: list[Failure], stage: str) -> list[DecodedEvent]:
        nonlocal reruns
        if not bad:
            return batch
        reruns += 1
        failed.extend((e, f"{stage} failed on this event alone: {reason}") for e, reason in bad)
        gone = {id(e) for e, _ in bad}
        return [e for e in batch if id(e) not in gone]

    raised: list[R] = []
    for name, stage in stages:
        out, bad = each_alone(stage, events)
        raised += out
        events = drop(events, bad, name)
    result, bad = run_engine_alone(engine, events, load)
    drop(events, bad, "wage-arrears engine")
    return raised, result, failed, reruns


def non_finite(value: object, path: str = "") -> str | None:
    """The path of the first NaN or infinity in a JSON-like value, or None.

    >>> non_finite({"score": 0.5, "reasons": [{"contribution": float("inf")}]})
    'reasons.0.contribution'
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "(value)")
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = non_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None
