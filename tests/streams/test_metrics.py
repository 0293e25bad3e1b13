"""Dead-letter reasons as a bounded label: every reason the decoder and the stages give has its class."""
from __future__ import annotations

import json

import pytest

from streams.decode import decode_many
from streams.metrics import REASONS, reason_class
from streams.records import MAX_RECORD_BYTES

REGISTRY = "ew.enterprise_registry"


@pytest.mark.parametrize("topic, raw, expected", [
    ("ew.no_such_source", b"{}", "no_contract"),
    (REGISTRY, b"", "empty"),
    (REGISTRY, b"[]", "empty"),
    (REGISTRY, b" " * (MAX_RECORD_BYTES + 1), "too_large"),
    (REGISTRY, json.dumps([{}] * 5001).encode(), "too_large"),
    (REGISTRY, json.dumps({"event_id": "x", "name": "y" * 20000}).encode(), "too_large"),
    (REGISTRY, b'{"event_id": ', "not_json"),
    (REGISTRY, b"\xff\xfe", "not_json"),
    (REGISTRY, b"17", "not_object"),
    (REGISTRY, b'{"event_id": "x"}', "contract"),
    (REGISTRY, b'[{"event_id": "x"}]', "contract"),
])
def test_every_decoder_reason_has_its_class(topic, raw, expected):
    letters = [r for r in decode_many(topic, raw) if hasattr(r, "error")]
    assert letters
    assert {reason_class(letter.error) for letter in letters} == {expected}, letters[0].error


def test_stage_and_alert_reasons_and_the_rest():
    assert reason_class("gathering watch failed on this event alone: KeyError: 'x'") == "stage"
    assert reason_class("alert not sent: non-finite number at score") == "non_finite"
    assert reason_class("decoder failed: RecursionError: maximum recursion depth exceeded") == "decoder"
    assert reason_class("anything else") == "other"
    assert set(REASONS) >= {"stage", "non_finite", "decoder", "other"}
