"""What every fault scenario checks once the deployment has caught up and its processor stopped.

Kafka's own replication tests' rule, consumed ⊇ acked:
1. every write a partner API acknowledged with 201 (and every record its database holds)
   is on its topic, exactly once after de-duplication by event id;
2. the final flags and outcomes the processor published equal the batch oracle's over
   what the journey topics hold;
3. the analytics tables equal a rebuild from the topics alone (`journey analytics rebuild`).
Nothing here retries an assertion: each reads once and compares.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from typing import Any

from analytics.adapters.rebuild import TABLES
from journey_platform.envelope import Event, decode
from journey_simulator.plan import SERVICES as PARTNERS
from tests.faults.harness import Scenario, query
from tests.faults.load import END
from tests.integration.kafka_helpers import Record, header, read_all
from tests.integration.processor_run import assert_matches_oracle, published

JOURNEY_TOPICS = ("nrm.identification", "nrm.support", "nrm.criminal-justice")


async def check_all(scenario: Scenario) -> None:
    """Every check of one scenario, once its processor has stopped. The rebuild (a process
    of its own, reading the topics) runs beside the checks made here, which read the same
    topics in this process: each still reads once and compares, on the scenario's data."""
    await asyncio.gather(analytics_equal_a_rebuild(scenario), _checks_made_here(scenario))


async def _checks_made_here(scenario: Scenario) -> None:
    records = await acknowledged_writes_on_topics(scenario)
    await nothing_half_written(scenario)
    await flags_and_outcomes_match_the_oracle(scenario, records)


async def acknowledged_writes_on_topics(scenario: Scenario) -> list[Record]:
    """Check 1, over the writes of the scenario (the deployment's databases hold earlier
    scenarios' too); returns the journey topics' records since the scenario began."""
    figures, statistics = scenario.figures, scenario.load.statistics
    acknowledged: dict[str, set[str]] = {name: set() for name in PARTNERS}
    for write in statistics.acknowledged:
        acknowledged[write.service].add(write.record_id)
    records: list[Record] = []
    for topic in JOURNEY_TOPICS:
        records += await read_all(scenario.stack.bootstrap_servers, topic, scenario.since)
    on_topics = Counter(header(r, "ce_id") for r in records)
    held, events_of_acknowledged = 0, set()
    for service in PARTNERS:
        rows = await query(
            scenario.database(service),
            "SELECT record_id, event_id FROM journey_records WHERE position > $1",
            scenario.positions[service],
        )
        held += len(rows)
        by_record = {str(row["record_id"]): str(row["event_id"]) for row in rows}
        lost_in_database = acknowledged[service] - by_record.keys()
        assert not lost_in_database, (
            f"{service}: {len(lost_in_database)} writes acknowledged with 201 are not in its "
            f"database, e.g. record {sorted(lost_in_database)[0]}"
        )
        events_of_acknowledged |= {by_record[r] for r in acknowledged[service]}
        missing = {e for e in by_record.values() if e not in on_topics}
        assert not missing, (
            f"{service}: {len(missing)} of its {len(rows)} recorded events are on no topic, "
            f"e.g. {sorted(missing)[0]}"
        )
    figures.acknowledged = len(events_of_acknowledged)
    figures.found = sum(1 for e in events_of_acknowledged if on_topics[e])
    figures.copies = sum(on_topics[e] - 1 for e in events_of_acknowledged)
    figures.notes.append(f"{held:,} records in the partner databases, all on their topics")
    assert figures.found == figures.acknowledged
    return records


async def flags_and_outcomes_match_the_oracle(scenario: Scenario, records: list[Record]) -> None:
    """Check 2, over the scenario's journeys (de-duplicated by event id)."""
    journeys = set(scenario.load.journey_ids.values())
    events: dict[str, Event] = {}
    for record in records:
        if record.key.decode() in journeys:
            event = decode(
                topic=record.topic,
                key=record.key,
                value=record.value,
                headers=record.headers,
                contracts=scenario.contracts,
            )
            events.setdefault(event.id, event)
    found = await published(scenario.stack.bootstrap_servers, journeys, scenario.since)
    scenario.figures.journeys = len(journeys)
    flags = sum(len(f) for f in found.flags.values())
    scenario.figures.notes.append(
        f"{flags:,} flags and {len(found.outcomes)} outcomes equal the oracle's "
        f"({found.repeats} outputs published twice)"
    )
    assert_matches_oracle(found, list(events.values()), END)


async def analytics_equal_a_rebuild(scenario: Scenario) -> None:
    """Check 3: `journey analytics rebuild` from the moment the scenario began, into a
    scratch database, then every analytics table's rows of the scenario's journeys
    compared (the live tables hold earlier scenarios' journeys too)."""
    live, scratch = scenario.database("analytics"), scenario.database("analytics_rebuild")
    command = [sys.executable, "-m", "journey_cli", "analytics", "rebuild"]
    command += ["--database-url", scratch, "--since", scenario.began.isoformat()]
    env = scenario.system.environment()
    rebuilt = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, check=False
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    journeys = sorted(scenario.load.journey_ids.values())
    rows = 0
    for table in TABLES:
        ours, theirs = await _rows(live, table, journeys), await _rows(scratch, table, journeys)
        assert ours == theirs, (
            f"{table}: {len(ours - theirs)} rows only in the live tables, "
            f"{len(theirs - ours)} only in the rebuild"
        )
        rows += len(ours)
    assert rows, "the sink wrote something to compare"
    scenario.figures.notes.append(f"analytics: {rows:,} rows equal a rebuild from the topics")


async def _rows(database: str, table: str, journeys: list[str]) -> set[tuple[Any, ...]]:
    rows = await query(database, f"SELECT * FROM {table} WHERE journey_id = ANY($1)", journeys)
    # Arrays (a flag list) come back as lists: compared as tuples.
    return {tuple(tuple(v) if isinstance(v, list) else v for v in r.values()) for r in rows}


async def nothing_half_written(scenario: Scenario) -> None:
    """After a crash or an outage: every idempotency key a partner API holds has its
    response (a claim never outlives its request), and every record its event."""
    for service in PARTNERS:
        database = scenario.database(service)
        [claims] = await query(
            database, "SELECT count(*) FROM idempotency_keys WHERE response_status IS NULL"
        )
        [orphans] = await query(
            database,
            """SELECT count(*) FROM journey_records r
               WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = r.event_id)""",
        )
        assert claims[0] == 0, f"{service}: {claims[0]} idempotency keys without a response"
        assert orphans[0] == 0, f"{service}: {orphans[0]} records without their outbox event"
