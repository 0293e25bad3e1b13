"""Topic names: one per source data class, plus the pipeline's own outputs."""
from __future__ import annotations

from streams.records import SOURCE_RECORDS, CreditRecord

SOURCE_TOPICS: tuple[str, ...] = tuple(r.topic() for r in SOURCE_RECORDS)
FEEDBACK_TOPICS: tuple[str, ...] = (CreditRecord.topic(),)
"""sources the pipeline writes itself (the API's credit record): no outside system, no rhythm to watch"""
OUTSIDE_SOURCES: tuple[str, ...] = tuple(t for t in SOURCE_TOPICS if t not in FEEDBACK_TOPICS)
DEAD_LETTER = "ew.dead-letter"
RISK_SCORES = "ew.risk-scores"
ALERTS = "ew.alerts"
OUTPUT_TOPICS: tuple[str, ...] = (DEAD_LETTER, RISK_SCORES, ALERTS)


def all_topics() -> tuple[str, ...]:
    return SOURCE_TOPICS + OUTPUT_TOPICS
