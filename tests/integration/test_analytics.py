"""The analytics sink and API on real Kafka and PostgreSQL.

Generated journeys referred in one period of their own (so other runs on a shared broker
do not change the counts): the sink folds the noisy topics into the analytics database
idempotently, dead-letters what it cannot read, and the API answers under disclosure
control, only to analysts, in JSON, CSV and Parquet that agree.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pyarrow.parquet as pq
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from analytics.adapters.sink import prepare
from analytics.config import AnalyticsSettings
from analytics.main import create_app
from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.kafka import client_options
from tests.integration.analytics_events import dropoff, journey_event, outcome, publish
from tests.integration.analytics_sink import caught_up, settings_for, sink_running
from tests.integration.events import new_journey_id
from tests.integration.kafka_helpers import (
    end_offsets,
    header,
    read_all,
    start_at_end,
    start_group_at,
)
from tests.integration.services import Tokens, running

pytestmark = pytest.mark.integration

TOPICS = [
    "journey.outcomes",
    "journey.dropoffs",
    "nrm.identification",
    "nrm.support",
    "nrm.criminal-justice",
]
ANALYSTS = "nrm-analysts"
# The event log's activities: types no drop-off rule starts on and no outcome reads, so a
# journey processor running on a shared broker publishes nothing for these journeys.
STARTED = "uk.nrm.recovery-period.started"
ASSESSED = "uk.nrm.needs-assessment.completed"
LEGAL = "uk.nrm.legal-representation.requested"


@dataclass
class Scenario:
    """What was published, and the period it falls in."""

    london: list[str]
    wales: list[str]
    events: list[Event]
    noise: list[Event]  # duplicates and stale re-deliveries of some of `events`
    year: int

    @property
    def journeys(self) -> list[str]:
        return [*self.london, *self.wales]

    @property
    def period(self) -> dict[str, str]:
        return {"from": f"{self.year}-01-01", "to": f"{self.year}-12-31"}


def scenario(contracts: Contracts) -> Scenario:
    """28 journeys referred in a year of their own, with noisy outputs:

    london (24): Reasonable Grounds decided for 16 (15 positive), support for 12,
    Conclusive Grounds for 3; wales (4): referral only. Flags: missing-episode on
    22 london journeys (12 resolved 3 days late, 10 open), no-support-contact on 12
    (open), re-referral on 3 wales journeys (open), and victim-withdrew raised and
    retracted twice. Duplicates, stale re-deliveries and one stale outcome.
    """
    # Before 1950: test people are born 1950-1999 (journeys.py), and test_privacy would
    # take an event dated on one's birthday for a leaked date of birth.
    year = random.randint(1900, 1949)
    base = datetime(year, 3, 1, 9, tzinfo=UTC)
    london = [new_journey_id() for _ in range(24)]
    wales = [new_journey_id() for _ in range(4)]
    events: list[Event] = []
    raws: list[Event] = []
    for i, journey in enumerate(london):
        referred = base + timedelta(hours=i)
        milestones: dict[str, datetime] = {}
        if i < 16:
            milestones["reasonable_grounds_decided"] = referred + timedelta(days=10, hours=i)
            raws.append(journey_event(contracts, ASSESSED, journey, referred + timedelta(days=10)))
        if i < 15:
            milestones["reasonable_grounds_positive"] = milestones["reasonable_grounds_decided"]
        if i < 12:
            milestones["support_entered"] = referred + timedelta(days=11)
        if i < 3:
            milestones["conclusive_grounds_decided"] = referred + timedelta(days=90)
        events.append(outcome(journey, referred=referred, region="london", milestones=milestones))
        raws.insert(0, journey_event(contracts, STARTED, journey, referred))
    for i, journey in enumerate(wales):
        referred = base + timedelta(days=1, hours=i)
        events.append(outcome(journey, referred=referred, region="wales", milestones={}))
        raws.append(journey_event(contracts, STARTED, journey, referred))
    raws.append(journey_event(contracts, LEGAL, wales[0], base + timedelta(days=5)))
    # An outcome older than the one already published for london[0]: must not win.
    stale_outcome = outcome(london[0], referred=base, region="wales", milestones={})

    flags: list[Event] = []
    stale: list[Event] = []
    due = base + timedelta(days=20)
    for i, journey in enumerate(london[:22]):
        flag_id = str(uuid.uuid4())
        raised = dropoff(journey, flag_id, rule_id="missing-episode", due=due)
        flags.append(raised)
        if i < 12:
            flags.append(
                dropoff(
                    journey,
                    flag_id,
                    rule_id="missing-episode",
                    due=due,
                    resolved=due + timedelta(days=3),
                    resolution="arrived_late",
                )
            )
            stale.append(raised)  # re-delivered after its resolution
    for journey in london[:12]:
        flags.append(dropoff(journey, str(uuid.uuid4()), rule_id="no-support-contact", due=due))
    for journey in wales[:3]:
        flags.append(dropoff(journey, str(uuid.uuid4()), rule_id="re-referral", due=due))
    for journey in london[:2]:
        flag_id = str(uuid.uuid4())
        flags.append(dropoff(journey, flag_id, rule_id="victim-withdrew", due=due))
        flags.append(
            dropoff(
                journey,
                flag_id,
                rule_id="victim-withdrew",
                due=due,
                resolved=due + timedelta(hours=1),
                resolution="retracted",
            )
        )
    noise = [*stale, *flags[:5], events[1], stale_outcome]
    return Scenario(london, wales, [*raws, *events, *flags], noise, year)


async def snapshot(pool: asyncpg.Pool, journeys: list[str]) -> dict[str, list[dict[str, Any]]]:
    tables = {
        "journey_outcomes": "journey_id",
        "dropoff_flags": "flag_id",
        "journey_events": "event_id",
    }
    return {
        table: [
            dict(row)
            for row in await pool.fetch(
                f"SELECT * FROM {table} WHERE journey_id = ANY($1) ORDER BY {key}",
                journeys,
            )
        ]
        for table, key in tables.items()
    }


async def seed(
    kafka: str, database: str, contracts: Contracts, producer: AIOKafkaProducer, tokens: Tokens
) -> tuple[Scenario, AnalyticsSettings, dict[TopicPartition, int], dict[TopicPartition, int]]:
    """Publish a scenario and run the sink over it until it has caught up."""
    settings = settings_for(database, kafka, tokens)
    group = settings.consumer_group("sink")
    for topic in TOPICS:
        await start_at_end(kafka, group, topic)
    before = await end_offsets(kafka, TOPICS)
    world = scenario(contracts)
    await publish(producer, contracts, [*world.events, *world.noise])
    after = await end_offsets(kafka, TOPICS)
    pool = await prepare(settings)
    try:
        async with sink_running(settings, contracts, pool, producer) as sink:
            await caught_up(kafka, group, after, sink)
    finally:
        await pool.close()
    return world, settings, before, after


async def test_the_sink_folds_idempotently_and_dead_letters_what_it_cannot_read(
    kafka: str, database: str, contracts: Contracts, producer: AIOKafkaProducer
) -> None:
    dead_letters_before = await end_offsets(kafka, ["journey.deadletter"])
    marker = f"garbage-{uuid.uuid4().hex}".encode()
    plain = AIOKafkaProducer(bootstrap_servers=kafka, **client_options())
    await plain.start()
    try:
        settings = settings_for(database, kafka)
        for topic in TOPICS:
            await start_at_end(kafka, settings.consumer_group("sink"), topic)
        before = await end_offsets(kafka, TOPICS)
        await plain.send_and_wait("journey.dropoffs", key=marker, value=b"\x00not an event")
    finally:
        await plain.stop()
    world = scenario(contracts)
    await publish(producer, contracts, world.events)
    group = settings.consumer_group("sink")

    pool = await prepare(settings)
    try:
        async with sink_running(settings, contracts, pool, producer) as sink:
            await caught_up(kafka, group, await end_offsets(kafka, TOPICS), sink)
            # Then, in later batches, the noise: stale and duplicate records.
            await publish(producer, contracts, world.noise)
            after = await end_offsets(kafka, TOPICS)
            await caught_up(kafka, group, after, sink)
        first = await snapshot(pool, world.journeys)

        outcomes = {row["journey_id"]: row for row in first["journey_outcomes"]}
        assert len(outcomes) == 28
        newest = outcomes[world.london[0]]
        assert newest["reasonable_grounds_decided_at"] is not None  # the stale one lost
        assert newest["region"] == "london"
        flags = first["dropoff_flags"]
        assert len(flags) == 22 + 12 + 3 + 2
        statuses = [(f["rule_id"], f["status"]) for f in flags if f["rule_id"] == "missing-episode"]
        assert statuses.count(("missing-episode", "resolved")) == 12  # stale raises lost
        assert statuses.count(("missing-episode", "open")) == 10
        assert {f["status"] for f in flags if f["rule_id"] == "victim-withdrew"} == {"retracted"}
        assert len(first["journey_events"]) == 28 + 16 + 1
        assert {e["activity"] for e in first["journey_events"]} == {
            STARTED,
            ASSESSED,
            LEGAL,
        }

        dead = [
            r
            for r in await read_all(kafka, "journey.deadletter", since=dead_letters_before)
            if r.key == marker
        ]
        assert len(dead) == 1
        assert header(dead[0], "dlq_original_topic") == "journey.dropoffs"
        assert header(dead[0], "dlq_consumer_group") == settings.consumer_group("sink")
        assert header(dead[0], "dlq_error")

        # Re-consume everything this test wrote with a new group: nothing changes.
        again = settings_for(database, kafka)
        await start_group_at(kafka, again.consumer_group("sink"), before)
        async with sink_running(again, contracts, pool, producer) as replay:
            await caught_up(kafka, again.consumer_group("sink"), after, replay)
        assert replay.counters.records >= len(world.events) + len(world.noise)
        assert await snapshot(pool, world.journeys) == first
    finally:
        await pool.close()


@pytest.fixture
async def api(
    kafka: str, database: str, contracts: Contracts, producer: AIOKafkaProducer, tokens: Tokens
) -> AsyncIterator[tuple[httpx.AsyncClient, Scenario]]:
    world, settings, _, _ = await seed(kafka, database, contracts, producer, tokens)
    port = free_port()
    settings = settings.model_copy(update={"http_port": port})
    async with (
        running("analytics", create_app(settings), port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        yield client, world


def bearer(
    tokens: Tokens, agency: str = ANALYSTS, scopes: tuple[str, ...] = ("analytics:read",)
) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.signer.mint(agency_id=agency, scopes=list(scopes))}"}


async def test_the_api_answers_analysts_only_with_small_cells_suppressed(
    api: tuple[httpx.AsyncClient, Scenario], tokens: Tokens, database: str
) -> None:
    client, world = api
    headers = bearer(tokens)

    # Who may ask.
    assert (await client.get("/v1/funnel")).status_code == 401
    no_scope = bearer(tokens, scopes=("referrals:read",))
    refused = await client.get("/v1/funnel", headers=no_scope)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    not_analyst = bearer(tokens, agency="sca", scopes=("analytics:read",))
    assert (await client.get("/v1/funnel", headers=not_analyst)).status_code == 403
    assert (await client.get("/v1/event-log.csv", headers=headers)).status_code == 403
    unknown = await client.get("/v1/dropoffs", params={"by": "name"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    backwards = {"from": "2025-02-01", "to": "2025-01-01"}
    assert (await client.get("/v1/funnel", params=backwards, headers=headers)).status_code == 400

    # The funnel: small steps null, and their conversions.
    funnel = (await client.get("/v1/funnel", params=world.period, headers=headers)).json()
    assert funnel["period"] == {"from": world.period["from"], "to": world.period["to"]}
    assert funnel["threshold"] == 10
    steps = {s["step"]: s for s in funnel["steps"]}
    assert [s["step"] for s in funnel["steps"]][:3] == [
        "referred",
        "reasonable_grounds_decided",
        "reasonable_grounds_positive",
    ]
    assert steps["referred"] == {"step": "referred", "label": "Referral", "count": 28,
                                 "conversion": None, "conversion_from": None}  # fmt: skip
    assert steps["reasonable_grounds_decided"]["count"] == 16
    assert steps["reasonable_grounds_decided"]["conversion"] == round(16 / 28, 4)
    assert steps["reasonable_grounds_positive"]["count"] == 15
    assert steps["support_entered"]["count"] == 12
    assert steps["conclusive_grounds_decided"] == {
        "step": "conclusive_grounds_decided",
        "label": "Conclusive Grounds decision",
        "count": None,  # 3 journeys
        "conversion": None,
        "conversion_from": "reasonable_grounds_positive",
    }
    assert steps["convicted"]["count"] is None  # zero

    # Drop-offs by rule: re-referral (3) null, and the cells that would reveal it.
    by_rule = (
        await client.get("/v1/dropoffs", params={**world.period, "by": "rule"}, headers=headers)
    ).json()
    assert by_rule["journeys_in_period"] == 28
    rows = {r["group"]: r for r in by_rule["rows"]}
    assert "victim-withdrew" not in rows  # retracted flags are not drop-offs
    assert set(rows) == {"missing-episode", "no-support-contact", "re-referral"}
    assert all(rows["re-referral"][c] is None for c in ("raised", "open", "journeys"))
    # Nothing resolves a re-referral flag (the processor's catalogue): its resolved count
    # is zero by construction, published as 0, not hidden as a small count.
    assert rows["re-referral"]["resolved"] == 0
    assert by_rule["labels"]["open"] == "suppressed (fewer than 10 flags, or would reveal one)"
    assert rows["missing-episode"]["label"] == "Missing episode"
    total = by_rule["total"]
    assert (total["group"], total["raised"], total["open"], total["resolved"]) == (
        "all",
        37,
        25,
        12,
    )
    assert total["journeys"] == 25
    assert total["median_days_to_resolution"] == 3.0
    # No published total minus published parts gives away a hidden cell.
    for count in ("raised", "open", "resolved"):
        column = [r[count] for r in by_rule["rows"]]
        assert column.count(None) != 1
    for row in by_rule["rows"]:
        assert [row["raised"], row["open"], row["resolved"]].count(None) != 1

    by_region = (
        await client.get("/v1/dropoffs", params={**world.period, "by": "region"}, headers=headers)
    ).json()
    regions = {r["group"]: r for r in by_region["rows"]}
    assert regions["wales"]["raised"] is None and regions["wales"]["journeys"] is None
    assert regions["london"]["raised"] is None  # 37 - 34 would give wales away

    # Time to event: 16 decided, 12 still waiting (censored).
    waits = (
        await client.get(
            "/v1/time-to-event",
            params={**world.period, "measure": "referral_to_reasonable_grounds"},
            headers=headers,
        )
    ).json()
    assert (waits["at_risk"], waits["events"], waits["censored"]) == (28, 16, 12)
    # 14th decision (of 28 at risk) halves survival: 10 days + 13 hours.
    assert waits["median_days"] == round(10 + 13 / 24, 2)
    assert waits["curve"][0] == {"days": 0.0, "survival": 1.0}
    assert len(waits["curve"]) == 1 + 16  # at least 13 at risk at every decision
    cg = (
        await client.get(
            "/v1/time-to-event",
            params={**world.period, "measure": "reasonable_grounds_to_conclusive_grounds"},
            headers=headers,
        )
    ).json()
    assert (cg["at_risk"], cg["events"], cg["censored"], cg["median_days"]) == (
        15,
        None,
        None,
        None,
    )

    # Exports carry the same numbers.
    csv_funnel = await client.get("/v1/exports/funnel.csv", params=world.period, headers=headers)
    assert csv_funnel.status_code == 200
    parsed = list(csv.DictReader(io.StringIO(csv_funnel.text)))
    assert [int(r["count"]) if r["count"].isdigit() else None for r in parsed] == [
        s["count"] for s in funnel["steps"]
    ]
    # A hidden cell says what was hidden and why, not "<10" nor an empty field.
    hidden = {r["count"] for r in parsed if not r["count"].isdigit()}
    assert hidden == {"suppressed (fewer than 10 journeys, or would reveal one)"}
    parquet = await client.get(
        "/v1/exports/dropoffs.parquet", params={**world.period, "by": "rule"}, headers=headers
    )
    table = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    assert [{k: r[k] for k in ("group", "raised", "open", "resolved")} for r in table] == [
        {k: r[k] for k in ("group", "raised", "open", "resolved")}
        for r in [*by_rule["rows"], total]
    ]
    curve = await client.get(
        "/v1/exports/time-to-event.parquet",
        params={**world.period, "measure": "referral_to_reasonable_grounds"},
        headers=headers,
    )
    points = pq.read_table(io.BytesIO(curve.content)).to_pylist()
    assert [p["survival"] for p in points] == [p["survival"] for p in waits["curve"]]
    assert {p["median_days"] for p in points} == {waits["median_days"]}

    # The event log: export scope, fresh case ids, a rare path cut short and said so.
    exporter = bearer(tokens, scopes=("analytics:read", "analytics:export"))
    log = await client.get("/v1/event-log.parquet", params=world.period, headers=exporter)
    assert log.status_code == 200
    # wales[0] went on to a legal-help event no other journey has: cut after its start.
    assert (log.headers["X-Truncated-Cases"], log.headers["X-Dropped-Cases"]) == ("1", "0")
    assert log.headers["X-Dropped-Events"] == "1"
    rows_out = pq.read_table(io.BytesIO(log.content)).to_pylist()
    assert len(rows_out) == 16 * 2 + 12
    assert set(rows_out[0]) == {"case_id", "activity", "timestamp"}
    assert not {r["case_id"] for r in rows_out} & set(world.journeys)
    assert all(r["timestamp"].hour == 0 and r["timestamp"].minute == 0 for r in rows_out)
    again = await client.get("/v1/event-log.csv", params=world.period, headers=exporter)
    assert not {r["case_id"] for r in rows_out} & {
        r["case_id"] for r in csv.DictReader(io.StringIO(again.text))
    }

    # Every request audited, the refusals and the exports too.
    conn = await asyncpg.connect(database)
    try:
        actions = [
            (r["agency_id"], r["action"], r["outcome"])
            for r in await conn.fetch("SELECT * FROM audit_log ORDER BY audit_id")
        ]
    finally:
        await conn.close()
    assert (ANALYSTS, "GET /v1/funnel", "ok") in actions
    assert (ANALYSTS, "GET /v1/funnel", "denied") in actions
    assert ("sca", "GET /v1/funnel", "denied") in actions
    assert actions.count((ANALYSTS, "export:event-log", "ok")) == 2
