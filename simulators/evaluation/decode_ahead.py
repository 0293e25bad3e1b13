"""Read and validate a recorded log in a second process while this one scores it.

Why: reading a line (JSON) and validating it against its contract (pydantic)
is about half of a recorded backtest, and it depends on nothing the scorer
does. A child process runs exactly :func:`~simulators.evaluation.logfiles.read_events`
and :func:`~simulators.evaluation.backtest.decode_items` — the same checks,
the same dead letters, the same order — and hands over the decoded events in
chunks through a bounded queue (so memory stays bounded however long the
log). Its counts and problem lines (:class:`DecodeStats`) come back at the
end and are copied into the caller's. On a machine with one free core this is
a pipeline; with none, it costs only the pickling of the chunks.

>>> import tempfile, pathlib, json
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> ok = {"event_id": "p1", "occurred_at": "2026-01-02T09:00:00+08:00", "area_code": "330110", "topic": "wage"}
>>> _ = (d / "petition.jsonl").write_text(json.dumps(ok) + "\\nnot json\\n")
>>> stats = DecodeStats()
>>> [(day, ev.data_class, ev.event_id) for day, ev in decoded_ahead(d, stats)]
[(9498, 'petition', 'p1')]
>>> stats.lines, stats.dead_letters
(2, 1)
"""
from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from detectors.engine import DecodedEvent
from simulators.evaluation.backtest import REF_MIDNIGHT, DecodeStats, decode_items
from simulators.evaluation.logfiles import log_files, read_events

CHUNK = 4096
"""decoded events per hand-over: large enough that pickling is per chunk, small enough to stay in cache"""
AHEAD = 16
"""chunks the reader may run ahead of the scorer (bounded memory: a few tens of thousands of events)"""


def _reader(path: str, progress: bool, t0: float, queue: Any) -> None:
    """Child: decode the log, put chunks of (day, class, fields, event time, delivery time), then the stats."""
    stats = DecodeStats()
    try:
        chunk: list[tuple[int, str, dict[str, Any], float, float | None]] = []
        for day, ev in decode_items(read_events(Path(path), stats.problems, progress=progress), stats, t0):
            chunk.append((day, ev.data_class, ev.fields, ev.t, ev.at))
            if len(chunk) == CHUNK:
                queue.put(("events", chunk))
                chunk = []
        if chunk:
            queue.put(("events", chunk))
        queue.put(("stats", stats))
    except BaseException as exc:  # the parent re-raises it: a bad file must fail the run as before
        queue.put(("error", exc))


def decoded_ahead(path: Path, stats: DecodeStats, progress: bool = False,
                  t0: float = REF_MIDNIGHT) -> Iterator[tuple[int, DecodedEvent]]:
    """``decode_items(read_events(path))`` computed in a child process; ``stats`` is filled when it ends.

    A path that is not a log raises :class:`~simulators.evaluation.logfiles.EventLogError` at once, here.
    """
    log_files(Path(path))                                  # fail fast, in this process, on a bad path
    ctx = mp.get_context("fork")
    queue = ctx.Queue(maxsize=AHEAD)
    child = ctx.Process(target=_reader, args=(str(path), progress, t0, queue), daemon=True)
    child.start()
    try:
        while True:
            kind, payload = queue.get()
            if kind == "events":
                for day, cls, fields, t, at in payload:
                    yield day, DecodedEvent(cls, fields, t, at)
            elif kind == "stats":
                vars(stats).update(vars(payload))
                return
            else:
                raise payload
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
