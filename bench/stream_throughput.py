"""Stream-path throughput against raw aiokafka, measured in the same run (DESIGN §6–§7).

Produces N JSON events over K enterprises into the source topics of an
embedded Tansu, then times (a) raw aiokafka ``getmany`` + ``json.loads`` over
the same topics and (b) the real worker process (decode, validate, dedup,
score, table write, send) — counted by its Prometheus counter — and (c) the
engine's batch path in-process. Reports medians of ``--runs`` and the ratio
to raw. Also reports bytes of state per enterprise.

    python -m bench.stream_throughput --events 100000 --enterprises 10000 --runs 3
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import httpx

RESULTS = Path(__file__).resolve().parent / "results"


def make_events(n: int, k: int) -> list[tuple[str, bytes]]:
    """Monthly utility/SI reports and wage complaints for k enterprises, n events in all."""
    from earlywarn.identifiers import make_uscc

    ids = [make_uscc(f"91330110MA{i:07d}") for i in range(k)]
    out: list[tuple[str, bytes]] = []
    i = 0
    while len(out) < n:
        e = ids[i % k]
        month = 1 + (i // k) % 12
        at = f"2026-{month:02d}-01T09:00:00+08:00"
        kind = i % 3
        if kind == 0:
            rec = ("ew.water_arrears", {"event_id": f"b{i}", "occurred_at": at, "enterprise_id": e,
                                        "months_overdue": i % 4, "overdue_amount": 100.0 * (i % 4), "usual_monthly_bill": 100.0})
        elif kind == 1:
            rec = ("ew.social_insurance_arrears", {"event_id": f"b{i}", "occurred_at": at, "enterprise_id": e,
                                                   "months_unpaid": i % 3, "amount_owed": 10.0, "insured_headcount": 20,
                                                   "paid_headcount": 20 - i % 3})
        else:
            rec = ("ew.hotline_complaint", {"event_id": f"b{i}", "occurred_at": at, "enterprise_id": e,
                                            "area_code": "330110001002003", "topic": "wage"})
        out.append((rec[0], json.dumps(rec[1]).encode()))
        i += 1
    return out


def bulk(events: list[tuple[str, bytes]], size: int) -> list[tuple[str, bytes]]:
    """Pack utility and social-insurance reports into JSON arrays of ``size`` (monthly files)."""
    if size <= 1:
        return events
    out, packs = [], {}
    for topic, value in events:
        if topic == "ew.hotline_complaint":
            out.append((topic, value))
            continue
        pack = packs.setdefault(topic, [])
        pack.append(value)
        if len(pack) == size:
            out.append((topic, b"[" + b",".join(pack) + b"]"))
            packs[topic] = []
    out += [(t, b"[" + b",".join(p) + b"]") for t, p in packs.items() if p]
    return out


def produce(bootstrap: str, events: list[tuple[str, bytes]]) -> int:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, batch_size=512 * 1024, acks="all")
    acked = 0

    def ok(_):
        nonlocal acked
        acked += 1

    for topic, value in events:
        producer.send(topic, value).add_callback(ok)
    producer.flush()
    producer.close()
    return acked


async def raw_consume(bootstrap: str, topics: list[str], n: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=5000)
    await consumer.start()
    seen, start = 0, None
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                if start is None:
                    start = time.perf_counter()
                for r in records:
                    data = json.loads(r.value)
                    seen += len(data) if isinstance(data, list) else 1
    finally:
        await consumer.stop()
    return n / (time.perf_counter() - start)


def start_worker(bootstrap: str, run: int, workdir: Path) -> tuple[subprocess.Popen, int]:
    """The real worker in its own process, as deployed; returns it and its /metrics port."""
    from streams.broker import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EW_")}
    env.update(EW_KAFKA_BROKER=bootstrap, EW_APP_ID=f"bench-{run}-{time.time_ns()}", EW_METRICS_PORT=str(port),
               EW_DATA_DIR=str(workdir / f"w{run}"), EW_LOG_LEVEL="error")
    log = open(workdir / f"worker{run}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "earlywarn.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, port


def worker_rate(bootstrap: str, n: int, run: int, workdir: Path) -> float:
    proc, port = start_worker(bootstrap, run, workdir)
    try:
        start = None
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited {proc.returncode}, see {workdir}/worker{run}.log")
            count = events_in(port)
            now = time.perf_counter()
            if count > 0 and start is None:
                start, first = now, count
            if count >= n:
                return (count - first) / (now - start)
            time.sleep(0.25)  # a scrape costs the worker a little: poll gently
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a busy worker's orderly stop can outlast this; the rate is taken
            proc.kill()
            proc.wait()


def events_in(port: int) -> int:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
    except httpx.HTTPError:
        return 0
    return int(sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith("earlywarn_events_in_total{")))


def batch_rate(events: list[tuple[str, bytes]]) -> tuple[float, float, int]:
    """Engine batch path in-process: decoded events/s, then state bytes per enterprise."""
    from detectors.engine import WageArrearsEngine
    from earlywarn.settings import DEFAULT_RULES
    from rules.loader import load_rules
    from streams.decode import decode

    decoded = [decode(t, v) for t, v in events]
    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    store: dict = {}
    start = time.perf_counter()
    for i in range(0, len(decoded), 2000):
        out = engine.run(decoded[i:i + 2000], store.get)
        store.update(out.touched)
    rate = len(decoded) / (time.perf_counter() - start)
    tracemalloc.start()
    snapshot_before = tracemalloc.get_traced_memory()[0]
    copies = {k: type(v).from_dict(v.to_dict()) for k, v in store.items()}
    in_memory = (tracemalloc.get_traced_memory()[0] - snapshot_before) / len(copies)
    tracemalloc.stop()
    serialized = statistics.mean(len(json.dumps(v.to_dict())) for v in store.values())
    return rate, serialized, int(in_memory)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--enterprises", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bulk", type=int, default=1, help="utility/SI events per Kafka message (1 = one each)")
    args = ap.parse_args()

    from streams.broker import EmbeddedBroker, ensure_topics
    from streams.topics import all_topics

    workdir = Path("var/bench")
    workdir.mkdir(parents=True, exist_ok=True)
    events = make_events(args.events, args.enterprises)
    topics = sorted({t for t, _ in events})
    raw, worker = [], []
    with EmbeddedBroker(log_path=workdir / "broker.log") as broker:
        ensure_topics(broker.bootstrap, all_topics())
        messages = bulk(events, args.bulk)
        sent = produce(broker.bootstrap, messages)
        assert sent == len(messages), (sent, len(messages))
        acked = len(events)
        for run in range(args.runs):
            raw.append(asyncio.run(raw_consume(broker.bootstrap, topics, acked)))
            worker.append(worker_rate(broker.bootstrap, acked, run, workdir))
            print(f"run {run}: raw {raw[-1]:,.0f}/s worker {worker[-1]:,.0f}/s", flush=True)
    batch, state_json, state_mem = batch_rate(events)
    result = {
        "command": f"python -m bench.stream_throughput --events {args.events} --enterprises {args.enterprises} --runs {args.runs} --bulk {args.bulk}",
        "events": acked, "kafka_messages": len(messages), "bulk": args.bulk, "enterprises": args.enterprises, "runs": args.runs,
        "raw_aiokafka_events_per_s_median": round(statistics.median(raw)),
        "worker_events_per_s_median": round(statistics.median(worker)),
        "worker_ratio_to_raw": round(statistics.median(w / r for w, r in zip(worker, raw)), 3),
        "engine_batch_events_per_s": round(batch),
        "state_bytes_per_enterprise_json": round(state_json),
        "state_bytes_per_enterprise_python": state_mem,
        "raw_runs": [round(x) for x in raw], "worker_runs": [round(x) for x in worker],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"stream_throughput{'_bulk' if args.bulk > 1 else ''}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
