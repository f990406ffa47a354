"""A hand-worked what-if history, put on real Kafka as the live system would have.

In a February of its own (no bank holidays): 12 journeys decided 7 working days after
referral (flagged under 5 working days, not under 10), 12 decided after 15 (flagged
either way, a week later), 4 decided after 2 (never flagged). The flags "actually
published" are the processor core's under the deployed thresholds, put on
journey.dropoffs as the processor would, with the clock's hourly ticks.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from analytics.domain.whatif import run_core
from journey_platform.clock import tick_event
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import load
from tests.integration.analytics_events import journey_event, publish
from tests.integration.events import new_journey_id

TEN_WORKING_DAYS = {"reasonable-grounds-overdue": {"working_days": 10}}
DEPLOYED = {"reasonable-grounds-overdue": {"working_days": 5}}  # the catalogue's own


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
    return [e for e in run_core(events, ticks, book) if e.type.startswith("uk.nrm.dropoff.")]


@dataclass(frozen=True)
class Published:
    monday: datetime  # every journey's referral
    until: datetime  # the last tick: before the 30- and 60-day rules fall due


async def publish_history(
    producer: AIOKafkaProducer, contracts: Contracts, years: range
) -> Published:
    """The hand-worked history in a February of a random year of `years` (each test its
    own range, so two tests never share a period on the shared topics)."""
    monday = first_monday_of_february(random.choice(years))
    until = monday + timedelta(days=28)
    ticks = [monday + timedelta(hours=h) for h in range(28 * 24 + 1)]
    events = history(contracts, monday)
    flags = published_flags(events, ticks, RuleBook.of(load(contracts).values()))
    await publish(producer, contracts, [*events, *flags, *(tick_event(0, t) for t in ticks)])
    return Published(monday, until)
