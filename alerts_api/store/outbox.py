"""The notification outbox: messages written with the change they announce, delivered later, every attempt logged.

Guarantees: a message exists iff its case change committed (same
transaction); it is retried with back-off (``retry`` doubling up to an hour)
until the receiver acknowledges it (2xx, or the broker's ack) or
``max_attempts`` is reached (``gave_up``); once acknowledged its row is marked
``delivered`` in the same step that logs the delivery, so a restarted API
never sends it again. A crash between the receiver's 2xx and our commit
resends it once, with the same ``X-Earlywarn-Delivery`` id for the receiver
to drop. On PostgreSQL each message is locked while it is sent (``SKIP
LOCKED``), so two API processes never send the same one at once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from alerts_api.cases.notify import (DeliveryError, LoggingSms, Publisher, SmsGateway, WebhookSender, body_of,
                                     sms_text, unit_for)
from alerts_api.cases.routing import Policy
from alerts_api.store.models import Case, Delivery, Outbox

log = logging.getLogger(__name__)
MAX_DELAY = timedelta(hours=1)


def case_payload(case: Case, event: str, **extra: Any) -> dict[str, Any]:
    """What a unit is told: enough to act without calling back (the case code leads to the rest)."""
    return {"event": event, "case_code": case.case_code, "query_code": case.query_code, "kind": case.kind,
            "subject_id": case.subject_id, "subject_name": case.subject_name, "area_code": case.area_code,
            "level": case.level, "state": case.state, "unit_level": case.unit_level, "unit_area": case.unit_area,
            "deadline": _utc(case.deadline).isoformat(), "overdue": case.overdue, **extra}


def enqueue_case(session: Session, case: Case, event: str, now: datetime, policy: Policy, **extra: Any) -> int:
    """Queue ``event`` about ``case`` for the unit that now holds it (webhook and each SMS number); how many."""
    unit = unit_for(policy.channels, case.unit_area)
    if unit is None:
        return 0
    channels = policy.channels[unit]
    payload = case_payload(case, event, unit=unit, **extra)
    rows = []
    if channels.webhook:
        rows.append(Outbox(channel="webhook", target=unit, case_code=case.case_code, event=event, payload=payload,
                           created_at=now, next_attempt_at=now, attempts=0, status="pending"))
    rows += [Outbox(channel="sms", target=phone, case_code=case.case_code, event=event, payload=payload,
                    created_at=now, next_attempt_at=now, attempts=0, status="pending") for phone in channels.sms]
    session.add_all(rows)
    return len(rows)


def enqueue_signal(session: Session, topic: str, key: str, case_code: str, event: str, payload: dict[str, Any],
                   now: datetime) -> None:
    """Queue a record for a Kafka topic (the credit record's signal back to the scorer)."""
    session.add(Outbox(channel="kafka", target=topic, case_code=case_code, event=event,
                       payload={**payload, "key": key}, created_at=now, next_attempt_at=now, attempts=0,
                       status="pending"))


@dataclass
class Senders:
    """The ways out. ``kafka`` None: the API runs without a broker, and Kafka messages wait in the outbox."""

    policy: Policy
    webhook: WebhookSender = field(default_factory=WebhookSender)
    sms: SmsGateway = field(default_factory=LoggingSms)
    kafka: Publisher | None = None

    def deliver(self, row: Outbox) -> None:
        if row.channel == "webhook":
            channels = self.policy.channels.get(row.target)
            if channels is None or not channels.webhook:
                raise DeliveryError(f"unit {row.target} has no webhook in the rule file any more")
            self.webhook.send(channels.webhook, channels.secret_env, row.id, body_of(row.payload))
        elif row.channel == "sms":
            self.sms.send(row.target, sms_text(row.payload))
        elif row.channel == "kafka" and self.kafka is not None:
            payload = dict(row.payload)
            key = str(payload.pop("key", row.case_code))
            self.kafka.publish(row.target, key, body_of(payload))
        else:
            raise DeliveryError(f"no sender for channel {row.channel}")

    def channels(self) -> list[str]:
        return ["webhook", "sms"] + (["kafka"] if self.kafka is not None else [])


CLAIM_LEASE = timedelta(minutes=5)
"""how long a claimed message is another drainer's: a process killed mid-send leaves it ``sending``, and it is
sent again after this (at least once; the receiver tells repeats apart by the delivery id)"""


DUE_STATES = ("pending", "sending")
"""``sending``: claimed by a drainer; due again once its lease has run out"""


def _claim(sessions: sessionmaker, outbox_id: int, now: datetime) -> Outbox | None:
    """Take the message for this drainer, or None if another has it.

    Why a conditional UPDATE and not SELECT … FOR UPDATE: SQLite has no row locks, so two API processes both
    read a message as pending and both sent it; and on PostgreSQL a row lock held through a slow unit's
    webhook keeps a transaction open for its whole timeout. The UPDATE is one short write either way.
    """
    with sessions() as session, session.begin():
        taken = session.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.status.in_(DUE_STATES),
                                                     Outbox.next_attempt_at <= now)
                                .values(status="sending", next_attempt_at=now + CLAIM_LEASE)).rowcount
        if taken != 1:
            return None
        row = session.get(Outbox, outbox_id)
        session.expunge(row)
        return row


def drain_once(sessions: sessionmaker, now: datetime, senders: Senders, *, retry: timedelta = timedelta(seconds=30),
               max_attempts: int = 10, limit: int = 100) -> int:
    """Attempt every message due at ``now`` (oldest first), each claimed first; how many were delivered."""
    with sessions() as session:
        due = session.execute(select(Outbox.id).where(Outbox.status.in_(DUE_STATES), Outbox.next_attempt_at <= now,
                                                      Outbox.channel.in_(senders.channels()))
                              .order_by(Outbox.id).limit(limit)).scalars().all()
    delivered = 0
    for outbox_id in due:
        row = _claim(sessions, outbox_id, now)
        if row is None:
            continue  # another API process has it, or had it
        attempt = row.attempts + 1
        unit = str(row.payload.get("unit", row.target))
        try:
            senders.deliver(row)
            error = None
        except DeliveryError as exc:
            error = exc
        with sessions() as session, session.begin():
            row = session.get(Outbox, outbox_id)
            row.attempts = attempt
            if error is None:
                row.status, row.delivered_at = "delivered", now
                status = "delivered"
                delivered += 1
            else:
                gave_up = attempt >= max_attempts
                row.status = "gave_up" if gave_up else "pending"
                row.next_attempt_at = now + min(retry * 2 ** (attempt - 1), MAX_DELAY)
                status = "gave_up" if gave_up else "failed"
                log.warning("notification %d (%s to %s) attempt %d failed: %s", row.id, row.channel, unit,
                            attempt, error)
            session.add(Delivery(outbox_id=row.id, case_code=row.case_code, channel=row.channel, unit=unit,
                                 attempt=attempt, status=status, error="" if error is None else str(error)[:1000],
                                 at=now))
    return delivered


def deliveries(session: Session, case_code: str) -> list[Delivery]:
    return list(session.execute(select(Delivery).where(Delivery.case_code == case_code)
                                .order_by(Delivery.id)).scalars())


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)

