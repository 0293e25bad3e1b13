"""The closed loop through the real stack (issue #20): a simulated enterprise slides into arrears → its case
appears in the live feed of an inspector of its street → dispatched, acknowledged, verified → the
effectiveness statistics count it under the alert's rule version. An inspector of another street sees none
of it, in the feed or by asking for the case."""
import json
import queue
import subprocess
import sys
import threading
import uuid

import httpx
import pytest

from earlywarn.identifiers import make_uscc
from earlywarn.samples import AREA, sliding_into_arrears
from tests.e2e.test_pipeline import send, wait_for

pytestmark = pytest.mark.e2e


def user_token(stack, name: str, role: str, area: str) -> str:
    """A user made with the CLI an administrator uses, against the stack's own database."""
    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "earlywarn.cli", "users", *args], env=stack.env(),
                              capture_output=True, text=True, check=True).stdout.strip()

    cli("add", name, "--role", role, "--area", area)
    return cli("token", name).splitlines()[-1]


def listen(url: str, token: str, into: queue.Queue, stop: threading.Event) -> None:
    """Read the SSE feed, putting each case message's data on ``into``; reconnect when the server ends it.

    The read timeout outlasts the server's 15 s ping: with 5 s the client dropped a quiet connection and
    reconnected without a Last-Event-ID (none seen yet), so a case made in between was never in its feed (one
    fresh-clone run failed so)."""
    last = None
    while not stop.is_set():
        headers = {"Authorization": f"Bearer {token}"} | ({"Last-Event-ID": last} if last else {})
        try:
            with httpx.stream("GET", f"{url}/cases/stream", headers=headers,
                              timeout=httpx.Timeout(5, read=30)) as r:
                for line in r.iter_lines():
                    if stop.is_set():
                        return
                    if line.startswith("id:"):
                        last = line[3:].strip()
                    elif line.startswith("data:"):
                        into.put(json.loads(line[5:]))
        except httpx.HTTPError:
            continue


def test_an_enterprise_sliding_into_arrears_is_a_case_an_inspector_closes_and_the_stats_count(stack):
    run = uuid.uuid4().hex[:8]
    enterprise = make_uscc(f"91330110MA{run.upper()[:7]}")
    street, other = AREA[:9], "330110002"
    mine = user_token(stack, f"insp-{run}", "inspector", street)
    theirs = user_token(stack, f"other-{run}", "inspector", other)
    feeds = {name: queue.Queue() for name in ("mine", "theirs")}
    stop = threading.Event()
    for name, token in (("mine", mine), ("theirs", theirs)):
        threading.Thread(target=listen, args=(stack.api_url, token, feeds[name], stop), daemon=True).start()
    try:
        send(stack.bootstrap, sliding_into_arrears(enterprise, run))
        seen: list[dict] = []

        def case_in_feed():
            while not feeds["mine"].empty():
                seen.append(feeds["mine"].get())
            return next((m for m in seen if m["subject_id"] == enterprise and m["kind"] == "wage_arrears"), None)

        message = wait_for(case_in_feed, timeout=90)
        assert message is not None, "no case for the enterprise reached its street's inspector's feed"
        code = message["case_code"]
        me = httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {mine}"}, timeout=10)
        steps = [{"action": "dispatch"}, {"action": "acknowledge"},
                 {"action": "verify", "outcome": "arrears_confirmed", "inspector": "Inspector Wang",
                  "note": "two months of wages unpaid to 40 workers"}]
        for step in steps:
            r = me.post(f"/cases/{code}/transitions", json=step)
            assert r.status_code == 200, (step, r.status_code, r.text)
        case = me.get(f"/cases/{code}").json()
        assert case["state"] == "verified"
        alert = me.get("/alerts", params={"limit": 200}).json()["items"]
        version = next(a["rules_version"] for a in alert if a["subject_id"] == enterprise)
        stats = me.get("/stats/effectiveness", params={"by": "rules_version"}).json()
        group = next(g for g in stats["groups"] if g["key"] == version)
        assert group["arrears_confirmed"] >= 1 and group["verified"] >= 1 and group["effective_rate"] > 0

        def verified_in_feed():
            seen.extend(drain(feeds["mine"]))
            return any(m["case_code"] == code and m["action"] == "verify" for m in seen)

        assert wait_for(verified_in_feed, timeout=30), "the verification did not reach the feed"
        them = httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {theirs}"}, timeout=10)
        assert them.get(f"/cases/{code}").status_code == 404
        assert all(m["subject_id"] != enterprise for m in drain(feeds["theirs"]))
    finally:
        stop.set()


def drain(q: queue.Queue) -> list[dict]:
    out = []
    while not q.empty():
        out.append(q.get())
    return out
