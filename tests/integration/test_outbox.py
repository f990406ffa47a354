"""The transactional outbox on real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from journey_platform.contracts import Contracts, ContractViolation
from journey_platform.envelope import decode
from journey_platform.outbox import Outbox
from journey_platform.relay import OutboxRelay
from tests.integration.events import example_event
from tests.integration.kafka_helpers import collect, header

pytestmark = pytest.mark.integration

REFERRAL = "uk.nrm.referral.submitted"
CE_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_subject",
    "ce_time",
    "ce_dataschema",
    "ce_recordedtime",
    "ce_recordedby",
}


async def _business_table(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "CREATE TABLE referral (referral_id uuid PRIMARY KEY, journey_id text NOT NULL)"
    )


async def _unsent(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


async def test_event_written_in_a_transaction_reaches_kafka_with_envelope_and_trace(
    pool: asyncpg.Pool,
    kafka: str,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    spans: InMemorySpanExporter,
) -> None:
    await _business_table(pool)
    event = example_event(contracts, REFERRAL)
    with trace.get_tracer("test").start_as_current_span("POST /v1/referrals") as request_span:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO referral VALUES ($1, $2)", event.data["referral_id"], event.subject
            )
            await Outbox(contracts).add(conn, event)
    request_trace = request_span.get_span_context().trace_id

    stored = await pool.fetchval(
        "SELECT traceparent FROM outbox WHERE event_id = $1::uuid", event.id
    )
    assert stored is not None and stored.split("-")[1] == format(request_trace, "032x")

    assert await OutboxRelay(pool, producer).drain() == 1
    assert await _unsent(pool) == 0

    [record] = await collect(
        kafka, "nrm.identification", keep=lambda r: header(r, "ce_id") == event.id, until=bool
    )
    assert {name for name, _ in record.headers} >= CE_HEADERS
    assert record.key == event.subject.encode()
    received = decode(
        topic=record.topic,
        key=record.key,
        value=record.value,
        headers=record.headers,
        contracts=contracts,
    )
    assert received.type == REFERRAL and received.data == event.data
    assert received.time == event.time.replace(microsecond=event.time.microsecond)
    traceparent = header(record, "traceparent")
    assert traceparent is not None and traceparent.split("-")[1] == format(request_trace, "032x")
    publish_spans = [
        s
        for s in spans.get_finished_spans()
        if s.name == "nrm.identification publish" and s.context.trace_id == request_trace
    ]
    assert publish_spans, "the relay's publish span belongs to the request's trace"


async def test_rolled_back_transaction_publishes_nothing(
    pool: asyncpg.Pool, kafka: str, producer: AIOKafkaProducer, contracts: Contracts
) -> None:
    await _business_table(pool)
    outbox = Outbox(contracts)
    doomed = example_event(contracts, REFERRAL)
    with pytest.raises(RuntimeError, match="business rule"):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO referral VALUES ($1, $2)", doomed.data["referral_id"], doomed.subject
            )
            await outbox.add(conn, doomed)
            raise RuntimeError("business rule failed after the event was staged")
    marker = example_event(contracts, REFERRAL, journey_id=doomed.subject)
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, marker)

    assert await OutboxRelay(pool, producer).drain() == 1
    seen = await collect(
        kafka,
        "nrm.identification",
        keep=lambda r: header(r, "ce_id") in {doomed.id, marker.id},
        until=lambda kept: any(header(r, "ce_id") == marker.id for r in kept),
    )
    assert [header(r, "ce_id") for r in seen] == [marker.id]
    assert await pool.fetchval("SELECT count(*) FROM referral") == 0


async def test_invalid_event_is_refused_and_nothing_is_written(
    pool: asyncpg.Pool, contracts: Contracts
) -> None:
    await _business_table(pool)
    bad = example_event(contracts, REFERRAL, age_band="forty-one", full_name="Zebedee Example")
    with pytest.raises(ContractViolation) as refused:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO referral VALUES ($1, $2)", bad.data["referral_id"], bad.subject
            )
            await Outbox(contracts).add(conn, bad)
    message = str(refused.value)
    assert "age_band" in message and "full_name" in message
    assert "Zebedee" not in message and "forty-one" not in message  # the reason never echoes values
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0
    assert await pool.fetchval("SELECT count(*) FROM referral") == 0


def _start_relay(database: str, kafka: str, crash_marker: Path | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database, "KAFKA_BOOTSTRAP_SERVERS": kafka}
    if crash_marker:
        env["HANG_AFTER_PUBLISH"] = str(crash_marker)
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("relay_process.py"))], env=env
    )


async def test_relay_killed_between_publish_and_mark_redelivers_and_consumer_applies_once(
    database: str,
    pool: asyncpg.Pool,
    kafka: str,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    tmp_path: Path,
) -> None:
    from tests.integration.idempotent_consumer import run_effect_consumer

    event = example_event(contracts, REFERRAL)
    async with pool.acquire() as conn, conn.transaction():
        await Outbox(contracts).add(conn, event)

    marker = tmp_path / "published"
    relay = _start_relay(database, kafka, marker)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert relay.poll() is None, "relay exited early"
            assert time.monotonic() < deadline, "relay never published"
            await asyncio.sleep(0.05)
        os.kill(relay.pid, signal.SIGKILL)
    finally:
        relay.wait(timeout=30)
    assert await _unsent(pool) == 1, "killed before marking: the row is still unsent"

    restarted = _start_relay(database, kafka, None)
    try:
        deadline = time.monotonic() + 60
        while await _unsent(pool):
            assert time.monotonic() < deadline, "restarted relay never marked the row sent"
            await asyncio.sleep(0.05)
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)

    copies = await collect(
        kafka,
        "nrm.identification",
        keep=lambda r: header(r, "ce_id") == event.id,
        until=lambda kept: len(kept) >= 2,
    )
    assert len(copies) == 2, "published once before the crash and once after"

    deliveries, applied = await run_effect_consumer(
        pool, kafka=kafka, producer=producer, contracts=contracts, event_id=event.id, deliveries=2
    )
    assert deliveries == 2
    assert applied == 1


async def _rows(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox"))


async def _stage(pool: asyncpg.Pool, contracts: Contracts, count: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(count):
            await Outbox(contracts).add(conn, example_event(contracts, REFERRAL))


async def test_sent_rows_are_kept_for_the_retention_period_then_purged(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, contracts: Contracts
) -> None:
    keeping = OutboxRelay(pool, producer, retention=3600)
    expiring = OutboxRelay(pool, producer, retention=0)
    for _ in range(3):  # write, publish, purge: the table does not grow round after round
        await _stage(pool, contracts, 40)
        assert await keeping.drain() == 40
        assert await keeping.purge() == 0, "rows sent within the retention period are kept"
        assert await _rows(pool) == 40
        assert await expiring.purge() == 40
        assert await _rows(pool) == 0
    await _stage(pool, contracts, 1)
    assert await expiring.purge() == 0, "an unsent row is never purged"
    assert await _unsent(pool) == 1


async def test_running_relay_purges_what_it_sent(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, contracts: Contracts
) -> None:
    relay = OutboxRelay(pool, producer, poll_interval=0.05, retention=0, purge_every=0)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await _stage(pool, contracts, 25)
        deadline = time.monotonic() + 30  # the relay purges between backlog measurements
        while await _rows(pool) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await _rows(pool) == 0
    finally:
        stop.set()
        await running


async def test_a_woken_relay_publishes_at_once_not_at_its_next_poll(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, contracts: Contracts
) -> None:
    # A poll interval far longer than the test waits: only the wake can publish in time.
    relay = OutboxRelay(pool, producer, poll_interval=600)
    polls: list[int] = []
    publish_batch = relay.publish_batch

    async def noted() -> int:
        published = await publish_batch()
        polls.append(published)
        return published

    relay.publish_batch = noted  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        # An empty poll returned: the relay has begun its pause (nothing awaits between).
        deadline = time.monotonic() + 30
        while 0 not in polls:
            assert time.monotonic() < deadline, "the relay never polled"
            await asyncio.sleep(0.01)
        async with pool.acquire() as conn, conn.transaction():
            await Outbox(contracts).add(conn, example_event(contracts, REFERRAL))
        woken = time.monotonic()
        relay.wake()
        while await _unsent(pool):
            assert time.monotonic() - woken < 10, "the woken relay did not publish"
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await running
