"""A small simulated cohort through the real partner services, in simulated time."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from journey_api.auth import SCOPES
from journey_platform.contracts import Contracts
from journey_platform.envelope import decode
from journey_simulator import truth
from journey_simulator.driver import KafkaClock, drive
from journey_simulator.planner import plan_cohort
from tests.integration.kafka_helpers import Record, end_offsets, read_all
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)
JOURNEY_TOPICS = ("nrm.identification", "nrm.support", "nrm.criminal-justice")


async def _records_of(
    kafka: str,
    topics: tuple[str, ...],
    since: dict[TopicPartition, int],
    journeys: set[str],
    wanted: int,
) -> list[Record]:
    """Poll the topics (from `since`) until `wanted` records of `journeys` are there: the
    services' outbox relays publish a moment after the APIs answer."""
    deadline = time.monotonic() + 60
    while True:
        kept = [
            record
            for topic in topics
            for record in await read_all(kafka, topic, since)
            if record.key.decode() in journeys
        ]
        if len(kept) >= wanted or time.monotonic() > deadline:
            return kept
        await asyncio.sleep(0.2)


async def test_a_small_cohort_runs_through_the_apis_in_simulated_time(
    partner_services: dict[str, RunningService],
    tokens: Tokens,
    kafka: str,
    contracts: Contracts,
    producer: AIOKafkaProducer,
    tmp_path: Path,
) -> None:
    since = await end_offsets(kafka, [*JOURNEY_TOPICS, "journey.clock"])
    run_tag = uuid.uuid4().hex[:8]
    cohort = plan_cohort(20, seed=4, start=START, end=END, run_tag=run_tag)
    planned = {j.key: j for j in cohort.journeys}

    def token_for(agency: str) -> str:
        return tokens.signer.mint(agency_id=agency, scopes=sorted(SCOPES))

    journey_ids, statistics = await drive(
        cohort,
        urls={name: service.url for name, service in partner_services.items()},
        token_for=token_for,
        clock=KafkaClock(producer, contracts),
        run_tag=run_tag,
        show_progress=False,
    )

    # Every planned request was answered 2xx (the driver raises on anything else).
    assert statistics.requests - statistics.retries_not_known == cohort.requests > 20
    assert set(journey_ids) == set(planned)
    assert len(set(journey_ids.values())) == len(planned)

    path = tmp_path / "truth.json"
    truth.write(truth.document(cohort, journey_ids, run_tag=run_tag, statistics={}), path)
    written = json.loads(path.read_text())
    assert written["journeys"] == 20
    assert set(written["truth"]) == set(journey_ids.values())
    assert written["final_tick"] == "2025-07-01T00:00:00Z"
    for journey_id, entry in written["truth"].items():
        assert entry["injected"] == dict(planned[entry["person"]].injected), journey_id

    # The events carry the simulated recorded times the requests named, not the wall clock.
    key_of = {journey: key for key, journey in journey_ids.items()}
    records = await _records_of(kafka, JOURNEY_TOPICS, since, set(key_of), cohort.requests)
    assert len(records) >= cohort.requests
    recorded: dict[str, Counter[tuple[str, datetime]]] = {}
    for record in records:
        event = decode(
            topic=record.topic,
            key=record.key,
            value=record.value,
            headers=record.headers,
            contracts=contracts,
        )
        assert START <= event.time <= event.recorded_time <= END, event
        recorded.setdefault(key_of[event.subject], Counter())[
            (event.type, event.recorded_time)
        ] += 1
    for key, plan in planned.items():
        expected = Counter((a.event, a.at) for a in plan.actions)
        assert not expected - recorded[key], key  # each planned write, at its simulated time

    # The clock ticked every simulated day to every partition, the last at the window's end.
    ticks = [
        decode(topic=r.topic, key=r.key, value=r.value, headers=r.headers, contracts=contracts)
        for r in await read_all(kafka, "journey.clock", since)
    ]
    ours = [t for t in ticks if t.source == "journey-simulator" and START < t.time <= END]
    finals = {t.data["partition"] for t in ours if t.time == END}
    assert finals == set(range(contracts.topics["journey.clock"].partitions))
    assert len(ours) >= statistics.ticks * len(finals)
    assert all(t.data["mode"] == "simulated" for t in ours)
