"""The service's one consumer group: the journey topics (who takes part) and
journey.dropoffs (the flags), as the topic catalogue lists them for `flags`.

One group for all four topics, so a journey's participants are usually learned before
its flags arrive (the processor publishes a flag only after reading the event behind it).
"""

from __future__ import annotations

from flags.adapters.folding import applying
from journey_api.agencies import AgencyRegistry
from journey_api.runtime import Runtime
from journey_platform.consumer import EventConsumer
from journey_platform.idempotence import idempotent_batch

CONSUMER = "flags"  # its name in schemas/topics.yaml


def flag_consumer(runtime: Runtime, registry: AgencyRegistry) -> EventConsumer:
    settings = runtime.settings
    group = settings.consumer_group("fold")
    return EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        topics=runtime.contracts.consumed_by(CONSUMER),
        contracts=runtime.contracts,
        batch_handler=idempotent_batch(runtime.pool, group, applying(registry)),
        producer=runtime.producer,
        dead_letter_topic=settings.dead_letter_topic,
        security=settings.kafka_security,
    )
