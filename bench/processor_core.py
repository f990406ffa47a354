"""The journey processor's engine-free core alone: records/s and state size, print JSON.

    uv run python bench/processor_core.py [--journeys 1000] [--seed 1]

No Kafka, no faust, no decoding: a generated log is put in replay order (recorded order
with a clock tick per partition every simulated day) and turned into JourneyEvents up
front, then only the core is timed: core/processor.py's JourneyProcessor, as every engine
runs it (write-back cache of decoded states, a heap of wakeups per partition), with the
changed states encoded once per batch of 2,000 records as the default engine does for its
changelog. Outputs are built but not validated against their contracts.

State size is the encoded state of each journey at the end of the log. Target on a
2-core machine: at least 20,000 records/s on 1,000 journeys.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.settings import find_schemas_dir
from journey_processor.core.events import JourneyEvent
from journey_processor.core.processor import CLOCK_PREFIX, JourneyProcessor
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import load
from journey_processor.testing.replay import replay_order
from journey_simulator.eventlog import generate

START = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 2000  # records per transaction in the default engine (PROCESSOR_BATCH_RECORDS)

# One replay item, decoded beforehand: (partition, journey id, event) or (partition, tick).
Item = tuple[int, str, JourneyEvent] | tuple[int, datetime]


def _partition(journey_id: str, partitions: int) -> int:
    # Any stable spread will do here: the bench never talks to Kafka.
    return zlib.crc32(journey_id.encode()) % partitions


def _items(journeys: int, seed: int, contracts: Contracts) -> list[Item]:
    events = generate(journeys, seed=seed, start=START, contracts=contracts)
    ordered, _ = replay_order(
        events, every=timedelta(days=1), partitions=contracts.journey_partitions
    )
    items: list[Item] = []
    for item in ordered:
        if isinstance(item, Event):
            event = JourneyEvent(item.id, item.type, item.time, item.recorded_time, item.data)
            items.append(
                (_partition(item.subject, contracts.journey_partitions), item.subject, event)
            )
        else:
            items.append(item)
    return items


def _run(items: list[Item], book: RuleBook) -> tuple[dict[bytes, bytes], int]:
    """Every item through the core the engines use, in batches of BATCH records as the
    default engine takes them (changed states encoded once a batch, as for its changelog);
    returns the latest encoded state of every key and how many outputs were built."""
    core = JourneyProcessor(book, lambda _partition, _key: None)
    for partition in {item[0] for item in items}:
        core.assign(partition, [])
    stored: dict[bytes, bytes] = {}
    published = 0
    for start in range(0, len(items), BATCH):
        for item in items[start : start + BATCH]:
            if len(item) == 3:
                published += len(core.apply(item[0], item[1], item[2], None))
            else:
                published += len(core.tick(item[0], item[1]))
        for records in core.take_changes().values():
            stored.update(records)
    return stored, published


def measure_core(journeys: int = 1000, seed: int = 1) -> dict[str, Any]:
    """Records/s through the core alone, and the journey state's encoded size."""
    contracts = Contracts.load(find_schemas_dir())
    book = RuleBook.of(load(contracts).values())
    items = _items(journeys, seed, contracts)
    began = time.perf_counter()
    stored, published = _run(items, book)
    seconds = time.perf_counter() - began
    sizes = sorted(len(v) for k, v in stored.items() if not k.startswith(CLOCK_PREFIX))
    return {
        "journeys": journeys,
        "records": len(items),
        "events": sum(1 for item in items if len(item) == 3),
        "published": published,
        "seconds": round(seconds, 3),
        "records_per_s": round(len(items) / seconds),
        "state_bytes_mean": round(statistics.fmean(sizes)),
        "state_bytes_p95": sizes[int(0.95 * (len(sizes) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--journeys", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure_core(args.journeys, args.seed)))


if __name__ == "__main__":
    main()
