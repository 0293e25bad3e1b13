"""Decoding in a second process hands over exactly what decoding in this one gives, counts and problems included."""
from __future__ import annotations

from pathlib import Path

import pytest

from simulators.evaluation import decode_ahead as ahead
from simulators.evaluation.backtest import DecodeStats, decode_items
from simulators.evaluation.logfiles import EventLogError, read_events

SMALL = Path(__file__).resolve().parent.parent / "data" / "small-log"


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_same_events_same_order_same_stats(chunk, monkeypatch):
    monkeypatch.setattr(ahead, "CHUNK", chunk)
    here = DecodeStats()
    expected = list(decode_items(read_events(SMALL, here.problems), here))
    there = DecodeStats()
    got = list(ahead.decoded_ahead(SMALL, there))
    assert [(d, e.data_class, e.fields, e.t, e.at) for d, e in got] == \
           [(d, e.data_class, e.fields, e.t, e.at) for d, e in expected]
    assert vars(there).keys() == vars(here).keys()
    for k in vars(here):
        assert getattr(there, k) == getattr(here, k), k


def test_a_bad_path_fails_at_once(tmp_path):
    with pytest.raises(EventLogError):
        ahead.decoded_ahead(tmp_path / "missing", DecodeStats()).__next__()
