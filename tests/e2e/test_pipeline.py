"""Through the real embedded broker: events in → alert readable in the API."""
import base64
import json
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer

from earlywarn.identifiers import make_uscc
from earlywarn.samples import sliding_into_arrears
from streams.topics import DEAD_LETTER, RISK_SCORES

pytestmark = pytest.mark.e2e


def bad_records(run: str) -> list[tuple[str, bytes]]:
    return [
    ("ew.water_arrears", f'{{"event_id": "{run}-x1", "occurred_at": '.encode()),            # truncated JSON
    ("ew.social_insurance_arrears", json.dumps({"event_id": f"{run}-x2", "occurred_at": "2026-01-01T09:00:00",  # no zone
                                                "enterprise_id": "91350100M000100Y43", "months_unpaid": 1, "amount_owed": 1,
                                                "insured_headcount": 1, "paid_headcount": 1}).encode()),
    ("ew.litigation", json.dumps({"event_id": f"{run}-x3", "occurred_at": "2026-01-01T09:00:00+08:00",
                                  "enterprise_id": "91350100M000100Y44", "role": "defendant"}).encode()),  # bad check char
]


def send(bootstrap, records):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for topic, value in records:
        producer.send(topic, value if isinstance(value, bytes) else json.dumps(value).encode())
    producer.flush()
    producer.close()


def wait_for(predicate, timeout=60.0, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(every)
    return predicate()


def final_level(enterprise, records):
    """The inspect-now level the engine itself reaches on these records (the stream must agree)."""
    from datetime import datetime
    from detectors.engine import DecodedEvent, WageArrearsEngine
    from earlywarn.settings import DEFAULT_RULES
    from rules.loader import load_rules
    from streams.records import RECORD_BY_TOPIC
    events = []
    for topic, fields in records:
        f = RECORD_BY_TOPIC[topic].model_validate(fields).model_dump(mode="json", by_alias=True)
        events.append(DecodedEvent(topic.removeprefix("ew."), f, datetime.fromisoformat(f["occurred_at"]).timestamp()))
    out = WageArrearsEngine(load_rules(DEFAULT_RULES)).run(events, {}.get)
    return [u["level"] for u in out.score_updates][-1]


def every_alert(client) -> list[dict]:
    """Every alert the token sees, page by page with the cursor (a page holds at most 200)."""
    items, cursor = [], None
    while True:
        r = client.get("/alerts", params={"limit": 200} | ({"cursor": cursor} if cursor else {}))
        if r.status_code == 429:  # the per-token rate limit: wait as told
            time.sleep(int(r.headers["Retry-After"]))
            continue
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def alerts_for(client, enterprise):
    return [a for a in every_alert(client) if a["subject_id"] == enterprise]


def test_events_in_alert_out_dead_letters_and_replay(stack):
    enterprise = make_uscc("91330110MA2" + uuid.uuid4().hex[:6].upper().replace("I", "1").replace("O", "0")
                           .replace("Z", "2").replace("S", "5").replace("V", "4"))
    run = uuid.uuid4().hex[:8]
    good = sliding_into_arrears(enterprise, run)
    bad = bad_records(run)
    send(stack.bootstrap, good + bad)

    top = final_level(enterprise, good)
    assert top in ("yellow", "red"), "the sample is a serious case for the shipped rules"
    with stack.client() as client:
        found = wait_for(lambda: [a for a in alerts_for(client, enterprise) if a["level"] == top])
        assert found, f"no {top} alert for {enterprise}; see {stack.workdir}"
        alert = found[0]
        assert alert["list"] == "inspect_now"
        assert alert["reasons"] and alert["rules_version"]
        assert client.get(f"/alerts/{alert['alert_id']}").json()["alert_id"] == alert["alert_id"]

        # every malformed record is in the dead-letter topic with its reason
        consumer = KafkaConsumer(DEAD_LETTER, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                                 group_id=None, consumer_timeout_ms=3000)
        letters = [json.loads(m.value) for m in consumer]
        consumer.close()
        ours = [d for d in letters if run.encode() in base64.b64decode(d["raw_b64"])]
        assert len(ours) == len(bad), letters
        assert sorted(base64.b64decode(d["raw_b64"]) for d in ours) == sorted(raw for _, raw in bad)
        reasons = " | ".join(d["error"] for d in ours)
        assert "not JSON" in reasons and "time zone" in reasons and "check character" in reasons
        assert all(d["offset"] >= 0 and d["partition"] == 0 for d in ours)

        # the risk-score feed carries the enterprise's material changes, ending at its top level
        consumer = KafkaConsumer(RISK_SCORES, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                                 group_id=None, consumer_timeout_ms=3000)
        feed = [json.loads(m.value) for m in consumer if m.key == enterprise.encode()]
        consumer.close()
        assert feed and feed[-1]["level"] == top and feed[-1]["rules_version"] == alert["rules_version"]
        assert all(b["level"] != a["level"] or abs(b["score"] - a["score"]) >= 0.005 for a, b in zip(feed, feed[1:]))

        # replaying the same batch creates no duplicate alert
        before = len(every_alert(client))
        send(stack.bootstrap, good)
        time.sleep(5)
        assert len(every_alert(client)) == before
        assert len(alerts_for(client, enterprise)) == 1
    stack.check_alive()


def test_a_fast_growing_gathering_reaches_the_officer_as_a_red_alert(stack):
    """The seed case through the broker: 35 people, then 80 ten minutes later → one red group-incident alert."""
    gid = f"g-{uuid.uuid4().hex[:10]}"
    counts = [35, 80, 170]
    send(stack.bootstrap, [("ew.gathering_report", {
        "event_id": f"{gid}-{k}", "occurred_at": f"2026-03-02T09:{10 * k:02d}:00+08:00", "area_code": "330110001002003",
        "gathering_id": gid, "headcount": n, "cause": "construction_payment"}) for k, n in enumerate(counts)])
    with stack.client() as client:
        found = wait_for(lambda: alerts_for(client, gid))
        assert len(found) == 1, f"{found}; see {stack.workdir}"
        alert = found[0]
        assert alert["kind"] == "group_incident" and alert["level"] == "red"
        assert alert["raised_at"].startswith("2026-03-02T01:10:00"), alert["raised_at"]   # at the second count (UTC)
        assert alert["reasons"][0]["detail"].startswith("from 35 to 80 people in 10 minutes")
