"""`journey run`'s partners: the simulated agencies' desk, and what they were told.

The desk (`journey desk`, journey_simulator/desk.py) subscribes every partner agency to
the flags service's webhooks before the simulation, and acknowledges flags as each
agency's calibrated habit says. After the run, the report says per agency type how many
flags it was told about, how many it acknowledged, and the median time from a flag's
raise to its acknowledgement, measured as an analyst would: from the
`uk.nrm.flag.acknowledged` events on journey.flag-acknowledgements.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import TopicPartition

from journey_cli.devstack import StackError
from journey_platform.contracts import Contracts
from journey_platform.envelope import decode_or_reason
from journey_platform.kafka import consumer_lag, read_to_end

DESK_PORT = 8090
FLAGS_GROUP = "flags-fold"  # the flags service's consumer group (<service>-fold)
ACKNOWLEDGEMENTS = "journey.flag-acknowledgements"


def desk_arguments(flags_url: str, summary: Path) -> list[str]:
    return ["desk", "--flags-url", flags_url, "--port", str(DESK_PORT), "--summary", str(summary)]


def wait_subscribed(summary: Path, alive: Callable[[], None], within: float = 60) -> None:
    """The desk writes its summary once every agency has subscribed."""
    deadline = time.monotonic() + within
    while not summary.is_file():
        alive()
        if time.monotonic() > deadline:
            raise StackError(f"the desk did not subscribe within {within:.0f}s")
        time.sleep(0.2)


def wait_told(
    bootstrap: str,
    contracts: Contracts,
    flags_database: str,
    summary: Path,
    alive: Callable[[], None],
    within: float = 600,
) -> None:
    """Until the flags service has read every flag, every webhook delivery has been made,
    and the desk's acknowledgements have all been published: twice in a row, 3 s apart,
    with nothing moving (the desk acknowledges a moment after each delivery)."""
    deadline = time.monotonic() + within
    topics = contracts.consumed_by("flags")
    last: tuple[Any, ...] | None = None
    while True:
        alive()
        lag, pending = asyncio.run(_flags_behind(bootstrap, topics, flags_database))
        now = (lag, pending, summary.read_text())
        if lag == 0 and pending == 0 and now == last:
            return
        if time.monotonic() > deadline:
            raise StackError(
                f"partners not told after {within:.0f}s: {lag} events to read, "
                f"{pending} webhook deliveries pending"
            )
        last = now
        time.sleep(3)


async def _flags_behind(bootstrap: str, topics: Sequence[str], database: str) -> tuple[int, int]:
    lag = await consumer_lag(bootstrap, FLAGS_GROUP, topics)
    conn = await asyncpg.connect(database)
    try:
        pending = await conn.fetchval(
            """SELECT count(*) FROM webhook_deliveries
               WHERE delivered_at IS NULL AND failed_at IS NULL"""
        )
    finally:
        await conn.close()
    return lag, int(pending)


def report(bootstrap: str, contracts: Contracts, summary: Path) -> str:
    """Per agency type: flags told (webhooks), acknowledged, and raise-to-acknowledgement."""
    told: dict[str, dict[str, int]] = json.loads(summary.read_text())
    waits, unreadable = asyncio.run(_hours_to_acknowledge(bootstrap, contracts))
    lines = [
        "Partners told about flags (webhooks) and acting on them (acknowledgements):",
        f"  {'agency type':30} {'told':>7} {'acknowledged':>13} {'median hours to act':>20}",
    ]
    for kind, counts in told.items():
        hours = waits.get(kind, [])
        median = f"{statistics.median(hours):.1f}" if hours else "-"
        lines.append(
            f"  {kind:30} {counts.get('told_raised', 0):>7,} {len(hours):>13,} {median:>20}"
        )

    def total(field: str) -> int:
        return sum(c.get(field, 0) for c in told.values())

    lines.append(
        f"  acknowledgements refused because the flag was retracted first: "
        f"{total('retracted_first')}; failed: {total('failed')}; deliveries whose "
        f"signature did not verify: {total('refused')}"
    )
    if unreadable:
        lines.append(f"  acknowledgements not readable (not the contract): {unreadable}")
    return "\n".join(lines)


async def _hours_to_acknowledge(
    bootstrap: str, contracts: Contracts
) -> tuple[dict[str, list[float]], int]:
    """Hours from raise to acknowledgement, per acknowledging agency type (the envelope
    time is when the agency acknowledged); and how many records were not readable."""
    waits: dict[str, list[float]] = defaultdict(list)
    unreadable = 0
    count = contracts.topics[ACKNOWLEDGEMENTS].partitions
    partitions = [TopicPartition(ACKNOWLEDGEMENTS, p) for p in range(count)]
    async for batch in read_to_end(bootstrap, partitions):
        for record in batch:
            event = decode_or_reason(record, contracts)
            if isinstance(event, str):
                unreadable += 1
                continue
            raised = datetime.fromisoformat(event.data["raised_at"])
            hours = (event.time - raised).total_seconds() / 3600
            waits[event.data["acknowledged_by"]].append(hours)
    return waits, unreadable
