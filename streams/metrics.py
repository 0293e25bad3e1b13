"""Prometheus counters of the stream worker (exported when EW_METRICS_PORT is set)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Info

EVENTS_IN = Counter("earlywarn_events_in_total", "Source records consumed", ["topic"])
DEAD_LETTERS = Counter("earlywarn_dead_letters_total", "Records sent to the dead-letter topic", ["topic"])
DUPLICATES = Counter("earlywarn_duplicate_events_total", "Events skipped because their event_id was seen")
ALERTS_OUT = Counter("earlywarn_alerts_out_total", "Alert announcements sent", ["level"])
ENGINE_ERRORS = Counter("earlywarn_engine_errors_total",
                        "Batches a stage failed on (rerun event by event), and alerts held back as non-finite")
DEAD_LETTERS_UNSENT = Counter("earlywarn_dead_letters_unsent_total",
                              "Dead letters the broker refused (each is in the worker log with its place)")
RULES_VERSION = Info("earlywarn_rules", "Rule file version in force")
HELD = Gauge("earlywarn_events_held", "Events held for event-time order while a partition catches up")
RELEASED_EARLY = Counter("earlywarn_events_released_early_total",
                         "Held events released by a bound (EW_ALIGN_MAX_WAIT / EW_ALIGN_MAX_HELD), perhaps out of order")
