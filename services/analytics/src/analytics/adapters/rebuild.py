"""The analytics tables again, from the topics alone (`journey analytics rebuild`).

The sink's writes are idempotent, order-independent upserts (analytics.domain.folding), so
reading the sink's topics from their beginning into empty tables gives the tables a live
sink holds, whatever it lived through (crashes, redeliveries, a database outage). That
makes the rebuild both a repair (into the live database, after a bad release) and a check
(into a scratch database, to compare: the fault suite does).

`--since` starts at the first records written at or after a moment, for a deployment
whose sink began then (a group started at the topics' end, as each fault scenario's is).
Unreadable records are skipped and counted: the live sink sent them to the dead letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from analytics.adapters.batch import Batch, write
from analytics.adapters.sink import prepare
from analytics.config import AnalyticsSettings
from journey_platform.contracts import Contracts
from journey_platform.envelope import decode_or_reason
from journey_platform.kafka import read_to_end

# Every table the sink writes; a rebuild empties them first.
TABLES = ("journey_outcomes", "dropoff_flags", "journey_events", "journey_gender")


@dataclass
class Rebuilt:
    records: int = 0
    unreadable: int = 0


async def rebuild(settings: AnalyticsSettings, *, since: datetime | None = None) -> Rebuilt:
    """Empty the tables of `settings.database_url` and fold the sink's topics into them."""
    contracts = Contracts.load(settings.schemas_dir)
    partitions = [
        TopicPartition(topic, p)
        for topic in settings.sink_topics
        for p in range(contracts.topics[topic].partitions)
    ]
    start = None if since is None else await _offsets_at(settings, partitions, since)
    rebuilt = Rebuilt()
    pool = await prepare(settings)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
            reader = read_to_end(settings.kafka_bootstrap_servers, partitions, since=start)
            async for records in reader:
                batch = Batch(contracts.recorded_topics())
                for record in records:
                    event = decode_or_reason(record, contracts)
                    if isinstance(event, str):
                        rebuilt.unreadable += 1
                    else:
                        batch.add(record, event)
                await write(conn, batch)
                rebuilt.records += len(records)
    finally:
        await pool.close()
    return rebuilt


async def _offsets_at(
    settings: AnalyticsSettings, partitions: list[TopicPartition], since: datetime
) -> dict[TopicPartition, int]:
    """Each partition's first offset written at or after `since` (its end if none is)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        moment = int(since.timestamp() * 1000)
        found = await consumer.offsets_for_times({tp: moment for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        return {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in partitions}
    finally:
        await consumer.stop()
