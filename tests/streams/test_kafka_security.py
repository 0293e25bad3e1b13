"""Broker TLS/SASL settings: validated, and passed to every Kafka client the project builds (issue #19).

No SASL broker runs here (Tansu supports none of it), so the evidence that a
client got the settings is the real broker refusing it: with SASL configured,
the same client that connects in PLAINTEXT can no longer bootstrap.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kafka.errors import KafkaError
from pydantic import ValidationError

from alerts_api.main import create_app
from earlywarn.settings import Settings, describe_settings_error
from streams.broker import ensure_topics
from tests.conftest import fresh_topics

SASL = dict(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="earlywarn-worker", kafka_sasl_password="pw-do-not-echo")
SYSTEM_CAS = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.mark.parametrize("change, needle", [
    ({"kafka_security_protocol": "SASL_SSL"}, "needs EW_KAFKA_SASL_MECHANISM, EW_KAFKA_SASL_USERNAME, "
                                              "EW_KAFKA_SASL_PASSWORD"),
    ({**SASL, "kafka_sasl_password": None}, "needs EW_KAFKA_SASL_PASSWORD"),
    ({"kafka_sasl_username": "u"}, "EW_KAFKA_SASL_USERNAME is set but EW_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
    ({"kafka_sasl_password": "pw-do-not-echo"}, "EW_KAFKA_SASL_PASSWORD is set but"),
    ({**SASL, "kafka_ssl_cafile": "/etc/hostname"}, "a CA file is used only with SSL or SASL_SSL"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/etc/hostname"}, "cannot load a CA bundle"),
    ({"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nonexistent/ca.pem"}, "cannot load a CA bundle"),
    ({"kafka_security_protocol": "TLS"}, "EW_KAFKA_SECURITY_PROTOCOL: Input should be"),
    ({**SASL, "kafka_sasl_mechanism": "GSSAPI"}, "EW_KAFKA_SASL_MECHANISM: Input should be"),
])
def test_inconsistent_security_settings_are_refused_naming_the_variable(change, needle):
    with pytest.raises(ValidationError) as err:
        Settings(kafka_broker="broker.example:9093", **change)
    message = describe_settings_error(err.value)
    assert needle in message and "pw-do-not-echo" not in message, message


def test_the_embedded_broker_refuses_security_settings():
    with pytest.raises(ValidationError) as err:
        Settings(**SASL)
    assert "the embedded Tansu broker supports no TLS or SASL" in describe_settings_error(err.value)


def test_tls_uses_the_ca_file_or_the_system_trust_store():
    system = Settings(kafka_broker="b:9093", kafka_security_protocol="SSL").kafka_security().ssl_context()
    assert system.verify_mode.name == "CERT_REQUIRED" and system.check_hostname
    if SYSTEM_CAS.exists():
        own = Settings(kafka_broker="b:9093", kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=SYSTEM_CAS,
                       **{k: v for k, v in SASL.items() if k != "kafka_security_protocol"}).kafka_security()
        assert own.aiokafka_options()["ssl_context"].get_ca_certs()


def test_the_faust_worker_gets_the_credentials():
    from streams.app import faust_settings

    settings = Settings(kafka_broker="b:9093", **SASL)
    creds = faust_settings(settings, "b:9093")["broker_credentials"]
    assert (creds.protocol.value, creds.mechanism.value, creds.username) == (
        "SASL_PLAINTEXT", "SCRAM-SHA-512", "earlywarn-worker")
    assert "broker_credentials" not in faust_settings(Settings(), "b:9093")
    tls = Settings(kafka_broker="b:9093", kafka_security_protocol="SASL_SSL",
                   **{k: v for k, v in SASL.items() if k != "kafka_security_protocol"})
    assert faust_settings(tls, "b:9093")["broker_credentials"].protocol.value == "SASL_SSL"


@pytest.mark.e2e
def test_the_admin_client_and_the_replay_producer_send_sasl_to_the_real_broker(kafka):
    from earlywarn.cli import _replay_producer

    [topic] = fresh_topics(kafka, "plain")
    ensure_topics(kafka, [topic])                              # PLAINTEXT: Tansu answers
    secured = Settings(kafka_broker=kafka, **SASL)
    start = time.monotonic()
    with pytest.raises(KafkaError):                            # SASL: Tansu has no SASL, the client cannot bootstrap
        ensure_topics(kafka, [topic + "-2"], security=secured.kafka_security(), bootstrap_timeout_ms=3000)
    _replay_producer(Settings(kafka_broker=kafka), kafka, bootstrap_timeout_ms=3000).close()
    with pytest.raises(KafkaError):
        _replay_producer(secured, kafka, bootstrap_timeout_ms=3000)
    assert time.monotonic() - start < 30


@pytest.mark.e2e
def test_the_alert_sink_sends_sasl_to_the_real_broker_and_says_so(kafka, tmp_path):
    settings = Settings(kafka_broker=kafka, database_url=f"sqlite:///{tmp_path / 'a.db'}", api_tokens="t",
                        sink_stall_seconds=1, **SASL)
    app = create_app(settings, broker=kafka)
    assert app.state.sink.kafka_options["sasl_mechanism"] == "SCRAM-SHA-512"
    with TestClient(app) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = client.get("/healthz")
            if r.status_code == 503:
                break
            time.sleep(0.3)
        body = r.json()
    assert r.status_code == 503 and "alert sink stuck" in body["reason"], body
    assert "broker:" in body["reason"] and "pw-do-not-echo" not in r.text
