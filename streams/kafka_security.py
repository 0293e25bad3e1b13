"""How every Kafka client the project builds authenticates to the broker (TLS, SASL).

Why one object: the Faust worker, the alert sink's aiokafka consumer and
producer, the kafka-python admin that creates topics, and the replay and demo
producers all reach the same broker; a setting that one of them missed would
leave it unauthenticated, or unable to connect (issue #19: the broker had no
authentication). Built from ``EW_KAFKA_SECURITY_PROTOCOL``,
``EW_KAFKA_SASL_MECHANISM``, ``EW_KAFKA_SASL_USERNAME``,
``EW_KAFKA_SASL_PASSWORD`` and ``EW_KAFKA_SSL_CAFILE``; an inconsistent set is
refused with the variable named, never the password. The embedded Tansu
broker supports none of it.

>>> KafkaSecurity().aiokafka_options()
{'security_protocol': 'PLAINTEXT'}
>>> KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-256", "worker", "s3cret").kafka_python_options()["sasl_mechanism"]
'SCRAM-SHA-256'
>>> KafkaSecurity("PLAINTEXT", username="worker")
Traceback (most recent call last):
...
streams.kafka_security.KafkaSecurityError: EW_KAFKA_SASL_USERNAME is set but EW_KAFKA_SECURITY_PROTOCOL is PLAINTEXT: SASL credentials are sent only with SASL_PLAINTEXT or SASL_SSL
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSecurityError(ValueError):
    """Broker security settings that do not fit together; the message names the variable."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    """CA bundle for SSL/SASL_SSL; None = the system's trust store"""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise KafkaSecurityError(f"EW_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}")
        if self.sasl:
            missing = [name for name, v in (("EW_KAFKA_SASL_MECHANISM", self.mechanism),
                                            ("EW_KAFKA_SASL_USERNAME", self.username),
                                            ("EW_KAFKA_SASL_PASSWORD", self.password)) if not v]
            if missing:
                raise KafkaSecurityError(f"EW_KAFKA_SECURITY_PROTOCOL={self.protocol} needs {', '.join(missing)}")
            if self.mechanism not in MECHANISMS:
                raise KafkaSecurityError(f"EW_KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}")
        else:
            for name, value in (("EW_KAFKA_SASL_MECHANISM", self.mechanism), ("EW_KAFKA_SASL_USERNAME", self.username),
                                ("EW_KAFKA_SASL_PASSWORD", self.password)):
                if value:
                    raise KafkaSecurityError(f"{name} is set but EW_KAFKA_SECURITY_PROTOCOL is {self.protocol}: "
                                             "SASL credentials are sent only with SASL_PLAINTEXT or SASL_SSL")
        if self.cafile is not None:
            if not self.tls:
                raise KafkaSecurityError(f"EW_KAFKA_SSL_CAFILE is set but EW_KAFKA_SECURITY_PROTOCOL is "
                                         f"{self.protocol}: a CA file is used only with SSL or SASL_SSL")
            self.ssl_context()  # unreadable or not a CA bundle: refuse now, not at the first connection

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verifying TLS context (hostname checked) from the CA file, or the system's trust store."""
        if not self.tls:
            return None
        try:
            return ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        except (OSError, ssl.SSLError) as exc:
            raise KafkaSecurityError(f"EW_KAFKA_SSL_CAFILE={self.cafile}: cannot load a CA bundle from it "
                                     f"({type(exc).__name__})") from None

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaConsumer`` / ``AIOKafkaProducer``."""
        out: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            out["ssl_context"] = self.ssl_context()
        if self.sasl:
            out |= {"sasl_mechanism": self.mechanism, "sasl_plain_username": self.username,
                    "sasl_plain_password": self.password}
        return out

    def kafka_python_options(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's ``KafkaProducer`` / ``KafkaConsumer`` / ``KafkaAdminClient``."""
        return self.aiokafka_options()  # kafka-python takes the same names

    def faust_credentials(self) -> Any:
        """``broker_credentials`` for the Faust app (None for PLAINTEXT)."""
        import faust

        if self.sasl:
            return faust.SASLCredentials(username=self.username, password=self.password, mechanism=self.mechanism,
                                         ssl_context=self.ssl_context())
        if self.tls:
            return faust.SSLCredentials(self.ssl_context())
        return None
