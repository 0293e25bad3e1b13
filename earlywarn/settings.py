"""The one settings object every process shares (environment, ``EW_`` prefix).

Errors name the variable and what is wrong with it, never its value: tokens
and passwords live here (:func:`describe_settings_error`).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from earlywarn.identifiers import area_problem

if TYPE_CHECKING:
    from streams.kafka_security import KafkaSecurity

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = PROJECT_ROOT / "rules" / "default.yaml"


class Settings(BaseSettings):
    """Configuration; every field can be set as ``EW_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="EW_", extra="ignore")

    kafka_broker: str | None = Field(
        default=None, description="host:port of a Kafka-compatible broker; unset → embedded Tansu")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how every Kafka client connects; the embedded Tansu supports PLAINTEXT only")
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA bundle for SSL/SASL_SSL; unset = the system's trust store")
    database_url: str = Field(
        default="sqlite:///var/earlywarn.db", description="SQLAlchemy URL of the alert store")
    rules_file: Path = Field(default=DEFAULT_RULES, description="the wage-arrears rule file (YAML)")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_tokens: str = Field(
        default="", description="comma-separated bearer tokens, each 'token' or 'token:area_code'; "
        "an area-scoped token sees only alerts in that area")
    api_rate_per_second: float = Field(
        default=10.0, ge=0, description="requests a second each API token may make after its burst; 0 = no limit")
    api_rate_burst: int = Field(default=30, ge=1, description="requests an API token may make at once")
    app_id: str = Field(default="earlywarn", description="Faust app id (consumer group prefix)")
    data_dir: Path = Field(default=Path("var"), description="Faust tables, logs, SQLite file")
    batch_size: int = Field(default=2000, ge=1, description="events taken per micro-batch")
    batch_within: float = Field(default=0.5, gt=0, description="seconds to wait to fill a micro-batch")
    topic_partitions: int = Field(
        default=1, ge=1, le=1,
        description="partitions of the topics the worker creates: 1, since the district-wide trackers and the "
                    "state table's outbox order need one worker reading every partition 0 (README, Deploying)")
    case_deadline_check_seconds: float = Field(
        default=60.0, gt=0, description="how often the API escalates cases past their deadline")
    stream_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="how often GET /cases/stream looks for new case events")
    stream_max_seconds: float = Field(
        default=900.0, gt=0, description="a live feed connection ends after this long; the client reconnects with "
        "Last-Event-ID and misses nothing (and a token revoked meanwhile is refused)")
    stream_ticket_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="how long a stream ticket (POST /cases/stream/tickets) may be used "
        "to open the live feed, for browsers whose EventSource cannot send a bearer token")
    stream_ticket_key: SecretStr | None = Field(
        default=None, description="key that signs stream tickets; set the same one on every API process behind one "
        "address (unset: a random key per process, so a ticket works only on the process that issued it)")
    notify_drain_seconds: float = Field(
        default=5.0, gt=0, description="how often the API delivers pending notifications from its outbox")
    notify_retry_seconds: float = Field(
        default=30.0, gt=0, description="first retry delay of a failed notification; doubles up to an hour")
    notify_max_attempts: int = Field(default=10, ge=1, le=100, description="attempts before a notification is "
                                     "given up (logged as gave_up)")
    align_max_wait: float = Field(
        default=10.0, gt=0, description="seconds an event may wait for a lagging partition before it is scored anyway")
    align_idle: float = Field(
        default=0.2, ge=0, description="seconds a just-read partition may still bring an earlier event (in flight)")
    stall_after: float = Field(
        default=5.0, gt=0, description="seconds a source partition may hold records on the broker that reach no "
        "idle agent before the worker seeks it again (streams/stall_watch.py); keep it below EW_ALIGN_MAX_WAIT")
    align_max_held: int = Field(
        default=200_000, ge=1, description="events held for event-time order at most; beyond, all are released")
    batch_log: Path | None = Field(
        default=None, description="append the event ids of every scored batch here (JSON lines): two runs that "
        "decided differently can be replayed offline batch by batch to find where (tests/fault_run.py)")
    dedup_per_enterprise: int = Field(default=256, ge=8, description="recent event ids kept per enterprise")
    state_value_max_bytes: int = Field(
        default=900_000, ge=10_000, le=1_000_000, description="the largest state-table value written to the "
        "changelog (Faust's producer refuses records over 1,000,000 bytes, which would stop the worker); a larger "
        "one is not written, logged and counted in earlywarn_state_writes_refused_total")
    score_feed_min_change: float = Field(
        default=0.005, ge=0, le=1, description="publish an enterprise's score on ew.risk-scores only when it moved "
        "by at least this much (or its level changed) since last published; 0 = every update")
    sink_stall_seconds: float = Field(
        default=30.0, gt=0, description="/healthz answers 503 once the alert sink has retried a broker or store "
        "failure for longer than this")
    sink_max_lag: int = Field(
        default=10_000, ge=0, description="/healthz answers 503 while the alert sink is more than this many "
        "alerts behind on ew.alerts")
    metrics_port: int = Field(default=9108, ge=0, le=65535,
                              description="worker Prometheus /metrics port on 127.0.0.1; 0 = off (the API serves "
                              "its own /metrics on EW_API_PORT)")
    prometheus_port: int = Field(default=9090, ge=0, le=65535,
                                 description="port the demo's Prometheus listens on (a free one if taken)")
    log_level: str = Field(default="warn", pattern="^(crit|error|warn|info|debug)$")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except (ArgumentError, ValueError):  # the message may repeat part of the URL (a bad port, a password)
            raise ValueError("not a SQLAlchemy URL (e.g. sqlite:///var/earlywarn.db or "
                             "postgresql+psycopg2://user@host/db)") from None
        return value

    @field_validator("kafka_broker")
    @classmethod
    def _broker(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        value = value.removeprefix("kafka://")
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"EW_KAFKA_BROKER must be host:port, got {value!r}")
        return value

    @model_validator(mode="after")
    def _kafka_security(self) -> "Settings":
        from streams.kafka_security import KafkaSecurityError

        try:
            security = self.kafka_security()
        except KafkaSecurityError as exc:
            raise ValueError(str(exc)) from None
        if security.protocol != "PLAINTEXT" and not self.kafka_broker:
            raise ValueError(f"EW_KAFKA_SECURITY_PROTOCOL={security.protocol} needs EW_KAFKA_BROKER: the embedded "
                             "Tansu broker supports no TLS or SASL")
        return self

    def kafka_security(self) -> "KafkaSecurity":
        """TLS and SASL options for every Kafka client (streams/kafka_security.py)."""
        from streams.kafka_security import KafkaSecurity

        return KafkaSecurity(self.kafka_security_protocol, self.kafka_sasl_mechanism, self.kafka_sasl_username,
                             self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None,
                             self.kafka_ssl_cafile)

    def kafka_env(self) -> dict[str, str]:
        """The Kafka security settings as ``EW_`` variables, for the processes a stack starts."""
        env = {"EW_KAFKA_SECURITY_PROTOCOL": self.kafka_security_protocol}
        for name, value in (("EW_KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                            ("EW_KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                            ("EW_KAFKA_SASL_PASSWORD",
                             self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None),
                            ("EW_KAFKA_SSL_CAFILE", str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)):
            if value:
                env[name] = value
        return env

    @field_validator("api_tokens")
    @classmethod
    def _tokens(cls, value: str) -> str:
        parse_api_tokens(value)  # refuse a bad entry at start-up, not at the first request
        return value

    def tokens(self) -> dict[str, str | None]:
        """Token → area scope (None = all areas)."""
        return parse_api_tokens(self.api_tokens)


TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")
"""RFC 6750's b64token: what a bearer token may hold"""


def parse_api_tokens(text: str) -> dict[str, str | None]:
    """``EW_API_TOKENS`` → token → area scope (None = every area); strict, naming the entry (never the token).

    Why strict: ``tok:`` used to mean every area, ``tok:330110001,tok`` silently
    dropped the scope, and ``tok:33011_`` became a LIKE pattern spanning two
    counties (issue #19).

    >>> parse_api_tokens("ops, street-1:330110001")
    {'ops': None, 'street-1': '330110001'}
    >>> parse_api_tokens("tok:33011_")
    Traceback (most recent call last):
    ...
    ValueError: entry 1: area scope '33011_' is not an area code: area code must be digits, got '33011_'
    """
    out: dict[str, str | None] = {}
    where: dict[str, int] = {}
    if not text.strip():
        return out
    for n, item in enumerate(text.split(","), start=1):
        item = item.strip()
        if not item:
            raise ValueError(f"entry {n} is empty (two commas in a row, or one at the end)")
        token, colon, area = item.partition(":")
        if not TOKEN.fullmatch(token):
            raise ValueError(f"entry {n}: a token must be letters, digits and ._~+/=- only, and not empty")
        if colon and not area:
            raise ValueError(f"entry {n}: empty area scope after ':' (leave out the ':' for a token that sees "
                             "every area)")
        if colon and (problem := area_problem(area)):
            raise ValueError(f"entry {n}: area scope {area[:20]!r} is not an area code: {problem}")
        if token in out:
            raise ValueError(f"entry {n}: the same token as entry {where[token]}; give each token once")
        out[token], where[token] = area or None, n
    return out


def describe_settings_error(exc: ValidationError) -> str:
    """'EW_NAME: what is wrong' for each error, without the value (it may be a token or a password)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"EW_{'_'.join(str(p) for p in err['loc']).upper()}: {message}" if err["loc"] else message)
    return "; ".join(parts)


@lru_cache
def get_settings() -> Settings:
    return Settings()
