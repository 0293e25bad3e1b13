"""The credit record back in the worker (issue #20): what the API sends on ew.credit passes the worker's own
contract, and a listed enterprise's wage-arrears alerts say so — across a restart from the state table, and
no longer once it is removed."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from alerts_api.cases.notify import body_of
from alerts_api.store.models import Outbox
from detectors.engine import DecodedEvent, WageArrearsEngine
from earlywarn.identifiers import make_uscc
from earlywarn.samples import sliding_into_arrears
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules
from streams import area_state
from streams.decode import decode
from streams.records import CreditRecord
from streams.worker_core import WorkerCore
from tests.alerts_api.test_credit import confirmed
from tests.alerts_api.test_store_and_api import T0, sessions  # noqa: F401  (fixture)

FIRM = make_uscc("91330110MA2CR3DT7")


def decoded(records: list[tuple[str, dict]]) -> list[DecodedEvent]:
    out = []
    for topic, fields in records:
        ev = decode(topic, json.dumps(fields).encode(), now=datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())
        assert isinstance(ev, DecodedEvent), ev
        out.append(ev)
    return sorted(out, key=lambda e: e.t)


def credit(event: str, at: str, n: int = 1) -> tuple[str, dict]:
    return (CreditRecord.topic(), {"event_id": f"credit-{n}-{event}", "occurred_at": at, "source": "earlywarn-api",
                                   "subject_id": FIRM, "event": event, "case_code": "WA-0000042", "offences": n})


def credit_reasons(alerts: list[dict]) -> list[str]:
    return [r["detail"] for a in alerts if a["kind"] == "wage_arrears" for r in a["reasons"]
            if r["signal"] == "credit_record"]


def test_what_the_api_sends_back_is_an_event_the_worker_accepts(sessions):
    confirmed(sessions, FIRM, "wa-cb1", T0)
    with sessions() as s:
        (row,) = s.execute(select(Outbox).where(Outbox.channel == "kafka")).scalars()
        payload = dict(row.payload)
    key = payload.pop("key")
    ev = decode(row.target, body_of(payload), now=(T0 + timedelta(days=1)).timestamp())
    assert isinstance(ev, DecodedEvent), ev.error
    assert (row.target, key, ev.fields["subject_id"], ev.fields["event"], ev.fields["offences"]) == \
        ("ew.credit", FIRM, FIRM, "listed", 1)
    assert ev.enterprise_id is None   # the engine does not score it as evidence


def test_a_listed_enterprise_s_alerts_state_the_record_across_a_restart_until_it_is_removed():
    rules = load_rules(DEFAULT_RULES)
    records = sliding_into_arrears(FIRM, "cb")
    first, later = records[:7], records[7:]   # registered, two months of arrears; then four more
    core, table = WorkerCore(WageArrearsEngine(rules)), {}
    out = core.score(decoded(first + [credit("listed", "2026-01-15T09:00:00+08:00")]), table)
    area_state.apply(table, out.writes)
    assert table[f"credit:{FIRM}"]["case_code"] == "WA-0000042"

    restarted = WorkerCore(WageArrearsEngine(rules))   # kill -9: a new worker from the table
    restarted.restore(dict(table))
    out = restarted.score(decoded(later[:6]), table)
    area_state.apply(table, out.writes)
    stated = credit_reasons(out.alerts)
    assert stated and all("WA-0000042" in d and "1 listing" in d for d in stated)
    assert all(r["contribution"] == 0.0 for a in out.alerts for r in a["reasons"] if r["signal"] == "credit_record")

    out = restarted.score(decoded([credit("removed", "2026-04-20T09:00:00+08:00")] + later[6:]), table)
    area_state.apply(table, out.writes)
    assert f"credit:{FIRM}" not in table and credit_reasons(out.alerts) == []
    assert [a for a in out.alerts if a["kind"] == "wage_arrears"], "the removed enterprise still alerts"
