"""`journey deadletter list` and `replay --id` on a real broker: a valid event that a
misconfigured consumer refused is listed with its reason, replayed once the consumer is
fixed, and applied exactly once however often it is replayed."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from journey_cli.__main__ import main
from journey_platform.consumer import EventConsumer, Handler, dead_letter_headers
from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.envelope import Event, decode_or_reason, encode
from journey_platform.idempotence import idempotent
from journey_platform.kafka import client_options
from journey_platform.settings import find_schemas_dir
from tests.integration.events import example_event, new_journey_id
from tests.integration.kafka_helpers import Record, header, start_at_end

pytestmark = pytest.mark.integration

TOPIC = "nrm.support"
# The consumer is "misconfigured" the way a real deployment can be: it was shipped with a
# copy of the contracts from before this event type existed.
LATE_EVENT_TYPE = "uk.nrm.legal-representation.secured"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass(frozen=True)
class Cli:
    """The `journey` command, run in-process as a user would run it."""

    kafka: str
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    async def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", self.kafka)
        self.capsys.readouterr()
        code = await asyncio.to_thread(main, ["deadletter", *argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def journey(kafka: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(kafka, capsys, monkeypatch)


async def until(
    check: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = 60
) -> None:
    """Poll `check` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (await answer if inspect.isawaitable(answer := check()) else answer):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def consuming(
    kafka: str, producer: AIOKafkaProducer, group: str, contracts: Contracts, handler: Handler
) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    consumer = EventConsumer(
        bootstrap_servers=kafka,
        group_id=group,
        topics=[TOPIC],
        contracts=contracts,
        handler=handler,
        producer=producer,
    )
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await task


def contracts_without(event_type: str, folder: Path) -> Contracts:
    """The contracts as they were before `event_type` was added."""
    shutil.copytree(find_schemas_dir(), folder)
    (folder / "events" / f"{event_type}.v1.schema.json").unlink()
    return Contracts.load(folder)


async def record_at(kafka: str, topic: str, partition: int, offset: int) -> Record:
    reader = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False, **client_options())
    await reader.start()
    try:
        where = TopicPartition(topic, partition)
        reader.assign([where])
        reader.seek(where, offset)
        records = await reader.getmany(where, timeout_ms=10_000, max_records=1)
        assert records.get(where), f"nothing at {topic}[{partition}]@{offset}"
        return records[where][0]
    finally:
        await reader.stop()


async def committed(kafka: str, group: str, partition: int) -> int | None:
    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka, group_id=group, enable_auto_commit=False, **client_options()
    )
    await reader.start()
    try:
        return await reader.committed(TopicPartition(TOPIC, partition))  # type: ignore[no-any-return]
    finally:
        await reader.stop()


async def listed(journey: Cli, group: str) -> list[dict[str, object]]:
    code, out, _ = await journey("list", "--group", group, "--json", "--limit", "0")
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


async def test_a_valid_event_refused_by_a_misconfigured_consumer_is_applied_once_replayed(
    kafka: str,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    pool: asyncpg.Pool,
    journey: Cli,
    tmp_path: Path,
) -> None:
    group = f"deadletter-replay-{uuid.uuid4().hex}"
    await start_at_end(kafka, group, TOPIC)
    event = replace(example_event(contracts, LATE_EVENT_TYPE), traceparent=TRACEPARENT)
    wire = encode(event, contracts)
    sent = await producer.send_and_wait(
        wire.topic, key=wire.key, value=wire.value, headers=wire.headers
    )

    async def not_reached(_: Event) -> None:
        raise AssertionError("a consumer without the schema cannot decode the event")

    stale = contracts_without(LATE_EVENT_TYPE, tmp_path / "schemas")
    async with consuming(kafka, producer, group, stale, not_reached):
        await until(lambda: _listed_any(journey, group), "the dead letter to be listed")
    # The group moved past the original: only a replay can bring the event back.
    assert (await committed(kafka, group, sent.partition) or 0) > sent.offset

    code, out, _ = await journey("list", "--group", group)
    assert code == 0
    [dead] = await listed(journey, group)
    assert dead["original_topic"] == TOPIC
    assert (dead["original_partition"], dead["original_offset"]) == (sent.partition, sent.offset)
    assert (dead["event_type"], dead["event_id"]) == (LATE_EVENT_TYPE, event.id)
    assert dead["reason"] == f"no schema for {LATE_EVENT_TYPE} v1"
    assert dead["reason_code"] == "unknown-type"
    assert f"{dead['id']}  " in out and f"no schema for {LATE_EVENT_TYPE} v1" in out
    assert f"listed 1 of 1 dead letters on journey.deadletter (group {group})" in out

    # The consumer is fixed (the current contracts) and applies each event exactly once.
    await pool.execute("CREATE TABLE applied (event_id uuid NOT NULL)")
    delivered: list[str] = []

    async def effect(conn: Connection, applied: Event) -> None:
        await conn.execute("INSERT INTO applied VALUES ($1)", uuid.UUID(applied.id))

    apply = idempotent(pool, "deadletter-replay-test", effect)

    async def handler(received: Event) -> None:
        if received.subject == event.subject:
            delivered.append(received.id)
            await apply(received)

    async with consuming(kafka, producer, group, contracts, handler) as task:
        code, out, _ = await journey("replay", "--id", str(dead["id"]))
        assert code == 0
        assert f"replayed {dead['id']} -> {TOPIC}[{sent.partition}]@" in out
        assert f"{LATE_EVENT_TYPE}  {event.id}" in out
        await until(lambda: _applied_once(pool), "the replayed event to be applied")

        # Replaying again is safe: delivered twice, applied once.
        code, _, _ = await journey("replay", "--id", str(dead["id"]))
        assert code == 0
        await until(lambda: len(delivered) == 2, "the second replay to be delivered")
        assert not task.done()
    assert delivered == [event.id, event.id]
    assert await _applied_once(pool)
    assert await pool.fetchval("SELECT event_id::text FROM applied") == event.id


