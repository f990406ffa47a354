"""A broker that runs as production would (SASL_SSL, SCRAM-SHA-512, ACLs from the topic
catalogue) lets each service do what the catalogue says and nothing else.

The broker is the test's own (`journey devstack up --kafka-security sasl_ssl` starts the
same one), so this runs whatever the session's broker is.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from aiokafka.errors import KafkaError as AIOKafkaError
from confluent_kafka import Consumer, KafkaError
from pydantic import SecretStr

from journey_cli.devstack.kafka import LocalKafka
from journey_cli.devstack.kafkasec import BrokerSecurity
from journey_platform.contracts import Contracts
from journey_platform.kafka import client_options, librdkafka_options
from tests.integration.broker import own_broker, prepare

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, contracts: Contracts) -> Iterator[LocalKafka]:
    broker = own_broker(tmp_path_factory.mktemp("secured"), security="sasl_ssl")
    try:
        prepare(broker, contracts)
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def principals(broker: LocalKafka) -> BrokerSecurity:
    assert broker.secured
    return broker.secured


@pytest.fixture
async def as_support(
    broker: LocalKafka, principals: BrokerSecurity
) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap,
        request_timeout_ms=10_000,
        **client_options(principals.security("support")),
    )
    await producer.start()
    yield producer
    await producer.stop()


async def test_support_cannot_write_the_identification_topic(
    as_support: AIOKafkaProducer,
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await as_support.send_and_wait("nrm.identification", b"forged", key=b"journey")


async def test_support_writes_its_own_topic(as_support: AIOKafkaProducer) -> None:
    written = await as_support.send_and_wait("nrm.support", b"{}", key=b"journey")
    assert written.offset >= 0


async def test_a_consumer_reads_what_it_consumes(
    broker: LocalKafka, principals: BrokerSecurity
) -> None:
    referral = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, **client_options(principals.security("referral"))
    )
    await referral.start()
    try:
        marker = uuid.uuid4().hex.encode()
        written = await referral.send_and_wait("nrm.identification", marker, key=b"journey")
    finally:
        await referral.stop()
    support = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=f"support-acl-test-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        **client_options(principals.security("support")),
    )
    await support.start()
    try:
        identification = TopicPartition("nrm.identification", written.partition)
        support.assign([identification])
        support.seek(identification, written.offset)
        record = await asyncio.wait_for(support.getone(), timeout=30)
        assert record.value == marker
        await support.commit()  # its own consumer group
    finally:
        await support.stop()


def test_a_consumer_is_refused_a_topic_it_does_not_consume(
    broker: LocalKafka, principals: BrokerSecurity
) -> None:
    """The processor's principal (its confluent-kafka client) subscribing to the partners'
    flag acknowledgements, which the catalogue does not give it."""
    processor = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "journey-processor-acl-test",
            **librdkafka_options(principals.security("journey-processor")),
        }
    )
    try:
        processor.subscribe(["journey.flag-acknowledgements"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = processor.poll(0.5)
            if message is not None:
                error = message.error()
                assert error is not None, "a record from a topic the processor may not read"
                assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
                return
        raise AssertionError("the broker neither refused nor answered within 30 s")
    finally:
        processor.close()


async def test_a_client_without_credentials_is_refused(broker: LocalKafka) -> None:
    anonymous = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=5_000)
    with pytest.raises(KafkaConnectionError):
        await anonymous.start()
    await anonymous.stop()


async def test_a_wrong_password_is_refused(broker: LocalKafka, principals: BrokerSecurity) -> None:
    guessed = principals.security("referral").model_copy(
        update={"sasl_password": SecretStr("guessed-" + uuid.uuid4().hex)}
    )
    intruder = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, request_timeout_ms=5_000, **client_options(guessed)
    )
    with pytest.raises(AIOKafkaError):
        await intruder.start()
    await intruder.stop()


def test_each_service_gets_its_own_credentials_file(principals: BrokerSecurity) -> None:
    support = principals.principal_env("support")
    assert support.stat().st_mode & 0o077 == 0  # owner only: it holds a password
    assert principals.security("support").sasl_username == "support"
    assert principals.security("support") != principals.security("referral")
    assert not Path(principals.folder / "principals" / "any consumer.env").exists()
