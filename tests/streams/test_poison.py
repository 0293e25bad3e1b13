"""Issue #19's worker findings, one by one: each poison record is a dead letter alone, with its reason.

- a schema-valid event with a 401-digit integer dropped its whole micro-batch;
- a malformed record of about 0.7 MB crashed the agent (its dead letter exceeded the producer's 1 MB);
- one complaint dated in the year 9999 kept the worker busy for minutes.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json

import pytest

from detectors.engine import DecodedEvent, WageArrearsEngine
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules
from streams.deadletter import MAX_LETTER_BYTES, DeadLetter, dead_letter
from streams.decode import decode, decode_many
from streams.poison import each_alone, run_engine_alone, score_batch
from tests.streams.test_records import EXAMPLES, E, T

NOW = 1_790_000_000.0  # 2026-09-21


def raw(cls: str, **change) -> bytes:
    return json.dumps({"event_id": f"{cls}-1", "occurred_at": T, **EXAMPLES[cls], **change}).encode()


def test_a_401_digit_integer_is_a_dead_letter_naming_the_field_not_repeating_the_number():
    dead = decode("ew.water_arrears", raw("water_arrears", months_overdue=int("9" * 401)), now=NOW)
    assert isinstance(dead, DeadLetter)
    assert "months_overdue" in dead.error and "less than or equal to 1200" in dead.error
    assert "an integer of 401 digits" in dead.error and "9999999999" not in dead.error


def test_headcounts_amounts_and_strings_are_bounded():
    for cls, change, field in [("gathering_report", {"headcount": 1e20}, "headcount"),
                               ("enterprise_registry", {"employees": 10**12}, "employees"),
                               ("litigation", {"amount": 1e300}, "amount"),
                               ("public_opinion", {"sentiment": float("nan")}, "sentiment"),
                               ("court_blacklist", {"case_number": "x" * 65}, "case_number"),
                               ("petition", {"petitioners": 10**9}, "petitioners"),
                               ("hotline_complaint", {"event_id": "a\x00b"}, "event_id"),
                               ("hotline_complaint", {"event_id": "\ud800"}, "event_id")]:
        dead = decode(f"ew.{cls}", raw(cls, **change), now=NOW)
        assert isinstance(dead, DeadLetter) and field in dead.error, (cls, change, dead)


def test_a_time_far_in_the_future_or_long_past_is_a_dead_letter_not_a_loop():
    for when, needle in [("9999-12-31T23:59:59+08:00", "days ahead of the receiving clock"),
                         ("2026-09-23T00:00:00+00:00", "1.4 days ahead"),
                         ("1999-12-31T23:59:59+00:00", "before 2000-01-01")]:
        dead = decode("ew.hotline_complaint", raw("hotline_complaint", occurred_at=when), now=NOW)
        assert isinstance(dead, DeadLetter) and needle in dead.error, dead
    ok = decode("ew.hotline_complaint", raw("hotline_complaint", occurred_at="2026-09-22T00:00:00+00:00"), now=NOW)
    assert not isinstance(ok, DeadLetter)  # a few hours ahead (clock skew) is fine


def test_a_dead_letter_for_a_07_mb_record_fits_the_producer_with_its_payload_whole():
    big = b'{"event_id": "' + b"x" * 700_000   # malformed: the error text used to repeat all of it
    dead = decode("ew.petition", big)
    assert isinstance(dead, DeadLetter) and "not JSON" in dead.error
    letter = dead.to_json()
    assert len(letter) <= MAX_LETTER_BYTES < 1_000_000
    assert dead.raw == big and not dead.raw_truncated and len(dead.error) < 1200


def test_a_dead_letter_too_big_to_carry_its_payload_keeps_length_and_hash():
    payload = bytes(range(256)) * 5000   # 1.28 MB, not UTF-8
    letter = dead_letter("error " * 10_000, "ew.petition", 3, 99, payload)
    body = letter.to_json()
    assert len(body) <= MAX_LETTER_BYTES
    parsed = json.loads(body)
    assert parsed["raw_truncated"] and parsed["raw_length"] == len(payload)
    assert parsed["raw_sha256"] == hashlib.sha256(payload).hexdigest()
    assert payload.startswith(base64.b64decode(parsed["raw_b64"]))
    assert len(parsed["error"]) < 1200


def test_a_bulk_record_with_a_poison_item_keeps_the_others():
    good = {"event_id": "w1", "occurred_at": T, **EXAMPLES["water_arrears"]}
    items = [good, dict(good, event_id="w2", months_overdue=int("9" * 401)), dict(good, event_id="w3")]
    results = decode_many("ew.water_arrears", json.dumps(items).encode(), 0, 4, now=NOW)
    assert [type(r).__name__ for r in results] == ["DecodedEvent", "DeadLetter", "DecodedEvent"]


def poison_event() -> DecodedEvent:
    """What the old contract let through: a 401-digit month count the engine cannot turn into a float."""
    fields = {"event_id": "poison", "occurred_at": T, **EXAMPLES["water_arrears"], "months_overdue": int("9" * 401)}
    return DecodedEvent("water_arrears", fields, 1_772_326_800.0)


def good_events(n: int) -> list[DecodedEvent]:
    out = []
    for i in range(n):
        d = decode("ew.water_arrears", raw("water_arrears", event_id=f"w{i}", months_overdue=i % 4), now=NOW)
        assert isinstance(d, DecodedEvent)
        out.append(d)
    return out


def test_the_engine_failing_on_one_event_costs_that_event_only():
    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    events = good_events(30)
    events.insert(17, poison_event())
    try:
        engine.run(events, lambda _: None)
        raise AssertionError("the poison event no longer breaks the engine; this test needs another one")
    except OverflowError:
        pass
    out, failed = run_engine_alone(engine, events, lambda _: None)
    assert [(e.event_id, reason.split(":")[0]) for e, reason in failed] == [("poison", "OverflowError")]
    # the other 30 went through in order, one by one, exactly as they go one by one without the poison
    fresh, store = WageArrearsEngine(load_rules(DEFAULT_RULES)), {}
    for ev in good_events(30):
        store.update(fresh.run([ev], store.get).touched)
    assert out.touched[E].to_dict() == store[E].to_dict()
    assert len(out.score_updates) == 30 and out.duplicates == 0
    assert engine.context == fresh.context, "the failed batch left no trace in the industry context"


def test_each_alone_isolates_the_events_a_stage_fails_on():
    def stage(xs):
        if any(x == "bad" for x in xs):
            raise ValueError("bad one")
        return [x.upper() for x in xs]
    assert each_alone(stage, ["a", "b"]) == (["A", "B"], [])
    assert each_alone(stage, ["a", "bad", "b"]) == (["A", "B"], [("bad", "ValueError: bad one")])


def test_score_batch_names_the_stage_and_keeps_a_failed_event_out_of_later_stages():
    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    events = good_events(5)
    seen_by_second: list[str] = []

    def first(batch):
        if any(e.event_id == "w2" for e in batch):
            raise ValueError("w2 again")
        return [f"first:{e.event_id}" for e in batch]

    def second(batch):
        seen_by_second.extend(e.event_id for e in batch)
        return []

    raised, out, failed, reruns = score_batch([("first stage", first), ("second stage", second)], engine, events,
                                              lambda _: None)
    assert [(e.event_id, reason) for e, reason in failed] == [
        ("w2", "first stage failed on this event alone: ValueError: w2 again")]
    assert raised == ["first:w0", "first:w1", "first:w3", "first:w4"] and reruns == 1
    assert "w2" not in seen_by_second and len(out.score_updates) == 1   # one enterprise, one instant, 4 events


def test_a_batch_that_fails_leaves_the_industry_context_as_it_was():
    """The engine's one shared state (late reports per industry) is counted before scoring: a batch that then
    fails must not leave its reports counted, or rerunning it event by event would count them twice."""
    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    registry = decode("ew.enterprise_registry", raw("enterprise_registry"), now=NOW)
    assert isinstance(registry, DecodedEvent)
    store: dict = {}
    store.update(engine.run([registry], store.get).touched)
    before = copy.deepcopy(engine.context)
    late = [e for e in good_events(6) if e.fields["months_overdue"] > 0]
    def load(enterprise_id):  # as the stream loads: a fresh state from the table, never the stored object
        return copy.deepcopy(store.get(enterprise_id))

    with pytest.raises(OverflowError):
        engine.run([*late, poison_event()], load)
    assert engine.context == before
    engine.run(late, load)
    assert engine.context != before, "the same reports, in a batch that succeeds, are counted"
