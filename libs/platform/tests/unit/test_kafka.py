from __future__ import annotations

import ssl
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from journey_platform.kafka import (
    UnsafeProducer,
    _described,
    assert_idempotent,
    client_options,
    librdkafka_options,
)
from journey_platform.settings import KafkaSecurity


async def test_a_producer_without_idempotence_is_refused() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", acks=1)
    with pytest.raises(UnsafeProducer, match="enable_idempotence=True and acks=all"):
        assert_idempotent(producer)


async def test_an_idempotent_acks_all_producer_passes() -> None:
    assert_idempotent(AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", enable_idempotence=True))


class JustCreated:
    """An admin client whose broker has no metadata yet for a topic it just created: the
    first answer is an error code and no partitions, as a broker just started gives."""

    def __init__(self) -> None:
        self.asked = 0

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        self.asked += 1
        if self.asked == 1:
            return [{"topic": n, "error_code": 5, "partitions": []} for n in names]
        return [{"topic": n, "error_code": 0, "partitions": [{"partition": 0}]} for n in names]


async def test_a_topic_without_metadata_yet_is_described_again() -> None:
    admin = JustCreated()
    [topic] = await _described(cast(Any, admin), ["journey.dropoffs"])
    assert topic["partitions"] == [{"partition": 0}]
    assert admin.asked == 2


def test_unset_security_is_plaintext_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECURITY_PROTOCOL", "SASL_USERNAME", "SASL_PASSWORD", "SSL_CAFILE"):
        monkeypatch.delenv(f"KAFKA_{name}", raising=False)
    assert client_options() == {"security_protocol": "PLAINTEXT"}
    assert librdkafka_options() == {"security.protocol": "plaintext"}


def test_sasl_ssl_from_the_environment_gives_scram_credentials_and_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "support")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "not-a-real-password")
    monkeypatch.delenv("KAFKA_SSL_CAFILE", raising=False)
    options = client_options()
    assert isinstance(options.pop("ssl_context"), ssl.SSLContext)
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "support",
        "sasl_plain_password": "not-a-real-password",
    }
    assert librdkafka_options()["sasl.username"] == "support"


def test_sasl_without_credentials_says_what_is_missing() -> None:
    with pytest.raises(ValidationError, match="needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaSecurity(security_protocol="SASL_SSL")
