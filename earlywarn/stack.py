"""Bring up broker, worker and API as real processes on loopback.

Used by ``earlywarn demo`` and by the end-to-end test fixtures, so the demo
and the tests run the same way. With no broker configured, an embedded Tansu
is started and stopped with the stack.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from earlywarn.settings import Settings
from streams.broker import EmbeddedBroker, ensure_topics, free_port, port_free
from streams.topics import all_topics


class StackError(RuntimeError):
    pass


@dataclass
class Stack:
    settings: Settings
    workdir: Path
    database_url: str | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    bootstrap: str = ""
    api_url: str = ""
    worker_metrics_url: str = ""
    """the worker's Prometheus /metrics (kept across restarts, so a scrape target stays put)"""
    _exit: ExitStack = field(default_factory=ExitStack)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EW_")}
        env.update({
            "EW_KAFKA_BROKER": self.bootstrap,
            "EW_DATABASE_URL": self.database_url or f"sqlite:///{self.workdir / 'alerts.db'}",
            "EW_DATA_DIR": str(self.workdir),
            "EW_API_TOKENS": self.token + ("," + self.settings.api_tokens if self.settings.api_tokens else ""),
            "EW_RULES_FILE": str(self.settings.rules_file),
            "EW_LOG_LEVEL": self.settings.log_level,
            "EW_BATCH_WITHIN": str(self.settings.batch_within),
            "EW_ALIGN_IDLE": str(self.settings.align_idle),
            **({"EW_BATCH_LOG": str(self.settings.batch_log)} if self.settings.batch_log else {}),
            **self.settings.kafka_env(),
        })
        return env

    def start_broker(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.settings.kafka_broker:
            self.bootstrap = self.settings.kafka_broker
        else:
            broker = EmbeddedBroker(log_path=self.workdir / "broker.log")
            self._exit.enter_context(broker)
            self.bootstrap = broker.bootstrap
        ensure_topics(self.bootstrap, all_topics(), partitions=self.settings.topic_partitions,
                      security=self.settings.kafka_security())

    def _spawn(self, name: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "earlywarn.cli", *args], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        self._exit.callback(self._terminate, name)
        return proc

    def _terminate(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start_worker(self, name: str = "worker") -> None:
        """Start a worker; a second one under another ``name`` joins the same group (a standby, or a share of
        the partitions) with its metrics off."""
        if name != "worker":
            self._spawn(name, "worker", env=self.env() | {"EW_METRICS_PORT": "0"})
            return
        if not self.worker_metrics_url:
            wanted = self.settings.metrics_port
            port = wanted if wanted and port_free(wanted) else free_port()
            self.worker_metrics_url = f"http://127.0.0.1:{port}/metrics"
        port = self.worker_metrics_url.rsplit(":", 1)[1].split("/")[0]
        self._spawn("worker", "worker", env=self.env() | {"EW_METRICS_PORT": port})

    def start_api(self, timeout: float = 60.0) -> None:
        port = self.settings.api_port if self.settings.api_port and port_free(self.settings.api_port) else free_port()
        env = self.env() | {"EW_API_PORT": str(port), "EW_API_HOST": "127.0.0.1"}
        proc = self._spawn("api", "api", env=env)
        self.api_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"API exited with {proc.returncode}; see {self.workdir / 'api.log'}")
            try:
                if httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise StackError(f"API did not answer /healthz within {timeout}s; see {self.workdir / 'api.log'}")

    def on_close(self, stop: Callable[[], None]) -> None:
        """Run ``stop`` when the stack closes (before the processes started earlier are stopped)."""
        self._exit.callback(stop)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StackError(f"{name} exited with {proc.returncode}; see {self.workdir / (name + '.log')}")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    def __enter__(self) -> "Stack":
        try:
            self.start_broker()
            self.start_worker()
            self.start_api()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        try:
            if exc_type is not None and exc_type is not KeyboardInterrupt:
                self.print_log_tails()
        finally:
            self._exit.close()

    def print_log_tails(self, lines: int = 60) -> None:
        """The end of every process log, so a failure in CI (where the workdir is gone) can be read."""
        for path in sorted(self.workdir.glob("*.log")):
            tail = path.read_bytes().decode(errors="replace").splitlines()[-lines:]
            print(f"----- last {len(tail)} lines of {path.name} -----", *tail, sep="\n", file=sys.stderr)
