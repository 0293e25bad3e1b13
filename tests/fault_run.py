"""One replay of a simulated log through a real stack (broker, worker, API with its sink), with faults on cue.

Why: the fault suite compares the alert ids stored after a run with kill -9s, an API crash, a database
outage and poison records against a clean run of the same log; both runs go through this one function.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy

from earlywarn.settings import Settings
from earlywarn.stack import Stack


@dataclass
class Fault:
    at: float
    """seconds after the replay starts"""
    action: Callable[[Stack], None]
    name: str
    after_events: int = 0
    """and not before the worker has committed this many source records: a kill at a fixed second could land
    before a slow-starting worker had decided anything, and test nothing"""


@dataclass
class RunResult:
    alerts: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """alert id → (kind, subject, status)"""
    done: list[str] = field(default_factory=list)
    """the faults applied, in order"""
    letters: dict[str, dict] = field(default_factory=dict)
    """dead letters by record key"""
    scored: set[str] = field(default_factory=set)
    """ids of the events the worker scored, over all its lives (its EW_BATCH_LOG)"""
    scored_by: dict[int, int] = field(default_factory=dict)
    """events scored per worker process id"""
    forced: list[str] = field(default_factory=list)
    """worker log lines that say order was given up: held events released by a bound (streams/align.py), so a
    run that decided otherwise than the clean one says whether the aligner's bounds were why"""


def dead_letters(bootstrap: str) -> dict[str, dict]:
    import json

    from kafka import KafkaConsumer

    from streams.topics import DEAD_LETTER

    consumer = KafkaConsumer(DEAD_LETTER, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
                             consumer_timeout_ms=3000, fetch_max_bytes=8_000_000, max_partition_fetch_bytes=8_000_000)
    out = {m.key.decode(errors="replace"): json.loads(m.value) for m in consumer if m.key}
    consumer.close()
    return out


def committed(bootstrap: str, group: str, partitions: int) -> int:
    """Source records the worker's consumer group has committed, over all source partitions."""
    from kafka import KafkaAdminClient, TopicPartition

    from streams.topics import SOURCE_TOPICS

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        wanted = [TopicPartition(t, p) for t in SOURCE_TOPICS for p in range(partitions)]
        offsets = admin.list_group_offsets({group: wanted}).get(group, {})  # Tansu lists none unless asked
    finally:
        admin.close()
    return sum(max(meta.offset, 0) for meta in offsets.values())


def scored(batch_log: Path) -> tuple[set[str], dict[int, int]]:
    """The event ids in the worker's batch log, and how many each worker process scored."""
    import json
    from collections import Counter

    ids: set[str] = set()
    per_pid: Counter[int] = Counter()
    with open(batch_log) as f:
        for line in f:
            if line.strip():
                batch = json.loads(line)
                ids.update(batch["events"])
                per_pid[batch["pid"]] += len(batch["events"])
    return ids, dict(per_pid)


def kill9(stack: Stack, name: str) -> None:
    """kill -9 process ``name`` of the stack (its whole process group) and forget it."""
    proc = stack.procs.pop(name)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def kill(stack: Stack, name: str, start: Callable[[], None], down: float = 2.0) -> None:
    """kill -9 process ``name`` of the stack, leave it down ``down`` seconds, ``start`` a new one."""
    kill9(stack, name)
    time.sleep(down)
    start()


def kill_active_worker_for_good(stack: Stack) -> None:
    """kill -9 the worker process that scored the latest batch (its EW_BATCH_LOG) and start nothing in its place."""
    import json

    with open(stack.settings.batch_log) as f:
        pid = json.loads([line for line in f if line.strip()][-1])["pid"]
    kill9(stack, next(n for n, p in stack.procs.items() if p.pid == pid))


def kill_worker(stack: Stack) -> None:
    kill(stack, "worker", stack.start_worker)


def kill_api(stack: Stack) -> None:
    kill(stack, "api", stack.start_api)


def stored(url: str) -> dict[str, tuple[str, str, str]]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as c:
            rows = c.exec_driver_sql("SELECT alert_id, kind, subject_id, status FROM alerts").all()
    finally:
        engine.dispose()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def sink_caught_up(stack: Stack) -> bool:
    """The API's alert sink is running, not retrying, and has read ``ew.alerts`` to its end.

    A quiet store alone is not enough: after the 30 s database cut the sink's back-off (up to 30 s) can hold
    it quiet for longer than the settle time, and a run once ended with only the alerts stored before the cut.
    """
    try:
        sink = httpx.get(f"{stack.api_url}/healthz", timeout=5).json().get("sink")
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(sink, dict) and sink.get("state") == "running" and sink.get("lag") == 0 \
        and not sink.get("reason")


def run(lines: list[str], workdir: Path, speed: float, faults: list[Fault] = (), database_url: str | None = None,
        read_url: str | None = None, settle: float = 20.0, log_level: str = "warn") -> RunResult:
    """Replay ``lines`` paced at ``speed``; apply ``faults`` on cue; wait until the store stops changing.

    The stack's API stores through ``database_url``; the result is read through ``read_url`` (the same
    database without the proxy a fault may cut), both SQLite in ``workdir`` by default.
    """
    from simulators.evaluation.replay import replay

    # The replay runs 432,000× faster than the sources would: a record in flight for 0.2 s is a day of their
    # time, so the worker waits a second for in-flight records (EW_ALIGN_IDLE) rather than the live 0.2 s.
    settings = Settings(data_dir=workdir, batch_within=0.2, api_port=0, align_idle=1.0,
                        log_level=log_level, batch_log=workdir / "batches.jsonl")
    result = RunResult()
    with Stack(settings, workdir, database_url=database_url) as stack:
        url = read_url or database_url or f"sqlite:///{workdir / 'alerts.db'}"
        t0 = time.monotonic()

        def cue() -> None:
            for f in sorted(faults, key=lambda f: f.at):
                time.sleep(max(0.0, t0 + f.at - time.monotonic()))
                give_up = time.monotonic() + 120
                while (f.after_events and time.monotonic() < give_up
                       and committed(stack.bootstrap, settings.app_id, settings.topic_partitions) < f.after_events):
                    time.sleep(0.3)
                f.action(stack)
                result.done.append(f.name)

        thread = threading.Thread(target=cue, daemon=True)
        thread.start()
        replay(lines, stack.bootstrap, speed=speed, progress=False)
        thread.join()
        last, quiet_since, give_up = None, time.monotonic(), time.monotonic() + 300
        while (time.monotonic() - quiet_since < settle or not sink_caught_up(stack)) and time.monotonic() < give_up:
            time.sleep(2)
            now = stored(url)
            if now != last:
                last, quiet_since = now, time.monotonic()
        stack.check_alive()
        result.alerts = last or {}
        result.letters = dead_letters(stack.bootstrap)
        result.scored, result.scored_by = scored(settings.batch_log)
        result.forced = forced_releases(workdir)
    return result


def forced_releases(workdir: Path) -> list[str]:
    """The workers' log lines reporting events released before a lagging partition caught up."""
    lines = []
    for path in sorted(workdir.glob("worker*.log")):
        with open(path, errors="replace") as f:
            lines += [line.strip()[-160:] for line in f if "released by a bound" in line]
    return lines
