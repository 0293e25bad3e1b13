"""Prometheus metrics of the stream worker (served on EW_METRICS_PORT, default 9108).

Labels are bounded: a source topic (13), a dead-letter reason class (below),
an alert kind or level (3 each). Never a label per enterprise, area or case.
The alert rules in ``rules/prometheus/`` and the dashboards in ``grafana/``
read these names; ``tests/grafana`` checks each one is in a live scrape.
"""
from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics

from streams.topics import SOURCE_TOPICS

disable_created_metrics()  # no *_created series: half the scrape, and nothing reads them

EVENTS_IN = Counter("earlywarn_events_in_total", "Source events consumed (a bulk record counts each event)", ["topic"])
DEAD_LETTERS = Counter("earlywarn_dead_letters_total", "Records sent to the dead-letter topic", ["topic", "reason"])
DUPLICATES = Counter("earlywarn_duplicate_events_total", "Events skipped because their event_id was seen")
ALERTS_OUT = Counter("earlywarn_alerts_out_total", "Alert announcements sent", ["level"])
ENGINE_ERRORS = Counter("earlywarn_engine_errors_total",
                        "Batches a stage failed on (rerun event by event), and alerts held back as non-finite")
DEAD_LETTERS_UNSENT = Counter("earlywarn_dead_letters_unsent_total",
                              "Dead letters the broker refused (each is in the worker log with its place)")
RULES_VERSION = Info("earlywarn_rules", "Rule file version in force")
RULE_RELOADS = Counter("earlywarn_rule_reloads_total", "Rule files reloaded and put in force without a restart")
RULE_RELOAD_FAILURES = Counter("earlywarn_rule_reload_failures_total",
                               "Changed rule files refused (the running rules stay)")
OFFSET_HOLES = Counter("earlywarn_offset_holes_total",
                       "Records missing from what Faust delivered: records dropped above a hole, seeks back to it, "
                       "offsets the broker no longer held (streams/offset_guard.py), records Faust fetched and "
                       "did not hand on (streams/fetch_watch.py)", ["event"])
STATE_WRITES_REFUSED = Counter("earlywarn_state_writes_refused_total",
                               "State-table values not written because their JSON exceeded EW_STATE_VALUE_MAX_BYTES "
                               "(the producer would refuse the changelog record and take the worker down)")
HELD = Gauge("earlywarn_events_held", "Events held for event-time order while a partition catches up")
STALLS = Counter("earlywarn_partition_stalls_total",
                 "Source partitions sought again because their records waited on the broker and none reached the "
                 "agent for EW_STALL_AFTER seconds (streams/stall_watch.py), or because the partition was behind and silent "
                 "for EW_ALIGN_MAX_WAIT seconds (streams/align.py: Aligner.silent)", ["topic"])
RELEASED_EARLY = Counter("earlywarn_events_released_early_total",
                         "Held events released by a bound (EW_ALIGN_MAX_WAIT / EW_ALIGN_MAX_HELD), perhaps out of order")
BATCH_SIZE = Histogram("earlywarn_batch_size_events", "Records taken per micro-batch",
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
BATCH_SECONDS = Histogram("earlywarn_batch_processing_seconds", "Wall time to decode, score and send one micro-batch",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
ALERT_LATENCY = Histogram(
    "earlywarn_event_to_alert_seconds",
    "From the event time an alert was raised at to the worker sending it (a replayed history shows its age)",
    ["kind"], buckets=(1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400))
CONSUMER_LAG = Gauge("earlywarn_consumer_lag_records",
                     "Records on the broker the worker has not read yet, per source topic", ["topic"])
ENTERPRISES = Gauge("earlywarn_enterprises_tracked", "Enterprises with a state in the worker's table")
LAST_SEEN = Gauge("earlywarn_source_last_seen_timestamp_seconds",
                  "Wall clock (Unix s) when the worker last read a record of this source, valid or not", ["topic"])
LAST_EVENT = Gauge("earlywarn_source_last_event_timestamp_seconds",
                   "Latest event time (Unix s) among this source's valid events", ["topic"])

# Every series an alert or a panel reads exists from the start at 0, so the first alert of a level is an increase
# Prometheus sees (a series first scraped at 1 has no rate) and a source not heard from yet shows as 0 events.
for _topic in SOURCE_TOPICS:
    CONSUMER_LAG.labels(topic=_topic).set(0)
    EVENTS_IN.labels(topic=_topic)
    STALLS.labels(topic=_topic)
for _level in ("blue", "yellow", "red", "closed"):
    ALERTS_OUT.labels(level=_level)
for _kind in ("wage_arrears", "complaint_surge", "group_incident"):
    ALERT_LATENCY.labels(kind=_kind)
for _event in ("record_dropped", "seek", "offsets_gone", "not_handed_on"):
    OFFSET_HOLES.labels(event=_event)

REASONS = ("no_contract", "empty", "too_large", "not_json", "not_object", "contract", "decoder", "stage",
           "non_finite", "other")
"""the bounded set of dead-letter reason classes (the full reason is in the letter itself)"""

_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"no event contract", "no_contract"),
    (r"empty (bulk )?record", "empty"),
    (r"(bulk )?(record|event) of [\d,]+ (bytes|events)", "too_large"),
    (r"not JSON", "not_json"),
    (r"expected a JSON object", "not_object"),
    (r"invalid [A-Za-z]+:", "contract"),
    (r"decoder failed", "decoder"),
    (r"alert not sent: non-finite", "non_finite"),
    (r".* failed on this event alone", "stage"),
)


def reason_class(error: str) -> str:
    """The dead-letter reason as one of :data:`REASONS`, a label value that cannot grow.

    >>> reason_class("bulk item 3: invalid WaterArrears: amount_owed: must be finite")
    'contract'
    >>> reason_class("not JSON: Expecting value: line 1 column 1 (char 0)")
    'not_json'
    >>> reason_class("something new")
    'other'
    """
    error = re.sub(r"^bulk item \d+: ", "", error)
    for pattern, name in _PATTERNS:
        if re.match(pattern, error):
            return name
    return "other"
