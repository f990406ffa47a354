"""The journey processor on real Kafka: two workers, one SIGKILLed midway, against the oracle."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from journey.oracle import JourneyEvent, evaluate
from journey.outcomes import Happened, summarise
from journey.replay import replay_order, send
from journey.rules.catalogue import load
from journey.synthetic import generate
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from tests.integration.kafka_helpers import collect, end_offsets, header
from tests.integration.processor_run import SOURCE_TOPICS, Workers, published

pytestmark = pytest.mark.integration

JOURNEYS = int(os.environ.get("PROCESSOR_TEST_JOURNEYS", "2000"))
START = datetime(2024, 1, 1, tzinfo=UTC)
OUTPUT_TOPICS = ("journey.dropoffs", "journey.outcomes")


def oracle(
    contracts: Contracts, events: list[Event], now: datetime
) -> tuple[dict[str, set[Any]], dict[str, Any]]:
    rules = load(contracts).values()
    by_journey: dict[str, dict[str, Event]] = defaultdict(dict)
    for event in events:
        by_journey[event.subject][event.id] = event
    flags, outcomes = {}, {}
    for journey, log in by_journey.items():
        found = evaluate(
            rules,
            [JourneyEvent(e.id, e.type, e.time, e.recorded_time, e.data) for e in log.values()],
            now,
        )
        flags[journey] = {
            (f.rule_id, f.started_by, f.due_at, f.resolved_at, f.resolution) for f in found
        }
        outcome = summarise(
            [Happened(e.id, e.type, e.time, e.data) for e in log.values()],
            [f.rule_id for f in found if f.open],
        )
        outcomes[journey] = outcome | {"flags_raised": len(found)}
    return flags, outcomes


async def test_two_workers_one_killed_midway_end_where_the_oracle_does(
    kafka: str, producer: AIOKafkaProducer, contracts: Contracts, tmp_path: Path
) -> None:
    events = generate(JOURNEYS, seed=4, start=START, contracts=contracts)
    items, now = replay_order(events, every=timedelta(days=1), partitions=6)
    workers = Workers(kafka, tmp_path)
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
        await workers.wait_until_caught_up(await end_offsets(kafka, SOURCE_TOPICS), timeout=600)
    finally:
        workers.stop_all()

    print(f"workers restarted by the liveness check: {workers.restarts}")
    journeys = {e.subject for e in events}
    flags, outcomes = await published(kafka, journeys, outputs_since)
    expected_flags, expected_outcomes = oracle(contracts, events, now)
    assert sum(len(f) for f in expected_flags.values()) > JOURNEYS, "the log raises flags"
    mismatched = [j for j in journeys if flags.get(j, set()) != expected_flags[j]]
    if mismatched:
        example = mismatched[0]
        published_only = sorted(flags.get(example, set()) - expected_flags[example])
        oracle_only = sorted(expected_flags[example] - flags.get(example, set()))
        raise AssertionError(
            f"{len(mismatched)} journeys differ, e.g. {example}: "
            f"published only {published_only}; oracle only {oracle_only}"
        )
    assert outcomes.keys() == journeys, "every journey has an outcome: no event lost"
    wrong = [j for j in journeys if outcomes[j] != expected_outcomes[j]]
    assert not wrong, f"{len(wrong)} outcomes differ, e.g. {outcomes[wrong[0]]}"


async def test_invalid_records_go_to_the_dead_letter_topic_and_processing_goes_on(
    kafka: str, producer: AIOKafkaProducer, contracts: Contracts, tmp_path: Path
) -> None:
    [referral, *_] = [
        e
        # A seed of its own per run: the journey is new to the topics, so an outcome for it
        # can only come from this run.
        for e in generate(3, seed=uuid.uuid4().int, start=START, contracts=contracts)
        if e.type == "uk.nrm.referral.submitted"
    ]
    workers = Workers(kafka, tmp_path)
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
