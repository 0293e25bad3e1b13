"""From ``ew.alerts`` records to stored alerts: each record ends stored or dead-lettered with its reason.

Why a batch falls back to one transaction per alert: the fast path stores a
whole poll in one transaction, but then one alert the database refuses would
refuse its neighbours too, and retrying the batch would refuse them forever
(issue #19: one ``Infinity`` stalled the sink on 0 of 1,244 alerts). So a
batch the database refuses for a *value* is retried alert by alert, and only
the alerts that fail alone are dead-lettered. An error that says the
database is *away* (:func:`alerts_api.store.errors.is_transient`) is raised as
:class:`StoreUnavailable` instead: the caller keeps the records and retries.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy.orm import sessionmaker

from alerts_api.schemas import AlertIn
from alerts_api.cases.routing import Policy
from alerts_api.store.alerts import upsert_alert, utcnow
from alerts_api.store.cases import on_alert
from alerts_api.store.errors import describe, is_transient
from earlywarn.validation import describe_validation
from streams.deadletter import DeadLetter, dead_letter

MAX_ALERT_BYTES = 256 * 1024
"""an alert is a few kilobytes; anything near this is not one"""


class AlertRejected(ValueError):
    """A record on ``ew.alerts`` that is not a storable alert; the message says why."""


class StoreUnavailable(RuntimeError):
    """The alert store is away or busy (transient): keep the records, retry later."""


@dataclass(frozen=True)
class AlertRecord:
    """One record as consumed, with where it came from (for its dead letter)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None


@dataclass
class Intake:
    changed: int = 0
    """alerts the store changed (a replayed announcement changes nothing)"""
    letters: list[tuple[AlertRecord, DeadLetter]] = field(default_factory=list)


def parse_alert(value: bytes | None) -> AlertIn:
    """The alert in one record, or :class:`AlertRejected` naming what is wrong."""
    if not value:
        raise AlertRejected("empty record (no alert in it)")
    if len(value) > MAX_ALERT_BYTES:
        raise AlertRejected(f"record of {len(value):,} bytes; an alert is at most {MAX_ALERT_BYTES:,}")
    try:
        data = json.loads(value.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError, too many digits
        raise AlertRejected(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise AlertRejected(f"expected a JSON object, got {type(data).__name__}")
    try:
        return AlertIn.model_validate(data)
    except ValidationError as exc:
        raise AlertRejected(f"invalid alert: {describe_validation(exc)}") from None


def take_in(sessions: sessionmaker, records: list[AlertRecord], actor: str = "alert-sink",
            policy: Policy | None = None) -> Intake:
    """Store every good alert of ``records``; a dead letter for each one that cannot be stored.

    With a routing ``policy``, each alert that changed the store opens or updates its case in the same
    transaction (issue #20).

    Raises :class:`StoreUnavailable` on a transient store error; nothing is
    lost then, because the upsert is idempotent and the caller retries all.
    """
    out = Intake()
    parsed: list[tuple[AlertRecord, AlertIn]] = []
    for rec in records:
        try:
            parsed.append((rec, parse_alert(rec.value)))
        except Exception as exc:  # any reason at all: this record, not the sink, is the problem
            reason = str(exc) if isinstance(exc, AlertRejected) else f"unreadable alert: {type(exc).__name__}: {exc}"
            out.letters.append((rec, _letter(rec, reason)))
    if not parsed:
        return out
    try:
        out.changed = _store(sessions, [a for _, a in parsed], actor, policy)
        return out
    except Exception as exc:
        if is_transient(exc):
            raise StoreUnavailable(describe(exc)) from exc
    for rec, alert in parsed:  # the database refused the batch for a value: find the alert(s) it refuses
        try:
            out.changed += _store(sessions, [alert], actor, policy)
        except Exception as exc:
            if is_transient(exc):
                raise StoreUnavailable(describe(exc)) from exc
            out.letters.append((rec, _letter(rec, f"store refused alert {alert.alert_id!r}: {describe(exc)}")))
    return out


def _store(sessions: sessionmaker, alerts: list[AlertIn], actor: str, policy: Policy | None) -> int:
    now = utcnow()
    changed = 0
    with sessions() as session, session.begin():
        for alert in alerts:
            if upsert_alert(session, alert, actor=actor, now=now):
                changed += 1
                if policy is not None:
                    on_alert(session, alert, now, policy)
    return changed


def _letter(rec: AlertRecord, reason: str) -> DeadLetter:
    return dead_letter(reason, rec.topic, rec.partition, rec.offset, rec.value)
