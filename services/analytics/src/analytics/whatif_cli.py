"""`journey whatif`: replay the stored history under other thresholds (analytics.whatif).

    journey whatif --override rules.yaml --from 2024-01-01 --to 2025-06-30

`rules.yaml` maps rule ids to new durations, as a deployment's overrides do
(`reasonable-grounds-overdue: {working_days: 10}`); `--deployed FILE` names the
deployment's own overrides (PROCESSOR_RULE_OVERRIDES), if any. The journeys are those
whose first event falls in the period.

The history is read from the topics: the journey topics, the clock's ticks and the flags
actually published (journey.dropoffs), with a plain reader and no consumer group. The
analytics database keeps no event data (only the envelope: the rules read fields such as
a decision's outcome), so the topics are the only store of the history that can be
replayed; the timing of both the read and the replay is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from analytics.disclosure import DEFAULT_THRESHOLD
from analytics.period import Period
from analytics.report import Notes, aligned
from analytics.whatif import answer, differences, flags_of, replay
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, decode_or_reason
from journey_platform.kafka import client_options, read_to_end
from journey_platform.settings import find_schemas_dir
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import load

JOURNEY_TOPICS = ("nrm.identification", "nrm.support", "nrm.criminal-justice")
CLOCK, FLAGS = "journey.clock", "journey.dropoffs"


@dataclass
class History:
    events: list[Event]
    ticks: list[datetime]
    flags: list[Event]


async def _read(bootstrap: str, topics: Sequence[str], contracts: Contracts) -> list[Event]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    ]
    events: list[Event] = []
    async for batch in read_to_end(bootstrap, partitions):
        for record in batch:
            decoded = decode_or_reason(record, contracts)
            if isinstance(decoded, Event):  # an unreadable record is the dead letters' business
                events.append(decoded)
    return events


async def history(
    bootstrap: str, contracts: Contracts, period: Period, until: datetime | None = None
) -> History:
    """The journeys whose first event falls in the period: their events, the clock's ticks
    from the first of them (up to `until`, if given), and the flags actually published."""
    events = await _read(bootstrap, JOURNEY_TOPICS, contracts)
    first: dict[str, datetime] = {}
    for event in events:
        first[event.subject] = min(first.get(event.subject, event.time), event.time)
    start, end = period.bounds()
    chosen = {
        j for j, t in first.items() if (start is None or t >= start) and (end is None or t < end)
    }
    ticks = sorted({e.time for e in await _read(bootstrap, [CLOCK], contracts)})
    earliest = min((first[j] for j in chosen), default=None)
    return History(
        events=[e for e in events if e.subject in chosen],
        ticks=[
            t
            for t in ticks
            if earliest is not None and t >= earliest and (until is None or t <= until)
        ],
        flags=[e for e in await _read(bootstrap, [FLAGS], contracts) if e.subject in chosen],
    )


def book(contracts: Contracts, deployed: Path | None, override: Path) -> RuleBook:
    """The catalogue under the deployment's thresholds, then the override's."""
    overrides: dict[str, Any] = yaml.safe_load(deployed.read_text()) or {} if deployed else {}
    overrides |= yaml.safe_load(override.read_text()) or {}
    return RuleBook.of(load(contracts, overrides=overrides).values())


def text(result: dict[str, Any], timing: dict[str, float]) -> str:
    notes = Notes(result["labels"])
    fields = ("actual", "whatif", "added", "removed", "earlier", "later", "whatif_resolved")
    rows = [[r["rule_id"], *(notes.cell(r[f], f) for f in fields)] for r in result["rules"]]
    headers = ["Rule", "Flagged", "What if", "Added", "Removed", "Earlier", "Later", "Resolved"]
    affected = notes.cell(result["journeys_affected"], "journeys_affected")
    lines = [
        aligned(headers, rows),
        f"journeys affected: {affected}",
        f"read the history from the topics in {timing['read']:.1f} s "
        f"({timing['events']:,.0f} events, {timing['ticks']:,.0f} ticks); "
        f"replayed in {timing['replay']:.1f} s",
    ]
    return notes.under("\n".join(lines))


async def _run(args: argparse.Namespace) -> int:
    contracts = Contracts.load(find_schemas_dir())
    chosen = book(contracts, args.deployed, args.override)
    began = time.perf_counter()
    found = await history(args.bootstrap, contracts, Period(args.start, args.end), args.until)
    read = time.perf_counter()
    rules = differences(flags_of(found.flags), replay(found.events, found.ticks, chosen))
    done = time.perf_counter()
    timing = {
        "read": read - began,
        "replay": done - read,
        "events": len(found.events),
        "ticks": len(found.ticks),
    }
    print(text(answer(rules, threshold=args.threshold), timing))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--override", type=Path, required=True, help="rule id -> new within")
    parser.add_argument("--deployed", type=Path, help="the deployment's own overrides, if any")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, metavar="YYYY-MM-DD")
    parser.add_argument(
        "--until",
        type=datetime.fromisoformat,
        help="replay the clock up to this time (default: the last tick on journey.clock)",
    )
    parser.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka (default KAFKA_BOOTSTRAP_SERVERS)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (OSError, ValueError) as error:
        print(f"journey whatif: {error}", file=sys.stderr)
        return 1
