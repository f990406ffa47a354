"""The faust-streaming application: the journey processor as a Kafka Streams-style worker.

    journey-processor worker            # or: python -m journey.app worker

One agent reads the co-partitioned journey topics and journey.clock, with
`concurrency=1` (faust-streaming issue #606: above 1 an agent can lose messages), and
hands each record to journey.processor. Journey state lives in two tables backed by
changelog topics, RocksDB (rocksdict) on disk in production; a restarted or rebalanced
worker recovers them from the changelog. Records that are not events, or break their
contract, go to journey.deadletter unchanged with the reason, and processing goes on.

Settings come from the environment (see ProcessorSettings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust
import yaml
from pydantic_settings import SettingsConfigDict

from journey.processor import CLOCK_TOPIC, JOURNEY_TOPICS, JourneyProcessor
from journey.rulebook import RuleBook
from journey.rules.catalogue import load
from journey_platform.consumer import dead_letter_headers
from journey_platform.contracts import Contracts, ContractViolation
from journey_platform.envelope import Event, decode, encode
from journey_platform.logs import configure_logging
from journey_platform.settings import PlatformSettings

log = logging.getLogger(__name__)


class ProcessorSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "journey-processor"
    # The consumer group, and the prefix of the changelog topics.
    processor_app_id: str = "journey-processor"
    # rocksdb:// in production (state on disk, rocksdict); memory:// only for tests.
    processor_store: str = "rocksdb://"
    processor_data_dir: Path = Path("processor-data")
    processor_worker_port: int = 6066
    processor_standby_replicas: int = 1
    # How soon the group notices a worker that died without saying goodbye (SIGKILL, a
    # lost node): its partitions wait this long before another worker takes them.
    processor_session_timeout_seconds: float = 30.0
    # How often to look for source partitions faust left stalled after a rebalance.
    processor_watchdog_seconds: float = 10.0
    # YAML mapping rule id -> within (hours / days / working_days): a deployment's
    # thresholds, checked against the catalogue at start.
    processor_rule_overrides: Path | None = None


def _brokers(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",")]


def _raw_topic(app: faust.App, *names: str) -> Any:
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


class StallWatchdog:
    """Works around faust-streaming issue #629 and its kin: after some rebalances records
    of a source partition stop reaching the agent (left paused, dropped from a buffer
    that a rebalance cleared, or never fetched), with no error, and the partition's
    committed offset stops short of its end for good.

    When the agent has been idle through two checks in a row, outside recovery, while an
    assigned source partition's committed offset stood still below its high-water mark,
    the partition is resumed and sought back to that committed offset. Re-reading is
    harmless: journey state is idempotent per event id and ticks only move clocks on.
    """

    def __init__(
        self,
        app: faust.App,
        topics: frozenset[str],
        progress: Callable[[], int],
        guard: OffsetGuard,
    ) -> None:
        self.app, self.topics, self.progress, self.guard = app, topics, progress, guard
        self.suspects: dict[Any, int] = {}
        self.last_progress = -1

    async def check(self) -> None:
        consumer: Any = self.app.consumer  # faust's Consumer; the interface lacks what we read
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]
        progress, idle = self.progress(), self.progress() == self.last_progress
        self.last_progress = progress
        if self.app.rebalancing or recovery.in_recovery or not recovery.completed.is_set():
            self.suspects.clear()
            return
        behind: dict[Any, int] = {}
        for tp in consumer.assignment():
            committed = consumer._committed_offset.get(tp)  # no public accessor
            if tp.topic in self.topics and committed is not None:
                highwater = consumer.highwater(tp)
                if highwater is not None and highwater > committed:
                    behind[tp] = committed
        stalled = {tp for tp, at in behind.items() if idle and self.suspects.get(tp) == at}
        if stalled:
            log.warning(
                "resuming stalled partitions",
                extra={"partitions": sorted(f"{tp.topic}-{tp.partition}" for tp in stalled)},
            )
            consumer.resume_partitions(stalled)
            for tp in stalled:
                await self.guard.rewind(tp, behind[tp])
        self.suspects = {tp: at for tp, at in behind.items() if tp not in stalled}


class OffsetGuard:
    """Notices records faust skipped on a source partition, and reads them again.

    The journey topics have no offset gaps (idempotent, non-transactional producers,
    nothing compacted or expired), so a record whose offset jumps past the next one
    expected means faust dropped records on the way to the agent (it does, around
    rebalances, and then treats the jump as a gap it may commit past). The guard seeks
    the partition back, and passes over records until the first one it expects arrives.
    """

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.expected: dict[Any, int] = {}
        self.rewinding: set[Any] = set()

    def forget(self) -> None:
        """After a rebalance faust starts again from the committed offsets."""
        self.expected.clear()
        self.rewinding.clear()

    async def rewind(self, tp: Any, offset: int) -> None:
        self.expected[tp] = offset
        self.rewinding.add(tp)
        await self.app.consumer.seek(tp, offset)

    async def in_sequence(self, message: Any) -> bool:
        tp = message.tp
        expected = self.expected.get(tp)
        if expected is None:
            expected = self.app.consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
        if expected is not None and message.offset > expected:
            if tp not in self.rewinding:
                log.warning(
                    "records skipped on the way to the agent; reading them again",
                    extra={"partition": f"{tp.topic}-{tp.partition}", "from": expected},
                )
                await self.rewind(tp, expected)
            return False  # it comes again, after the records it jumped
        if expected is not None and message.offset == expected:
            self.rewinding.discard(tp)
        self.expected[tp] = max(message.offset + 1, expected or 0)
        return True


def create_app(settings: ProcessorSettings | None = None) -> faust.App:
    settings = settings or ProcessorSettings()
    contracts = Contracts.load(settings.schemas_dir)
    overrides = (
        yaml.safe_load(settings.processor_rule_overrides.read_text())
        if settings.processor_rule_overrides
        else None
    )
    book = RuleBook.of(load(contracts, overrides=overrides).values())
    partitions = contracts.journey_partitions
    app = faust.App(
        settings.processor_app_id,
        broker=_brokers(settings.kafka_bootstrap_servers),
        store=settings.processor_store,
        datadir=str(settings.processor_data_dir),
        topic_partitions=partitions,
        table_standby_replicas=settings.processor_standby_replicas,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # Journey states are a few kilobytes: batch them (the default 16 KiB holds two),
        # and linger a little so each request carries many.
        producer_max_batch_size=512 * 1024,
        producer_linger=0.005,
        broker_session_timeout=settings.processor_session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.processor_session_timeout_seconds / 3),
        web_port=settings.processor_worker_port,
        web_enabled=False,
    )
    source = _raw_topic(app, *JOURNEY_TOPICS, CLOCK_TOPIC)
    sinks = {name: _raw_topic(app, name) for name in ("journey.dropoffs", "journey.outcomes")}
    dead_letters = _raw_topic(app, settings.dead_letter_topic)
    journeys = app.Table("journeys", partitions=partitions, key_type=bytes, value_type=bytes)

    async def emit(event: Event) -> None:
        record = encode(event, contracts)
        await sinks[record.topic].send(key=record.key, value=record.value, headers=record.headers)

    processor = JourneyProcessor(book, journeys, emit)
    app.processor = processor  # type: ignore[attr-defined]  # for tests and the benchmark

    guard = OffsetGuard(app)

    @app.agent(source, concurrency=1)
    async def process(stream: Any) -> None:
        async for record in stream.events():
            message = record.message
            if not await guard.in_sequence(message):
                continue
            raw_headers = message.headers or ()
            headers = list(raw_headers.items() if isinstance(raw_headers, dict) else raw_headers)
            try:
                event = decode(
                    topic=message.topic,
                    key=message.key,
                    value=message.value,
                    headers=headers,
                    contracts=contracts,
                )
            except ContractViolation as violation:
                await dead_letter(message, str(violation))
                continue
            try:
                await processor.handle(message.partition, event)
            except Exception as error:
                # A bug, not bad input; but restarting the agent would skip the record
                # silently (faust moves on), so park it with the reason and say so loudly.
                log.exception("processing failed", extra={"event_id": event.id})
                await dead_letter(message, f"processing failed: {type(error).__name__}")

    async def dead_letter(message: Any, reason: str) -> None:
        await dead_letters.send(
            key=message.key,
            value=message.value,
            headers=dead_letter_headers(message, group_id=settings.processor_app_id, reason=reason),
        )
        log.warning(
            "record dead-lettered",
            extra={
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
                "reason": reason,
            },
        )

    watchdog = StallWatchdog(
        app,
        frozenset((*JOURNEY_TOPICS, CLOCK_TOPIC)),
        lambda: processor.counters.events + processor.counters.ticks,
        guard,
    )
    app.timer(interval=settings.processor_watchdog_seconds)(watchdog.check)

    def on_rebalance(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        processor.forget_assignment()
        guard.forget()

    app.on_partitions_revoked.connect(on_rebalance)
    app.on_partitions_assigned.connect(on_rebalance)

    return app


def main() -> None:
    settings = ProcessorSettings()
    configure_logging(settings.service_name, settings.log_level)
    create_app(settings).main()


if __name__ == "__main__":
    main()
