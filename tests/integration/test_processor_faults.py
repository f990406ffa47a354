"""The default engine loses nothing on its own: faults during a run, and a zombie, against
the oracle. The harness starts workers; it never restarts one that crashed or wedged.

Each test prints what it injected and what it compared.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from journey_platform.contracts import Contracts
from journey_platform.kafka import ensure_topics, start_producer
from journey_processor.testing.replay import replay_order, send
from journey_simulator.eventlog import generate
from tests.integration.broker import kill, own_broker
from tests.integration.kafka_helpers import end_offsets
from tests.integration.processor_run import (
    JOURNEYS,
    OUTPUT_TOPICS,
    SOURCE_TOPICS,
    START,
    Workers,
    admin_client,
    assert_matches_oracle,
    published,
)

pytestmark = pytest.mark.integration

BROKER_DOWN_SECONDS = 10  # how long the fault lasts, not a wait for anything
# A wait fails when nothing has moved for this long: a wedge, not a slow machine.
STALL_SECONDS = 300


async def until(what: str, holds: Callable[[], bool], workers: Workers, within: float) -> None:
    """Poll until `holds`, failing if a worker died or the deadline passed."""
    deadline = time.monotonic() + within
    while not holds():
        workers.assert_alive()
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.2)


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


async def until_busy(workers: Workers, name: str, ends: dict[TopicPartition, int]) -> None:
    """Until the worker has committed on its own partitions and still has thousands of
    records waiting on them: it then goes from one transaction straight into the next,
    so a pause now almost surely stops it inside one (what a zombie test needs; a pause
    between batches, or during a rebalance, leaves nothing to fence).

    One admin client, a look every 50 ms: a worker drains its share of the log in
    seconds, and a look that connects anew each time (half a second or more on a busy
    machine) can miss the whole window, as two CI runs did."""
    deadline = time.monotonic() + 300
    async with admin_client(workers.kafka) as admin:
        before = await workers.committed(admin)
        while True:
            workers.assert_alive()
            held = set(workers.holds(name))
            now = await workers.committed(admin)
            mine = [tp for tp in now if tp.partition in held]
            advanced = any(now[tp] > before.get(tp, 0) for tp in mine)
            waiting = sum(ends.get(tp, 0) - now[tp] for tp in mine)
            if advanced and waiting > 2000:
                return
            # Said in full when it fails: which partitions, how far, what the worker logged.
            assert time.monotonic() < deadline, (
                f"worker {name} never got busy on its partitions: holds {sorted(held)}, "
                f"committed there since the start: {advanced}, waiting there: {waiting}; "
                f"its log ends:\n{workers.log(name)[-4000:]}"
            )
            await asyncio.sleep(0.05)


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
        ends = await end_offsets(kafka, SOURCE_TOPICS)
        await workers.wait_until_caught_up(ends, timeout=STALL_SECONDS)
        workers.assert_alive()
        assert set(workers.running) == {"a", "b"}, "every worker meant to run is running"
        found = await published(kafka, {e.subject for e in events}, outputs_since)
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
    # The whole log: worker a must still have thousands of records ahead when paused.
    events = generate(JOURNEYS, seed=12, start=START, contracts=contracts)
    items, now = replay_order(events, every=timedelta(days=1), partitions=6)
    # Transactions outlive the pause: the zombie wakes with its transaction still open
    # (b's restore waits for it), so what stops its writes is the broker's fencing.
    workers = Workers(kafka, tmp_path, transaction_timeout=120)
    await workers.prepare()
    outputs_since = await end_offsets(kafka, OUTPUT_TOPICS)
    workers.start("a")
    workers.start("b")
    try:
        both = lambda: bool(workers.holds("a") and workers.holds("b"))  # noqa: E731
        await until("both hold partitions", both, workers, 120)
        # Sent while both work (a log already there before they start left worker a
        # outside any transaction when paused, in 2 of 3 runs: nothing to fence).
        await send(producer, contracts, items)
        # Paused past its session timeout while it works: its partitions move to b...
        await until_busy(workers, "a", await end_offsets(kafka, SOURCE_TOPICS))
        workers.pause("a")
        await until(
            "b is given every partition", lambda: len(workers.holds("b")) == 6, workers, 120
        )
        # ...and when it wakes, whatever it still had in flight must be refused.
        workers.resume("a")
        ends = await end_offsets(kafka, SOURCE_TOPICS)
        await workers.wait_until_caught_up(ends, timeout=STALL_SECONDS)
        workers.assert_alive()
        found = await published(kafka, {e.subject for e in events}, outputs_since)
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
