"""`journey whatif` on real Kafka: the history read from the topics, replayed under a
longer Reasonable Grounds deadline, compared with the flags actually published.

A hand-worked history in a February of its own (no bank holidays): 12 journeys decided 7
working days after referral (flagged under 5 working days, not under 10), 12 decided
after 15 (flagged either way, a week later), 4 decided after 2 (never flagged). The
flags "actually published" are the processor core's under the deployed thresholds, put
on journey.dropoffs as the processor would.
"""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from analytics.whatif import replay
from analytics.whatif_cli import _run
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_processor.core.clock import tick_event
from journey_processor.core.events import JourneyEvent
from journey_processor.core.processor import JourneyProcessor
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import load
from tests.integration.analytics_events import journey_event, publish
from tests.integration.events import new_journey_id

pytestmark = pytest.mark.integration


def first_monday_of_february(year: int) -> datetime:
    day = datetime(year, 2, 1, 9, tzinfo=UTC)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def history(contracts: Contracts, monday: datetime) -> list[Event]:
    events = []
    for after, count in ((9, 12), (21, 12), (2, 4)):  # calendar days: 7, 15, 2 working days
        for _ in range(count):
            journey = new_journey_id()
            events += [
                journey_event(contracts, "uk.nrm.referral.submitted", journey, monday),
                journey_event(
                    contracts,
                    "uk.nrm.reasonable-grounds.decided",
                    journey,
                    monday + timedelta(days=after),
                ),
            ]
    return [
        Event(type=e.type, subject=e.subject, time=e.time, data=e.data, source=e.source,
              recorded_by=e.recorded_by, recorded_time=e.time, id=str(uuid.uuid4()))
        for e in events
    ]  # fmt: skip


def published_flags(events: list[Event], ticks: list[datetime], book: RuleBook) -> list[Event]:
    """What the live processor would have put on journey.dropoffs."""
    core = JourneyProcessor(book, lambda _partition, _key: None)
    core.assign(0, [])
    items = sorted([(e.recorded_time, 0, e) for e in events] + [(t, 1, t) for t in ticks],
                   key=lambda item: (item[0], item[1]))  # fmt: skip
    out: list[Event] = []
    for _, _, item in items:
        if isinstance(item, Event):
            data = JourneyEvent(item.id, item.type, item.time, item.recorded_time, item.data)
            out += core.apply(0, item.subject, data, None)
        else:
            out += core.tick(0, item)
    return [e for e in out if e.type.startswith("uk.nrm.dropoff.")]


async def test_whatif_reads_the_topics_and_compares_with_what_was_flagged(
    kafka: str,
    contracts: Contracts,
    producer: AIOKafkaProducer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    year = random.randint(1900, 1999)
    monday = first_monday_of_february(year)
    until = monday + timedelta(days=28)  # before the 30- and 60-day rules fall due
    ticks = [monday + timedelta(hours=h) for h in range(28 * 24 + 1)]
    events = history(contracts, monday)
    deployed = RuleBook.of(load(contracts).values())
    flags = published_flags(events, ticks, deployed)
    assert len(replay(events, ticks, deployed)) == 24
    await publish(producer, contracts, [*events, *flags, *(tick_event(0, t) for t in ticks)])

    override = tmp_path / "rules.yaml"
    override.write_text("reasonable-grounds-overdue: {working_days: 10}\n")
    args = argparse.Namespace(
        override=override, deployed=None, start=monday.date(), end=until.date(),
        until=until, threshold=10, bootstrap=kafka,
    )  # fmt: skip
    assert await _run(args) == 0
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("reasonable-grounds"))
    # Flagged 24; under ten days 12 (hidden with the added 0, which would follow from the
    # rest); 12 removed; none earlier (0, hidden); 12 later; 12 resolved.
    hidden = ["suppressed", "[1]"]
    # flagged, what if, added, removed, earlier, later, resolved (under ten days)
    assert row.split()[1:] == ["24", *hidden, *hidden, "12", *hidden, "12", "12"]
    assert "journeys affected: 24" in printed
    assert "read the history from the topics in" in printed
