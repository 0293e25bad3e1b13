"""A sweep of malformed and extreme events on every topic through the decode path (issue #19).

Every hostile record must become a dead letter with a reason that fits the
producer's limit, and decoding must never raise. Every event that *passes*
the contract, however extreme within its bounds, must go through the surge
counter, the gathering watch and the engine without raising and give alerts
the sink can store.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from alerts_api.schemas import AlertIn
from detectors.engine import DecodedEvent, WageArrearsEngine
from earlywarn.settings import DEFAULT_RULES
from rules.loader import load_rules
from streams.complaint_surge import ComplaintSurgeTracker
from streams.deadletter import MAX_LETTER_BYTES, DeadLetter
from streams.decode import decode_many
from streams.group_incidents import GroupIncidentWatch
from streams.records import RECORD_BY_CLASS
from tests.streams.test_records import EXAMPLES, T

NOW = datetime(2026, 9, 21, tzinfo=timezone.utc)
CLASSES = sorted(EXAMPLES)


def valid(cls: str, n: int = 1) -> dict:
    return {"event_id": f"{cls}-{n}", "occurred_at": T, **EXAMPLES[cls]}


def fields_of(cls: str) -> list[str]:
    return [f.alias or name for name, f in RECORD_BY_CLASS[cls].model_fields.items()]


def required_of(cls: str) -> list[str]:
    return [f.alias or name for name, f in RECORD_BY_CLASS[cls].model_fields.items() if f.is_required()]


def hostile_values(long: int) -> st.SearchStrategy:
    """Values no field of any contract accepts (None and booleans are left out: some fields take them)."""
    return st.one_of(
        st.just("x" * long),
        st.integers(min_value=10**13 + 1, max_value=10**400),
        st.integers(min_value=-(10**400), max_value=-(10**13) - 1),
        st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300, -1e300]),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        st.sampled_from(["\x00", "\ud800", "a\x1fb", "9999-12-31T00:00:00+08:00\x00"]),
    )


@st.composite
def hostile_record(draw, long: int = 1_000_000) -> tuple[str, bytes, str]:
    """(class, raw bytes, a word the reason must contain) for one malformed or extreme record."""
    cls = draw(st.sampled_from(CLASSES))
    event = valid(cls)
    kind = draw(st.sampled_from(["value", "missing", "credit_code", "time", "extra", "bytes", "shape"]))
    if kind == "value":
        field = draw(st.sampled_from(fields_of(cls)))
        event[field] = draw(hostile_values(long))
        return cls, json.dumps(event).encode(), field if not isinstance(event[field], str) or len(
            event[field]) < 100 else "bytes"
    if kind == "missing":
        field = draw(st.sampled_from(required_of(cls)))
        del event[field]
        return cls, json.dumps(event).encode(), field
    if kind == "credit_code":
        code = "91350100M000100Y4" + draw(st.sampled_from("0125ABXY"))  # Y43 is the valid one
        event["enterprise_id"] = code
        return cls, json.dumps(event).encode(), "enterprise_id"
    if kind == "time":
        when = draw(st.one_of(
            st.datetimes(min_value=datetime(2026, 9, 23), max_value=datetime(9999, 12, 30)),
            st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(1999, 12, 30))))
        event["occurred_at"] = when.replace(tzinfo=timezone(timedelta(hours=8))).isoformat()
        return cls, json.dumps(event).encode(), "occurred_at"
    if kind == "extra":
        event[draw(st.sampled_from(["colour", "x", "eventId"]))] = 1
        return cls, json.dumps(event).encode(), "Extra inputs"
    if kind == "bytes":
        raw = json.dumps(event).encode()
        cut = draw(st.integers(min_value=0, max_value=len(raw) - 1))
        junk = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00"]))  # never valid JSON text
        return cls, raw[:cut] + junk + raw[cut:], "JSON"
    shape = draw(st.sampled_from([b"null", b"42", b'"text"', b"[]", b"[" * 50_000 + b"]" * 50_000, b"",
                                  b"1" * 5000]))
    return cls, shape, ""


def check_letter(letter: DeadLetter, raw: bytes, needle: str) -> None:
    assert isinstance(letter, DeadLetter), letter
    assert letter.error and needle in letter.error, (needle, letter.error[:300])
    assert len(letter.to_json()) <= MAX_LETTER_BYTES and len(letter.error) < 1200
    assert letter.raw_length == len(raw) and (letter.raw_truncated or letter.raw == raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_record())
def test_every_hostile_record_is_a_dead_letter_with_its_reason(case):
    cls, raw, needle = case
    results = decode_many(f"ew.{cls}", raw, 2, 41, now=NOW.timestamp())  # must not raise
    assert len(results) == 1
    check_letter(results[0], raw, needle)
    assert (results[0].source_topic, results[0].partition, results[0].offset) == (f"ew.{cls}", 2, 41)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_record(long=20_000))
def test_a_hostile_item_in_a_bulk_record_is_dead_lettered_alone(case):
    cls, raw, needle = case
    try:
        item = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        item = None
    if not isinstance(item, dict):
        return  # bytes-level damage spoils the whole array: covered above
    bulk = json.dumps([valid(cls, 1), item, valid(cls, 2)]).encode()
    results = decode_many(f"ew.{cls}", bulk, 0, 9, now=NOW.timestamp())
    assert [type(r).__name__ for r in results] == ["DecodedEvent", "DeadLetter", "DecodedEvent"]
    assert results[1].error.startswith("bulk item 1: ")
    assert needle == "bytes" and "bytes" in results[1].error or needle in results[1].error


def _bounds(cls: str) -> dict[str, list]:
    """Field → values at and inside its bounds (from the contract's JSON schema)."""
    props = RECORD_BY_CLASS[cls].model_json_schema(by_alias=True)["properties"]
    out = {}
    for name, p in props.items():
        if p.get("type") in ("integer", "number") and "maximum" in p:
            lo, hi = p.get("minimum", 0), p["maximum"]
            out[name] = [lo, hi, (lo + hi) // 2 if p["type"] == "integer" else (lo + hi) / 2]
        elif p.get("type") == "string" and "maxLength" in p and name not in ("event_id", "period"):
            out[name] = ["字" * p["maxLength"], "a"]
    return out


@st.composite
def extreme_valid_events(draw) -> list[bytes | tuple[str, bytes]]:
    events = []
    for i in range(draw(st.integers(min_value=1, max_value=12))):
        cls = draw(st.sampled_from(CLASSES))
        event = valid(cls, i)
        event["event_id"] = f"{cls}-{i}-" + "e" * draw(st.integers(0, 100))
        for name, values in _bounds(cls).items():
            if draw(st.booleans()):
                event[name] = draw(st.sampled_from(values))
        at = draw(st.datetimes(min_value=datetime(2024, 9, 1), max_value=datetime(2026, 9, 21, 23)))
        event["occurred_at"] = at.replace(tzinfo=timezone.utc).isoformat()
        events.append((cls, json.dumps(event, ensure_ascii=False).encode()))
    return events


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extreme_valid_events())
def test_events_at_their_bounds_run_through_every_stage_and_give_storable_alerts(records):
    engine = WageArrearsEngine(load_rules(DEFAULT_RULES))
    surges = ComplaintSurgeTracker()
    groups = GroupIncidentWatch(surges)
    good: list[DecodedEvent] = []
    for cls, raw in records:
        [one] = decode_many(f"ew.{cls}", raw, now=NOW.timestamp() + 86400)
        assert isinstance(one, DecodedEvent), one.error
        good.append(one)
    alerts = surges.process(good) + groups.process(good)
    out = engine.run(good, lambda _: None)
    event(f"alerts raised: {'some' if alerts or out.alerts else 'none'}")
    for alert in alerts + out.alerts:
        json.dumps(alert, allow_nan=False)
        AlertIn.model_validate(alert)  # what the sink will accept
    for update in out.score_updates:
        json.dumps(update, allow_nan=False)