async def _listed_any(journey: Cli, group: str) -> bool:
    return bool(await listed(journey, group))


async def _applied_once(pool: asyncpg.Pool) -> bool:
    return int(await pool.fetchval("SELECT count(*) FROM applied")) == 1


@dataclass
class _Origin:
    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes]]


async def put_dead_letter(
    producer: AIOKafkaProducer,
    *,
    group: str,
    key: bytes,
    value: bytes,
    headers: list[tuple[str, bytes]],
) -> tuple[str, int]:
    """A dead letter as a consumer of TOPIC would write it; its id and partition."""
    origin = _Origin(TOPIC, 0, 0, headers)
    sent = await producer.send_and_wait(
        "journey.deadletter",
        key=key,
        value=value,
        headers=dead_letter_headers(origin, group_id=group, reason="rejected by handler: test"),
    )
    return f"{sent.partition}:{sent.offset}", sent.partition


async def test_a_replayed_record_is_the_original_with_one_traceparent_and_no_dlq_headers(
    kafka: str, producer: AIOKafkaProducer, contracts: Contracts, journey: Cli
) -> None:
    event = replace(example_event(contracts, "uk.nrm.support.accepted"), traceparent=TRACEPARENT)
    wire = encode(event, contracts)
    id_, _ = await put_dead_letter(
        producer,
        group=f"deadletter-headers-{uuid.uuid4().hex}",
        key=wire.key,
        value=wire.value,
        headers=wire.headers,
    )

    code, out, _ = await journey("replay", "--id", id_)

    assert code == 0
    landed = re.search(rf"^replayed {id_} -> {TOPIC}\[(\d+)\]@(\d+)", out, re.MULTILINE)
    assert landed, out
    record = await record_at(kafka, TOPIC, int(landed[1]), int(landed[2]))
    names = [name for name, _ in record.headers]
    assert names.count("traceparent") == 1 and header(record, "traceparent") == TRACEPARENT
    assert not [name for name in names if name.startswith("dlq_")]
    assert list(record.headers) == wire.headers, "the original headers, in order"
    assert (record.key, record.value) == (wire.key, wire.value)
    assert decode_or_reason(record, contracts) == event


async def test_list_never_shows_a_key_or_value_and_replay_refuses_what_it_cannot_do(
    producer: AIOKafkaProducer, journey: Cli
) -> None:
    group = f"deadletter-privacy-{uuid.uuid4().hex}"
    marker, key = f"MARKER-{uuid.uuid4().hex}", new_journey_id()
    id_, partition = await put_dead_letter(
        producer,
        group=group,
        key=key.encode(),
        value=json.dumps({"name": marker}).encode(),
        headers=[("ce_type", b"uk.nrm.support.accepted")],
    )

    for form in ([], ["--json"]):
        code, out, err = await journey("list", "--group", group, *form)
        assert code == 0 and id_ in out and "rejected by handler: test" in out
        assert marker not in out + err and key not in out + err
    code, out, _ = await journey("list", "--group", f"{group}-none")
    assert code == 0 and out.startswith("no dead letters")

    not_dead_lettered = await producer.send_and_wait(
        "journey.deadletter", key=key.encode(), value=b"{}", headers=[("ce_id", b"1")]
    )
    refusals = {
        "1-2": "is not a dead-letter id: ids are <partition>:<offset>",
        "99:0": "journey.deadletter has partitions 0 to 2",
        f"{partition}:{10**15}": f"no dead letter {partition}:{10**15}",
        f"{not_dead_lettered.partition}:{not_dead_lettered.offset}": "no dlq_original_topic",
    }
    for bad, says in refusals.items():
        code, out, err = await journey("replay", "--id", id_, "--id", bad)
        assert code == 2, (bad, err)
        assert says in err and not out, "a refusal replays nothing, not even the good ids"
