"""The faust engine on real Kafka: two workers, one SIGKILLed midway, against the oracle;
and, on both engines, unreadable records go to the dead-letter topic.

The default engine's harder proof (kills, rebalances, a broker bounce, a zombie) is in
test_processor_faults.py.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from journey_platform.contracts import Contracts
from journey_processor.testing.replay import replay_order, send
from journey_simulator.eventlog import generate
from tests.integration.kafka_helpers import collect, end_offsets, header
from tests.integration.processor_run import (
    JOURNEYS,
    OUTPUT_TOPICS,
    SOURCE_TOPICS,
    START,
    Workers,
    assert_matches_oracle,
    published,
)

pytestmark = pytest.mark.integration


async def test_two_faust_workers_one_killed_midway_end_where_the_oracle_does(
    kafka: str, producer: AIOKafkaProducer, contracts: Contracts, tmp_path: Path
) -> None:
    events = generate(JOURNEYS, seed=4, start=START, contracts=contracts)
    items, now = replay_order(events, every=timedelta(days=1), partitions=6)
    workers = Workers(kafka, tmp_path, engine="faust")
    await workers.prepare()
    started_at = sum((await workers.committed()).values())
    outputs_since = await end_offsets(kafka, OUTPUT_TOPICS)
    workers.start("a")
    workers.start("b")
    try:
        half = len(items) // 2
        await send(producer, contracts, items[:half])
        # Kill a worker once the group has committed some of the first half, so that it
        # dies holding state, uncommitted offsets and unflushed outputs.
        deadline = time.monotonic() + 120
        while sum((await workers.committed()).values()) <= started_at:
            assert time.monotonic() < deadline, "the workers never committed anything"
            workers.assert_alive()
            await asyncio.sleep(0.2)
        workers.kill("a")
        await send(producer, contracts, items[half:])
        workers.start("a")
        await workers.wait_until_caught_up(await end_offsets(kafka, SOURCE_TOPICS), timeout=300)
    finally:
        workers.stop_all()

    print(f"faust workers restarted by the supervisor: {workers.restarts}")
    found = await published(kafka, {e.subject for e in events}, outputs_since)
    assert_matches_oracle(found, events, now)


@pytest.mark.parametrize("engine", ["kafka", "faust"])
async def test_invalid_records_go_to_the_dead_letter_topic_and_processing_goes_on(
    engine: str, kafka: str, producer: AIOKafkaProducer, contracts: Contracts, tmp_path: Path
) -> None:
    [referral, *_] = [
        e
        # A seed of its own per run: the journey is new to the topics, so an outcome for it
        # can only come from this run. Twenty journeys, because a single one may be an adult
        # who declines referral and so never has a referral submitted.
        for e in generate(20, seed=uuid.uuid4().int, start=START, contracts=contracts)
        if e.type == "uk.nrm.referral.submitted"
    ]
    workers = Workers(kafka, tmp_path, engine=engine)
    await workers.prepare()
    workers.start("a")
    try:
        garbage_key = referral.subject.encode()
        await producer.send_and_wait("nrm.identification", b"\x00not an event", key=garbage_key)
        await send(producer, contracts, [referral])
        dead = await collect(
            kafka,
            "journey.deadletter",
            until=lambda kept: bool(kept),
            keep=lambda r: header(r, "dlq_consumer_group") == workers.app_id,
            timeout=120,
        )
        outcome = await collect(
            kafka,
            "journey.outcomes",
            until=lambda kept: bool(kept),
            keep=lambda r: r.key == garbage_key,
            timeout=120,
        )
    finally:
        workers.stop_all()
    assert dead[0].value == b"\x00not an event"
    assert header(dead[0], "dlq_original_topic") == "nrm.identification"
    assert "envelope" in str(header(dead[0], "dlq_error"))
    assert json.loads(outcome[0].value)["milestones"]["referred"]
