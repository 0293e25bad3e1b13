import base64
import json

import pytest

from streams.decode import DeadLetter, decode
from streams.records import RECORD_BY_CLASS, SOURCE_RECORDS, HotlineComplaint, WaterArrears, to_json

E = "91350100M000100Y43"
T = "2026-03-01T09:00:00+08:00"

EXAMPLES = {
    "petition": {"area_code": "330110001", "topic": "wage", "petitioners": 12, "collective": True, "enterprise_id": E},
    "market_penalty": {"enterprise_id": E, "kind": "abnormal_operations"},
    "water_arrears": {"enterprise_id": E, "months_overdue": 2, "overdue_amount": 4000, "usual_monthly_bill": 2000},
    "electricity_arrears": {"enterprise_id": E, "months_overdue": 1, "overdue_amount": 900, "usual_monthly_bill": 900, "disconnected": True},
    "construction_project": {"enterprise_id": E, "project_id": "P1", "area_code": "330110001002003", "status": "stalled", "workers_on_site": 80},
    "wage_account": {"enterprise_id": E, "project_id": "P1", "period": "2026-02", "payroll_due": 100000, "payroll_paid": 40000},
    "social_insurance_arrears": {"enterprise_id": E, "months_unpaid": 2, "amount_owed": 50000, "insured_headcount": 40, "paid_headcount": 31},
    "public_opinion": {"area_code": "330110", "wage_related": True, "sentiment": -0.8, "reach": 5000},
    "court_blacklist": {"enterprise_id": E, "action": "listed", "case_number": "(2026)浙0110执123号"},
    "litigation": {"enterprise_id": E, "role": "defendant", "case_type": "labour", "amount": 120000},
    "hotline_complaint": {"area_code": "330110001002", "topic": "wage", "enterprise_id": E},
    "gathering_report": {"area_code": "330110001002003", "gathering_id": "g1", "headcount": 35, "cause": "construction_payment"},
    "enterprise_registry": {"enterprise_id": E, "name": "某建设有限公司", "industry": "construction", "area_code": "330110001002003", "employees": 120},
    "credit": {"subject_id": E, "event": "listed", "case_code": "WA-0000042", "offences": 2},
}


def test_every_data_class_has_an_example():
    assert set(EXAMPLES) == set(RECORD_BY_CLASS)
    assert len(SOURCE_RECORDS) == 14  # ten Yuhang classes + hotline + gatherings + registry + the credit record


@pytest.mark.parametrize("cls", sorted(EXAMPLES))
def test_valid_example_decodes_and_round_trips(cls):
    record = RECORD_BY_CLASS[cls]
    raw = json.dumps({"event_id": f"{cls}-1", "occurred_at": T, **EXAMPLES[cls]}, ensure_ascii=False).encode()
    decoded = decode(record.topic(), raw, 0, 5)
    assert not isinstance(decoded, DeadLetter), decoded
    assert decoded.data_class == cls and decoded.event_id == f"{cls}-1"
    again = decode(record.topic(), to_json(record.model_validate(decoded.fields)))
    assert again.fields == decoded.fields


@pytest.mark.parametrize("change, needle", [
    ({"enterprise_id": "91350100M000100Y44"}, "enterprise_id: Value error, check character"),
    ({"occurred_at": "2026-03-01T09:00:00"}, "occurred_at: Value error, timestamp must carry a time zone"),
    ({"overdue_amount": -1}, "overdue_amount: Input should be greater than or equal to 0"),
    ({"months_overdue": "two"}, "months_overdue"),
    ({"event_id": ""}, "event_id"),
    ({"colour": "red"}, "colour: Extra inputs are not permitted"),
])
def test_bad_field_is_named_in_the_dead_letter(change, needle):
    fields = {"event_id": "w1", "occurred_at": T, **EXAMPLES["water_arrears"], **change}
    raw = json.dumps(fields).encode()
    dead = decode(WaterArrears.topic(), raw, 2, 41)
    assert isinstance(dead, DeadLetter)
    assert needle in dead.error
    assert (dead.source_topic, dead.partition, dead.offset) == ("ew.water_arrears", 2, 41)
    assert dead.raw == raw
    assert json.loads(dead.to_json())["raw_b64"] == base64.b64encode(raw).decode()


@pytest.mark.parametrize("raw, needle", [(b"{not json", "not JSON"), (b"[1,2]", "expected a JSON object"),
                                         (b"", "empty record"), (b"\xff\xfe", "not JSON")])
def test_undecodable_bytes_are_dead_lettered(raw, needle):
    dead = decode(HotlineComplaint.topic(), raw)
    assert isinstance(dead, DeadLetter) and needle in dead.error and dead.raw == raw


def test_unknown_area_level_is_refused():
    fields = {"event_id": "c1", "occurred_at": T, "area_code": "33011", "topic": "wage"}
    dead = decode(HotlineComplaint.topic(), json.dumps(fields).encode())
    assert "area_code" in dead.error and "6, 9, 12 or 15 digits" in dead.error


def test_docs_events_md_is_generated_from_the_models():
    from pathlib import Path

    from streams.records import contracts_markdown
    doc = Path(__file__).resolve().parents[2] / "docs" / "events.md"
    assert doc.read_text(encoding="utf-8") == contracts_markdown() + "\n", "run `make docs` to regenerate"


def test_bulk_record_validates_each_item_and_dead_letters_only_the_bad_ones():
    from streams.decode import decode_many
    good = {"event_id": "w1", "occurred_at": T, **EXAMPLES["water_arrears"]}
    bad = dict(good, event_id="w2", months_overdue=-3)
    results = decode_many(WaterArrears.topic(), json.dumps([good, bad, dict(good, event_id="w3")]).encode(), 0, 9)
    assert [type(r).__name__ for r in results] == ["DecodedEvent", "DeadLetter", "DecodedEvent"]
    assert results[1].error.startswith("bulk item 1: invalid WaterArrears: months_overdue")
    assert json.loads(results[1].raw) == bad and results[1].offset == 9
    assert "empty bulk" in decode_many(WaterArrears.topic(), b"[]")[0].error
    # a single-event record may not be an array where bulk is not allowed
    assert isinstance(decode(WaterArrears.topic(), json.dumps([good]).encode()), DeadLetter)
