"""From ``ew.enterprise_registry`` records to the API's enterprise register (the ``enterprises`` table).

Why the API keeps its own copy: the random verification slice
(:mod:`alerts_api.store.spot_checks`) must be drawn from every enterprise of
an area; the alert store alone knows only the enterprises the scorer once
raised, and recall measured among them flatters the detectors.

The records are decoded by the worker's own contract (:func:`streams.decode.decode_many`).
One the contract refuses is skipped here and counted: the worker dead-letters
it with its reason, and a second dead letter from the API would only repeat
it. An older record arriving after a newer one changes nothing, so a replay
leaves the register as it was.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy.orm import Session, sessionmaker

from alerts_api.intake import AlertRecord, Intake, StoreUnavailable
from alerts_api.store.errors import describe, is_transient
from alerts_api.store.models import Enterprise
from detectors.engine import DecodedEvent
from streams.decode import decode_many
from streams.records import EnterpriseRecord

log = logging.getLogger(__name__)

TOPIC = EnterpriseRecord.topic()


def registered(records: list[AlertRecord]) -> tuple[list[DecodedEvent], int]:
    """The registry events in ``records`` the contract accepts, and how many it refused."""
    events, refused = [], 0
    for rec in records:
        for result in decode_many(TOPIC, rec.value, rec.partition, rec.offset):  # whatever the topic is called
            if isinstance(result, DecodedEvent):
                events.append(result)
            else:
                refused += 1
    return events, refused


def _upsert(session: Session, ev: DecodedEvent) -> bool:
    f = ev.fields
    at = datetime.fromtimestamp(ev.t, tz=timezone.utc)
    row = session.get(Enterprise, f["enterprise_id"])
    if row is not None:
        known = row.registered_at if row.registered_at.tzinfo else row.registered_at.replace(tzinfo=timezone.utc)
        if known > at:
            return False
    session.merge(Enterprise(subject_id=f["enterprise_id"], name=f["name"], industry=str(f["industry"]),
                             area_code=f["area_code"], employees=int(f["employees"]), registered_at=at))
    return True


def take_in_register(sessions: sessionmaker, records: list[AlertRecord]) -> Intake:
    """Upsert every valid registry event of ``records``; never a dead letter (see the module note).

    Raises :class:`StoreUnavailable` on a transient store error, like the alert intake: the caller keeps
    the records and retries them all (the upsert is idempotent).
    """
    events, refused = registered(records)
    if refused:
        log.info("%d registry record(s) skipped: the worker dead-letters them with the reason", refused)
    out = Intake()
    try:
        with sessions() as session, session.begin():
            out.changed = sum(_upsert(session, ev) for ev in events)
        return out
    except Exception as exc:
        if is_transient(exc):
            raise StoreUnavailable(describe(exc)) from exc
    out.changed = 0
    for ev in events:   # the store refused the batch for a value: find the record it refuses, keep the rest
        try:
            with sessions() as session, session.begin():
                out.changed += _upsert(session, ev)
        except Exception as exc:
            if is_transient(exc):
                raise StoreUnavailable(describe(exc)) from exc
            log.error("registry event %s refused by the store, skipped: %s", ev.event_id[:64], describe(exc))
    return out
