"""Run Debian's Prometheus against a stack: config, rules, start, stop.

Used by ``earlywarn demo`` and by the tests, so both scrape the worker and
the API the same way, with the rules in ``rules/prometheus/``.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

from earlywarn.settings import PROJECT_ROOT

RULES_DIR = PROJECT_ROOT / "rules" / "prometheus"
INSTALL_HINT = "install Debian's package: apt-get install prometheus (it brings prometheus and promtool)"


class PrometheusMissing(RuntimeError):
    """The prometheus or promtool binary is not installed."""


def binary(name: str) -> str:
    """Path of ``prometheus`` or ``promtool``, or an error that says how to install it."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if not found:
        raise PrometheusMissing(f"{name} not found; {INSTALL_HINT}")
    return found


def rule_files() -> list[Path]:
    """The pipeline's alerting and recording rules (not their unit tests)."""
    return sorted(RULES_DIR.glob("*.yml"))


def scrape_config(worker_metrics_url: str, api_url: str, token_file: Path, rules: list[Path],
                  interval: str = "15s") -> dict:
    """prometheus.yml for one stack: job ``earlywarn-worker`` and job ``earlywarn-api`` (bearer token from a file)."""
    worker = urlsplit(worker_metrics_url)
    api = urlsplit(api_url)
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(p) for p in rules],
        "scrape_configs": [
            {"job_name": "earlywarn-worker", "metrics_path": worker.path or "/metrics",
             "static_configs": [{"targets": [worker.netloc]}]},
            {"job_name": "earlywarn-api", "metrics_path": "/metrics",
             "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
             "static_configs": [{"targets": [api.netloc]}]},
        ],
    }


@dataclass
class Prometheus:
    """A Prometheus server on loopback, with its data in ``workdir`` (stopped with the context)."""

    workdir: Path
    config: dict
    port: int
    retention: str = "60d"
    """long enough for a monthly source's silence to outlive a worker restart (rules/prometheus/pipeline.yml)"""
    proc: subprocess.Popen | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "Prometheus":
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        log = open(self.workdir / "prometheus.log", "ab")
        self.proc = subprocess.Popen(
            [binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'data'}",
             f"--storage.tsdb.retention.time={self.retention}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--web.enable-lifecycle"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}; see {self.workdir / 'prometheus.log'}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"prometheus not ready within {timeout:.0f} s; see {self.workdir / 'prometheus.log'}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def query(self, expr: str) -> list[dict]:
        """An instant query through the HTTP API: the result vector."""
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        if body.get("status") != "success":
            raise RuntimeError(f"query {expr!r} failed: {body.get('error')}")
        return body["data"]["result"]

    def alerts(self) -> list[dict]:
        """Alerts pending or firing, from the HTTP API."""
        return httpx.get(f"{self.url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]

    def __enter__(self) -> "Prometheus":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
