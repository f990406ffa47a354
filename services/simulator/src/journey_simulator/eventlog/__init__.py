"""The simulated cohort offline: a seeded log of the events its journeys would publish.

Where the planner drives the partner APIs over HTTP (and the services publish the events),
`generate` draws the events themselves, as the journey processor meets them: Duty to
Notify reports, referrals, Reasonable and Conclusive Grounds decisions (late, negative,
reconsidered), support with its contacts, stays, missing episodes and cliff edges,
criminal investigations the victim withdraws from, immigration detention, withdrawals,
backdated recordings and events delivered twice. For the processor's tests and benchmarks.

The people and the shares come from the same homes as the planner's: `calibration` for
the published figures (and the assumptions explained beside them), `vocabulary` for the
other weight tables, `journey_platform.calendar` for working days. What only this log
needs (how late recordings come, duplicate deliveries, timings near the rules' deadlines
so that every rule fires now and then) is set beside the code that draws it.

Nobody in it is real: events carry only coded fields and random ids, journeys are keyed by
pseudonymous-looking ids. Everything comes from one `random.Random(seed)`, ids included,
so the same seed gives the same log.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from operator import attrgetter

from journey_platform.contracts import Contracts, ContractViolation
from journey_platform.envelope import Event
from journey_simulator import calibration
from journey_simulator.eventlog.identification import journey
from journey_simulator.eventlog.record import Journey, seconds

STARTS_OVER = timedelta(days=365)  # journeys begin within a year of `start`
OBSERVED_FOR = timedelta(days=730)  # the log ends two years after `start`
DUPLICATE_SHARE = 0.005  # at-least-once delivery hands a few events over twice


def generate(
    journeys: int,
    *,
    seed: int,
    start: datetime,
    contracts: Contracts,
    cal: calibration.Calibration | None = None,
) -> list[Event]:
    """Every event of `journeys` simulated journeys, sorted by recorded_time then id."""
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    cal = cal or calibration.load()
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrets
    observed_until = start + OBSERVED_FOR
    events: list[Event] = []
    for _ in range(journeys):
        begins = start + seconds(rng.uniform(0, STARTS_OVER.total_seconds()))
        events += journey(Journey(rng, cal, observed_until), begins)
    events += _delivered_again(rng, events)
    _check_topics(events, contracts)
    events.sort(key=attrgetter("recorded_time", "id"))
    return events


def _delivered_again(rng: random.Random, events: list[Event]) -> list[Event]:
    """Exact copies of a few events, as at-least-once delivery sometimes hands them over."""
    count = round(len(events) * DUPLICATE_SHARE)
    return [events[index] for index in rng.sample(range(len(events)), count)]


def _check_topics(events: Iterable[Event], contracts: Contracts) -> None:
    for event_type in {event.type for event in events}:
        if contracts.topic_for(event_type).name not in contracts.recorded_topics():
            raise ContractViolation(f"{event_type} is not a journey event")
