"""The default engine loses nothing on its own: faults during a run, and a zombie, against
the oracle. The harness starts workers; it never restarts one that crashed or wedged.

Each test prints what it injected and what it compared.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.kafka import ensure_topics, start_producer
from journey_processor.testing.replay import replay_order, send
from journey_simulator.eventlog import generate
from tests.integration.broker import kill, own_broker
from tests.integration.kafka_helpers import end_offsets, transaction_open
from tests.integration.processor_run import (
    JOURNEYS,
    OUTPUT_TOPICS,
    SOURCE_TOPICS,
    START,
    Published,
    Workers,
    assert_matches_oracle,
    published,
)

pytestmark = pytest.mark.integration

BROKER_DOWN_SECONDS = 10  # how long the fault lasts, not a wait for anything
# A wait fails when nothing has moved for this long: a wedge, not a slow machine.
STALL_SECONDS = 300


async def until(
    what: str,
    holds: Callable[[], bool | Awaitable[bool]],
    workers: Workers,
    within: float = 120,
) -> None:
    """Poll until `holds` (a plain or an asynchronous condition), failing if a worker
    died or the deadline passed."""
    deadline = time.monotonic() + within
    while not await _answer(holds()):
        workers.assert_alive()
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.2)


async def _answer(answer: bool | Awaitable[bool]) -> bool:
    return await answer if inspect.isawaitable(answer) else answer


async def published_once_caught_up(
    workers: Workers, kafka: str, events: list[Event], since: dict[TopicPartition, int]
) -> Published:
    """What the group published about `events`, once it has read all that was sent,
    with every worker still alive."""
    ends = await end_offsets(kafka, SOURCE_TOPICS)
    await workers.wait_until_caught_up(ends, timeout=STALL_SECONDS)
    workers.assert_alive()
    return await published(kafka, {e.subject for e in events}, since)


async def progress(workers: Workers, start: int, total: int) -> float:
    """The share of the log the group has committed."""
    return (sum((await workers.committed()).values()) - start) / total


async def until_progress(workers: Workers, start: int, total: int, share: float) -> None:
    """Until the group has committed `share` of the log; fails only if it stops moving."""
    last, moved_at = -1.0, time.monotonic()
    while (done := await progress(workers, start, total)) < share:
        workers.assert_alive()
        if done != last:
            last, moved_at = done, time.monotonic()
        assert time.monotonic() - moved_at < STALL_SECONDS, (
            f"the group stopped at {done:.0%} of the log, short of {share:.0%}"
        )
        await asyncio.sleep(0.2)


async def test_kills_rebalances_and_a_broker_bounce_lose_nothing(
    contracts: Contracts, tmp_path: Path
) -> None:
    broker = own_broker(tmp_path)
    kafka = broker.bootstrap
    producer: AIOKafkaProducer | None = None
    workers = Workers(kafka, tmp_path)
    try:
        await ensure_topics(kafka, contracts)
        producer = await start_producer(kafka, "fault-test")
        events = generate(JOURNEYS, seed=11, start=START, contracts=contracts)
        items, now = replay_order(events, every=timedelta(days=1), partitions=6)
        await workers.prepare()
        start = sum((await workers.committed()).values())
        outputs_since = await end_offsets(kafka, OUTPUT_TOPICS)
        quarter = len(items) // 4
        chunks = [items[i * quarter : (i + 1) * quarter] for i in range(3)] + [items[3 * quarter :]]
        total = len(items)
        workers.start("a")
        workers.start("b")

        await send(producer, contracts, chunks[0])
        await until_progress(workers, start, total, 0.10)
        workers.kill("a")  # mid-batch: a quarter of the log is waiting
        workers.start("a")

        await send(producer, contracts, chunks[1])
        await until_progress(workers, start, total, 0.30)
        workers.start("c")  # rebalance: a third worker joins...
        await until("c holds partitions", lambda: bool(workers.holds("c")), workers, 120)
        await until_progress(workers, start, total, 0.40)
        workers.stop("c")  # ...and leaves again

        await send(producer, contracts, chunks[2])
        await until_progress(workers, start, total, 0.55)
        kill(broker)
        await asyncio.sleep(BROKER_DOWN_SECONDS)
        broker.start()

        await send(producer, contracts, chunks[3])
        found = await published_once_caught_up(workers, kafka, events, outputs_since)
        assert set(workers.running) == {"a", "b"}, "every worker meant to run is running"
    finally:
        workers.stop_all()
        if producer is not None:
            await producer.stop()
        broker.stop()

    aborted = sum(workers.log(n).count("transaction aborted") for n in ("a", "b", "c"))
    print(
        f"\ninjected: SIGKILL of worker a mid-batch (restarted), worker c joined and left "
        f"(2 rebalances), broker SIGKILLed for {BROKER_DOWN_SECONDS}s and restarted; "
        f"{aborted} transactions aborted and retried in-process; "
        f"compared {len(found.outcomes)} journeys ({len(events)} events, {total} records) "
        f"with the oracle; {found.repeats} outputs published twice"
    )
    assert found.repeats == 0, "exactly once: no output published twice"
    assert_matches_oracle(found, events, now)


async def test_a_zombie_worker_is_fenced_and_recovers_in_process(
    kafka: str, producer: AIOKafkaProducer, contracts: Contracts, tmp_path: Path
) -> None:
    events = generate(JOURNEYS, seed=12, start=START, contracts=contracts)
    items, now = replay_order(events, every=timedelta(days=1), partitions=6)
    # Transactions outlive the pause: the zombie wakes with its transaction still open
    # (b's restore waits for it), so what stops its writes is the broker's fencing.
    workers = Workers(kafka, tmp_path, transaction_timeout=120)
    await workers.prepare()
    outputs_since = await end_offsets(kafka, OUTPUT_TOPICS)
    workers.start("a", holdable=True)
    workers.start("b")
    try:
        both = lambda: bool(workers.holds("a") and workers.holds("b"))  # noqa: E731
        await until("both hold partitions", both, workers, 120)
        # Worker a is held inside a transaction, its outputs produced, and paused there
        # past its session timeout: its partitions move to b...
        workers.hold("a")
        await send(producer, contracts, items)
        await workers.until_held("a", within=STALL_SECONDS)
        workers.pause("a")
        workers.release("a")  # takes effect only when a runs again
        await until(
            "b is given every partition", lambda: len(workers.holds("b")) == 6, workers, 120
        )
        # ...and when it wakes, the transaction it had open must be refused.
        workers.resume("a")
        found = await published_once_caught_up(workers, kafka, events, outputs_since)
    finally:
        workers.stop_all()

    fenced = workers.log("a").count('"fenced": true')
    print(
        f"\ninjected: worker a SIGSTOPped past its session timeout, then SIGCONTed; "
        f"its transactions refused as fenced: {fenced}; compared {len(found.outcomes)} "
        f"journeys with the oracle; {found.repeats} outputs published twice"
    )
    assert fenced >= 1, "the zombie's late transaction was fenced"
    assert found.repeats == 0
    assert_matches_oracle(found, events, now)


async def test_a_transaction_that_outlives_its_timeout_is_redone_in_process(
    kafka: str, producer: AIOKafkaProducer, contracts: Contracts, tmp_path: Path
) -> None:
    """The broker aborts a transaction held open past its timeout and fences the producer;
    the worker finds out when it flushes, and must recover, not exit (it once did:
    confluent-kafka raised SystemError there)."""
    events = generate(200, seed=13, start=START, contracts=contracts)
    items, now = replay_order(events, every=timedelta(days=1), partitions=6)
    workers = Workers(kafka, tmp_path, transaction_timeout=5)
    await workers.prepare()
    outputs_since = await end_offsets(kafka, OUTPUT_TOPICS)
    outputs = list(outputs_since)  # every partition of the output topics
    workers.start("a", holdable=True)
    try:
        await until("a holds partitions", lambda: bool(workers.holds("a")), workers, 120)
        workers.hold("a")
        await send(producer, contracts, items)
        await workers.until_held("a", within=STALL_SECONDS)
        await until(
            "the broker sees the transaction open",
            lambda: transaction_open(kafka, outputs),
            workers,
        )
        await until(
            "the broker aborts it past its timeout",
            lambda: _not(transaction_open(kafka, outputs)),
            workers,
        )
        workers.release("a")
        found = await published_once_caught_up(workers, kafka, events, outputs_since)
    finally:
        workers.stop_all()

    aborted = workers.log("a").count("transaction aborted")
    print(
        f"\ninjected: worker a held inside a transaction past its 5 s timeout; "
        f"transactions aborted and redone in-process: {aborted}; compared "
        f"{len(found.outcomes)} journeys with the oracle; {found.repeats} outputs published twice"
    )
    assert aborted >= 1, "the timed-out transaction was aborted and redone"
    assert found.repeats == 0
    assert_matches_oracle(found, events, now)


async def _not(holds: Awaitable[bool]) -> bool:
    return not await holds
