"""Prometheus metrics of the API process: requests, the alert sink, notifications, and the store.

Counters live in the process's default registry; what the database knows
(open and overdue cases, verification outcomes, effective warning rates) is
read at scrape time by :class:`StoreCollector`, so it is right after a
restart and agrees with ``GET /cases``. Labels are bounded: a route template,
a method, a status code, a level (red/yellow/blue), a district (the area
code's 6-digit county prefix), an outcome, a rule version. Never a label per
enterprise or case.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerts_api.store.models import Alert, Case

log = logging.getLogger(__name__)

disable_created_metrics()  # no *_created series: half the scrape, and nothing reads them

REQUESTS = Counter("earlywarn_api_requests_total", "API requests answered, by route template and status",
                   ["route", "method", "status"])
LATENCY = Histogram("earlywarn_api_request_seconds", "API request latency by route template", ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SINK_STORED = Counter("earlywarn_sink_alerts_stored_total", "Alerts the sink stored or changed in the store")
SINK_REJECTED = Counter("earlywarn_sink_alerts_rejected_total", "Alert records the sink dead-lettered")
SINK_UPSERT_SECONDS = Histogram("earlywarn_sink_upsert_seconds", "Time to store one poll of alerts (one transaction)",
                                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
SINK_LAG = Gauge("earlywarn_sink_lag_records", "Alerts on ew.alerts the sink has not stored yet (as /healthz reports)")
NOTIFICATIONS_SENT = Counter("earlywarn_notifications_sent_total", "Notifications delivered, by channel", ["channel"])
NOTIFICATIONS_FAILED = Counter("earlywarn_notifications_failed_total",
                               "Notifications that failed for good (after retries), by channel", ["channel"])

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""methods kept as a label value; any other a client invents counts as OTHER"""
HIT_OUTCOMES = ("arrears_confirmed", "hidden_risk")
"""outcomes that count as an effective warning (DESIGN §2: hidden risk is a hit)"""
UNVERIFIED = "unable_to_verify"
"""left out of the effective warning rate's denominator, like an unverified warning"""


class RequestMetrics:
    """ASGI middleware: count every answer by route template and status, and time it.

    Pure ASGI rather than ``BaseHTTPMiddleware``, so a streamed answer (a live feed) passes through untouched.
    The route template (``/cases/{case_code}``), never the raw path, is the label: the set stays bounded.
    A handler that raised before answering counts as 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"  # set by the router on this scope
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            REQUESTS.labels(route=route, method=method, status=str(status)).inc()
            LATENCY.labels(route=route, method=method).observe(time.perf_counter() - started)


class StoreCollector(Collector):
    """Gauges read from the alert store at scrape time (open and overdue cases, outcomes, warning rates)."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("earlywarn_store_up", "1 if the alert store answered this scrape's queries")
        try:
            with self.sessions() as session:
                families = list(self._families(session))
        except Exception as exc:  # a scrape must still answer: say the store is away, and why in the log
            log.warning("store metrics not read: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, session: Session) -> Iterator[GaugeMetricFamily]:
        district = func.substr(Case.area_code, 1, 6)
        open_cases = GaugeMetricFamily("earlywarn_cases_open", "Open cases by level and district (county code)",
                                       labels=["level", "district"])
        for level, where, n in session.execute(
                select(Case.level, district, func.count()).where(Case.open_key.is_not(None))
                .group_by(Case.level, district)):
            open_cases.add_metric([level, where], n)
        yield open_cases

        overdue = GaugeMetricFamily("earlywarn_cases_overdue", "Open cases that missed a deadline (and were escalated), by district",
                                    labels=["district"])
        for where, n in session.execute(
                select(district, func.count()).where(Case.open_key.is_not(None), Case.overdue.is_(True))
                .group_by(district)):
            overdue.add_metric([where], n)
        yield overdue

        outcomes = GaugeMetricFamily("earlywarn_case_outcomes", "Verified cases by rule version and outcome",
                                     labels=["rules_version", "outcome"])
        per_version: dict[str, dict[str, int]] = {}
        for version, outcome, n in session.execute(
                select(Case.rules_version, Case.outcome, func.count()).where(Case.outcome.is_not(None))
                .group_by(Case.rules_version, Case.outcome)):
            outcomes.add_metric([version, outcome], n)
            per_version.setdefault(version, {})[outcome] = n
        yield outcomes

        ewr = GaugeMetricFamily("earlywarn_effective_warning_rate",
                                "(arrears confirmed + hidden risk) / verified cases, unable-to-verify left out",
                                labels=["rules_version"])
        strict = GaugeMetricFamily("earlywarn_strict_warning_rate", "arrears confirmed / verified cases",
                                   labels=["rules_version"])
        for version, counts in per_version.items():
            judged = sum(n for outcome, n in counts.items() if outcome != UNVERIFIED)
            if judged:
                ewr.add_metric([version], sum(counts.get(o, 0) for o in HIT_OUTCOMES) / judged)
                strict.add_metric([version], counts.get("arrears_confirmed", 0) / judged)
        yield ewr
        yield strict

        alerts = GaugeMetricFamily("earlywarn_alerts_stored",
                                   "Alerts in the store by rule version, kind, level (closed: ended) and district",
                                   labels=["rules_version", "kind", "level", "district"])
        alert_district = func.substr(Alert.area_code, 1, 6)
        for version, kind, level, where, n in session.execute(
                select(Alert.rules_version, Alert.kind, Alert.level, alert_district, func.count())
                .group_by(Alert.rules_version, Alert.kind, Alert.level, alert_district)):
            alerts.add_metric([version, kind, level, where], n)
        yield alerts


def store_registry(sessions: sessionmaker) -> CollectorRegistry:
    """A registry of one app's store gauges (apart from the process-wide one: tests build many apps)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(sessions))
    return registry
