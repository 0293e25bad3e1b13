"""Event-to-alert latency of the real worker under a steady background load (DESIGN §6).

An enterprise sliding into arrears (registry, six months of water and
social-insurance arrears and wage complaints, the records the e2e test uses)
is sent every ``--every`` seconds while background traffic flows at
``--rate`` events/s. Latency is from the moment the producer has flushed the
enterprise's records to the moment its first alert is read back from
``ew.alerts`` by a consumer: broker, worker micro-batch wait, engine, send
and broker again. Percentiles over ``--alerts`` enterprises.

    python -m bench.alert_latency --alerts 60 --rate 300
"""
from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from pathlib import Path

from bench.stream_throughput import RESULTS, events_in, make_events, start_worker
from earlywarn.samples import sliding_into_arrears

def percentile(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[int(q) - 1] if len(xs) > 1 else xs[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=60, help="enterprises sent to be alerted")
    ap.add_argument("--every", type=float, default=1.0, help="seconds between them")
    ap.add_argument("--rate", type=float, default=300.0, help="background events per second")
    args = ap.parse_args()

    from kafka import KafkaConsumer, KafkaProducer

    from earlywarn.identifiers import make_uscc
    from streams.broker import EmbeddedBroker, ensure_topics
    from streams.topics import ALERTS, all_topics

    workdir = Path("var/bench")
    workdir.mkdir(parents=True, exist_ok=True)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()
    with EmbeddedBroker(log_path=workdir / "broker-latency.log") as broker:
        ensure_topics(broker.bootstrap, all_topics())
        (workdir / "latency").mkdir(exist_ok=True)
        proc, port = start_worker(broker.bootstrap, 0, workdir / "latency")
        try:
            producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=0)
            producer.send(*make_events(1, 1)[0])  # one record to see the worker consuming
            producer.flush()
            deadline = time.monotonic() + 90
            while events_in(port) < 1:  # the worker has joined and consumes
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start; see {workdir}/latency")
                time.sleep(0.2)

            def read_alerts() -> None:
                consumer = KafkaConsumer(ALERTS, bootstrap_servers=broker.bootstrap, group_id=None,
                                         auto_offset_reset="latest", consumer_timeout_ms=200)
                while not stop.is_set():
                    for m in consumer:
                        subject = json.loads(m.value).get("subject_id")
                        seen.setdefault(subject, time.perf_counter())
                consumer.close()

            def background() -> None:
                load = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
                pool = make_events(int(args.rate * (args.alerts * args.every + 30)) + 1, 10_000)
                start = time.perf_counter()
                for i, (topic, value) in enumerate(pool):
                    if stop.is_set():
                        break
                    ahead = start + i / args.rate - time.perf_counter()
                    if ahead > 0:
                        time.sleep(ahead)
                    load.send(topic, value)
                load.flush()
                load.close()

            reader = threading.Thread(target=read_alerts, daemon=True)
            loader = threading.Thread(target=background, daemon=True)
            reader.start()
            time.sleep(2)  # the reader is at the end of ew.alerts
            loader.start()
            time.sleep(3)  # background traffic is flowing
            for i in range(args.alerts):
                enterprise = make_uscc("91330110LT" + f"{uuid.uuid4().int % 10**7:07d}")
                for topic, value in sliding_into_arrears(enterprise, uuid.uuid4().hex[:8], "Bench Build Co"):
                    producer.send(topic, json.dumps(value).encode())
                producer.flush()
                sent[enterprise] = time.perf_counter()
                time.sleep(args.every)
            wait_until = time.monotonic() + 30
            while time.monotonic() < wait_until and not all(e in seen for e in sent):
                time.sleep(0.2)
            stop.set()
            events_total = events_in(port)
        finally:
            stop.set()
            proc.terminate()
            proc.wait(timeout=20)
    lat = sorted(seen[e] - sent[e] for e in sent if e in seen)
    if not lat:
        raise SystemExit("no alert came back; see var/bench/latency")
    result = {
        "command": f"python -m bench.alert_latency --alerts {args.alerts} --every {args.every} --rate {args.rate}",
        "alerts_sent": len(sent), "alerts_received": len(lat), "background_events_per_s": args.rate,
        "events_in_worker": events_total,
        "latency_s": {"p50": round(percentile(lat, 50), 3), "p90": round(percentile(lat, 90), 3),
                      "p99": round(percentile(lat, 99), 3), "max": round(lat[-1], 3), "min": round(lat[0], 3)},
        "note": "from the producer's flush of an enterprise's records to its first alert read back from ew.alerts; "
                "the worker waits up to EW_BATCH_WITHIN (0.5 s) to fill a micro-batch",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "alert_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
