"""Telling units about their new and escalated cases: signed webhooks, an SMS gateway, the credit topic.

Why an outbox and not a call from the sink: the sink's transaction must not
wait on a unit's server, and a message must not be lost when the API stops.
So a case change writes its messages into the ``outbox`` table in the same
transaction (``alerts_api.store.outbox``), and a background job in the API
delivers them with these senders, retrying with back-off and logging every
attempt.

A webhook body is signed with the unit's own secret (HMAC-SHA256 over
``"<timestamp>.<body>"``, as Stripe and Slack do), so a receiver can check
that it came from here and is fresh; ``X-Earlywarn-Delivery`` is the
outbox id, the same on every retry, so a receiver can drop a message it has
already acknowledged if our acknowledgement record was lost in a crash.

>>> s = sign(b"secret", 1700000000, b'{"a":1}')
>>> s.startswith("v1=") and len(s) == 67
True
>>> verify(b"secret", "1700000000", b'{"a":1}', s), verify(b"other", "1700000000", b'{"a":1}', s)
(True, False)
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)

SIGNATURE = "X-Earlywarn-Signature"
TIMESTAMP = "X-Earlywarn-Timestamp"
DELIVERY = "X-Earlywarn-Delivery"
UNIT_DIGITS = (15, 12, 9, 6)


class DeliveryError(Exception):
    """One attempt failed (the receiver refused, timed out, or a secret is missing); it will be retried."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (epoch seconds)."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (and what the tests do): recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def body_of(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def unit_for(channels: Mapping[str, Any], unit_area: str) -> str | None:
    """The nearest unit at or above ``unit_area`` that has channels configured (None: nobody to tell).

    >>> unit_for({"330110": 1, "330110001": 2}, "330110001002003")
    '330110001'
    >>> unit_for({"330110": 1}, "330111001") is None
    True
    """
    for digits in UNIT_DIGITS:
        if len(unit_area) >= digits and unit_area[:digits] in channels:
            return unit_area[:digits]
    return None


class SmsGateway(Protocol):
    """A text-message gateway (a vendor's HTTP API in production); raise DeliveryError when it refuses."""

    def send(self, phone: str, text: str) -> None: ...


class LoggingSms:
    """The SMS gateway until a vendor is chosen: it writes each message to the log (and keeps it, for tests)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        log.warning("SMS to %s: %s", phone, text)
        self.sent.append((phone, text))


class Publisher(Protocol):
    """Sends one record to a Kafka topic and returns once the broker acknowledged it."""

    def publish(self, topic: str, key: str, value: bytes) -> None: ...


class KafkaPublisher:
    """kafka-python producer with acks=all: publish() returns after the broker wrote the record."""

    def __init__(self, bootstrap: str, options: dict[str, Any] | None = None) -> None:
        from kafka import KafkaProducer

        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **(options or {}))

    def publish(self, topic: str, key: str, value: bytes) -> None:
        try:
            self.producer.send(topic, key=key.encode(), value=value).get(timeout=30)
        except Exception as exc:  # kafka-python raises its own KafkaError family
            raise DeliveryError(f"kafka: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self.producer.close(timeout=5)


class WebhookSender:
    """POSTs a signed body to a unit's webhook; 2xx is the receiver's acknowledgement, anything else fails."""

    def __init__(self, env: Mapping[str, str] = os.environ, timeout: float = 10.0,
                 wall: Callable[[], float] = time.time) -> None:
        self.env, self.wall = env, wall
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, url: str, secret_env: str, delivery_id: int, body: bytes) -> None:
        secret = self.env.get(secret_env)
        if not secret:
            raise DeliveryError(f"signing secret variable {secret_env} is not set")
        ts = int(self.wall())
        headers = {"Content-Type": "application/json", TIMESTAMP: str(ts), SIGNATURE: sign(secret.encode(), ts, body),
                   DELIVERY: str(delivery_id)}
        try:
            r = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:500]) from None
        if not 200 <= r.status_code < 300:
            raise DeliveryError(f"HTTP {r.status_code}: {r.text[:200]}")

    def close(self) -> None:
        self.client.close()


def sms_text(payload: Mapping[str, Any]) -> str:
    """A short message a unit's phone can show: what happened to which case, by when."""
    what = {"case.opened": "new case", "case.level_raised": "case raised", "case.escalated": "case overdue, now yours",
            "silence.ended": "silence ended"}.get(str(payload.get("event")), str(payload.get("event")))
    return (f"[earlywarn] {what} {payload.get('case_code')} {payload.get('level', '')} "
            f"{payload.get('subject_name', '')} state {payload.get('state', '')} due {payload.get('deadline', '')}")[:300]
