"""How a service learns, from another service's events, the journeys that service knows:
the journey and its facts, and who takes part in it (by default the agency that recorded
the event)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from journey_api.problems import CATCHING_UP_RETRY_SECONDS, JUST_REFERRED_RETRY_SECONDS, TYPE_BASE
from journey_api.runtime import ConsumersFactory, Runtime
from journey_api.store import RecordStore
from journey_platform.consumer import EventConsumer
from journey_platform.db import Connection
from journey_platform.envelope import Event
from journey_platform.idempotence import idempotent_batch

FactsOf = Callable[[Event], dict[str, Any] | None]
JoiningOf = Callable[[Event], Iterable[str]]


def recorder(event: Event) -> list[str]:
    """Who an event brings into the journey unless a service says otherwise: the agency
    that recorded it (the referring first responder, the deciding competent authority)."""
    return [event.recorded_by]


async def learn_journey(
    store: RecordStore, event: Event, facts_of: FactsOf, joining: JoiningOf = recorder
) -> None:
    """What one event teaches: the journey and its facts, and the agencies `joining` names
    taking part in it here too."""
    facts = facts_of(event)
    if facts is not None:
        for agency_id in joining(event):
            await store.learn_journey(event.subject, facts, agency_id)


def journey_learner(
    runtime: Runtime, *, topics: Sequence[str], facts_of: FactsOf, joining: JoiningOf = recorder
) -> EventConsumer:
    """A consumer that teaches this service the journeys another service knows.

    `facts_of(event)` says what to remember about the journey (an empty dict just makes
    it known; None ignores the event); `joining(event)`, which agencies take part in it.
    Each event is applied once, however redelivered.
    """

    group = runtime.settings.consumer_group("journeys")

    async def learn(conn: Connection, event: Event) -> None:
        await learn_journey(runtime.store(conn), event, facts_of, joining)

    return EventConsumer(
        bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
        group_id=group,
        topics=topics,
        contracts=runtime.contracts,
        batch_handler=idempotent_batch(runtime.pool, group, learn),
        producer=runtime.producer,
        dead_letter_topic=runtime.settings.dead_letter_topic,
        security=runtime.settings.kafka_security,
    )


# The contract of a service that learns journeys from the referral service's events: in
# its OpenAPI description, so a partner's developer reads it where the 404 is documented.
LEARNED_JOURNEYS = f"""

**A journey referred a moment ago.** This service learns each journey from the referral
service's events, a fraction of a second after the referral's 201
(`bench/journey_propagation.py`). Until then it answers about that journey as about one
that does not exist or that you may not see: 404, `type` `{TYPE_BASE}not-found`, the same
title and detail, so an answer never tells whether a journey exists. While this service
knows it has journeys left to learn, every such 404 (whatever the journey) carries
`Retry-After: {CATCHING_UP_RETRY_SECONDS}`. A client that has just referred a journey
retries a 404 about it, after Retry-After when given, for up to
{JUST_REFERRED_RETRY_SECONDS} seconds; after that the 404 is final."""


def learning_journeys(
    *, topics: Sequence[str], facts_of: FactsOf, joining: JoiningOf = recorder
) -> ConsumersFactory:
    """The consumers of a service that learns journeys from other services' topics."""
    return lambda runtime: [
        journey_learner(runtime, topics=topics, facts_of=facts_of, joining=joining)
    ]
