"""``earlywarn broker`` stops its Tansu when it is stopped (issue #19: SIGTERM left Tansu running on its port)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.broker import free_port, port_free

pytestmark = pytest.mark.e2e


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def start_broker(port: int) -> tuple[subprocess.Popen, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EW_")}
    proc = subprocess.Popen([sys.executable, "-m", "earlywarn.cli", "broker", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert f"EW_KAFKA_BROKER=127.0.0.1:{port}" in line, line
    [tansu] = children(proc.pid)
    assert alive(tansu) and not port_free(port)
    return proc, tansu


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stopping_earlywarn_broker_stops_tansu_and_frees_the_port(sig):
    port = free_port()
    proc, tansu = start_broker(port)
    try:
        proc.send_signal(sig)
        proc.wait(timeout=15)
        if sig != signal.SIGKILL:
            assert proc.returncode == 0, proc.stdout.read()
        assert wait(lambda: not alive(tansu)), f"Tansu (pid {tansu}) outlived `earlywarn broker` after {sig.name}"
        assert wait(lambda: port_free(port)), f"port {port} still taken after {sig.name}"
    finally:
        for pid in (proc.pid, tansu):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
