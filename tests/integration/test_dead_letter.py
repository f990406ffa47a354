"""Bad records on a real topic go to the dead-letter topic and the consumer keeps going."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from journey_platform.consumer import EventConsumer
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode
from journey_platform.kafka import client_options
from tests.integration.events import example_event, new_journey_id
from tests.integration.kafka_helpers import Record, collect, header, start_at_end

pytestmark = pytest.mark.integration

TOPIC = "nrm.support"


async def test_malformed_records_are_dead_lettered_with_reason_and_the_next_is_processed(
    kafka: str, contracts: Contracts
) -> None:
    journey = new_journey_id()
    valid = example_event(contracts, "uk.nrm.support.accepted", journey_id=journey)
    wire = encode(valid, contracts)
    # Schema-breaking under a true envelope: a name where the support case id belongs.
    impostor = encode(
        example_event(contracts, "uk.nrm.support.accepted", journey_id=journey), contracts
    )
    impostor_body = {**json.loads(impostor.value), "support_case_id": "Zebedee Example"}

    # The consumer's group starts where the topic ends now: on a broker that already holds
    # millions of records it would otherwise read them all first.
    group = f"dlq-test-{uuid.uuid4().hex}"
    await start_at_end(kafka, group, TOPIC)
    # A plain client, as a misbehaving integration would be: no envelope checks at all.
    plain = AIOKafkaProducer(bootstrap_servers=kafka, **client_options())
    await plain.start()
    try:
        garbage = await plain.send_and_wait(TOPIC, key=journey.encode(), value=b"\x00\xffnot json")
        schema_breaking = await plain.send_and_wait(
            TOPIC,
            key=journey.encode(),
            value=json.dumps(impostor_body).encode(),
            headers=impostor.headers,
        )
        await plain.send_and_wait(TOPIC, key=wire.key, value=wire.value, headers=wire.headers)
    finally:
        await plain.stop()

    handled: list[Event] = []

    async def handler(event: Event) -> None:
        if event.subject == journey:
            handled.append(event)

    dlq_producer = AIOKafkaProducer(
        bootstrap_servers=kafka, enable_idempotence=True, acks="all", **client_options()
    )
    await dlq_producer.start()
    stop = asyncio.Event()
    consumer = EventConsumer(
        bootstrap_servers=kafka,
        group_id=group,
        topics=[TOPIC],
        contracts=contracts,
        handler=handler,
        producer=dlq_producer,
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        deadline = time.monotonic() + 60
        while not handled:
            assert not task.done(), "the consumer stopped on bad input"
            assert time.monotonic() < deadline, (
                "the valid record after the bad ones was never handled"
            )
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await dlq_producer.stop()

    assert [e.id for e in handled] == [valid.id]

    wanted = {
        (garbage.partition, garbage.offset),
        (schema_breaking.partition, schema_breaking.offset),
    }

    def from_this_test(record: Record) -> bool:
        return header(record, "dlq_consumer_group") == group and record.key == journey.encode()

    dead = await collect(
        kafka, "journey.deadletter", keep=from_this_test, until=lambda kept: len(kept) >= 2
    )
    assert {
        (
            int(header(r, "dlq_original_partition") or -1),
            int(header(r, "dlq_original_offset") or -1),
        )
        for r in dead
    } == wanted
    assert all(header(r, "dlq_original_topic") == TOPIC for r in dead)
    reasons = {
        int(header(r, "dlq_original_offset") or -1): header(r, "dlq_error") or "" for r in dead
    }
    assert "envelope" in reasons[garbage.offset]
    assert "$.support_case_id: must satisfy format" in reasons[schema_breaking.offset]
    assert all("Zebedee" not in reason for reason in reasons.values())
    by_offset = {int(header(r, "dlq_original_offset") or -1): r for r in dead}
    assert by_offset[garbage.offset].value == b"\x00\xffnot json", "the original record, unchanged"

    # The group committed past the bad records: a restart would not meet them again.
    committed = await _committed(kafka, group, garbage.partition)
    assert committed is not None and committed > schema_breaking.offset


async def _committed(kafka: str, group: str, partition: int) -> int | None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka, group_id=group, enable_auto_commit=False, **client_options()
    )
    await reader.start()
    try:
        return await reader.committed(TopicPartition(TOPIC, partition))  # type: ignore[no-any-return]
    finally:
        await reader.stop()
