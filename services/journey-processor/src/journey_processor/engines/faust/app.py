"""The faust-streaming application: the journey processor as a Kafka Streams-style worker.

    PROCESSOR_ENGINE=faust journey-processor      # or: python -m journey_processor

One agent reads the co-partitioned journey topics and journey.clock, with
`concurrency=1` (faust-streaming issue #606: above 1 an agent can lose messages), and
hands each record to the core (journey_processor.core.processor). Journey state lives
in one table backed by a changelog topic, RocksDB (rocksdict) on disk in production; a
restarted or rebalanced worker recovers it from the changelog. Records that are not
events, or break their contract, go to journey.deadletter unchanged with the reason, and
processing goes on.

Settings come from the environment (see ProcessorSettings).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import faust

from journey_platform.clock import CLOCK_TOPIC, tick_event
from journey_platform.consumer import dead_letter_headers
from journey_platform.contracts import Contracts, ContractViolation
from journey_platform.envelope import Event, decode, encode
from journey_platform.kafka import client_options
from journey_platform.settings import KafkaSecurity
from journey_processor.core.processor import PROCESSOR
from journey_processor.engines.faust.table import TableProcessor
from journey_processor.settings import ProcessorSettings, rule_book

log = logging.getLogger(__name__)
WEDGED_EXIT = 75  # exit status: the consumer wedged; a fresh worker takes over
CONSUMER_TIMEOUT = 10.0  # seconds the watchdog waits on faust's consumer thread


def _brokers(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",")]


def _credentials(security: KafkaSecurity) -> faust.auth.Credentials | None:
    """`client_options` as faust takes them: its own credentials objects."""
    options = client_options(security)
    if security.uses_sasl:
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            ssl_context=options.get("ssl_context"),
            mechanism=security.sasl_mechanism,
        )
    if security.uses_tls:
        return faust.SSLCredentials(options["ssl_context"])
    return None


def _raw_topic(app: faust.App, *names: str) -> Any:
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


class StallWatchdog:
    """Works around faust-streaming issue #629 and its kin: after some rebalances records
    of a source partition stop reaching the agent (left paused, dropped from a buffer
    that a rebalance cleared, or never fetched), with no error, and the partition's
    committed offset stops short of its end for good.

    When the agent has been idle through two checks in a row, outside a rebalance, while an
    assigned source partition's committed offset stood still below its high-water mark,
    the partition is resumed and sought back to that committed offset. Re-reading is
    harmless: journey state is idempotent per event id and ticks only move clocks on.
    """

    def __init__(
        self,
        app: faust.App,
        topics: frozenset[str],
        progress: Callable[[], int],
        give_up_after: float,
    ) -> None:
        self.app, self.topics, self.progress = app, topics, progress
        self.suspects: dict[Any, int] = {}
        self.last_progress = -1
        self.wedged_since: float | None = None
        self.give_up_after = give_up_after

    async def check(self) -> None:
        try:
            await self._check()
        except TimeoutError:
            # The consumer thread did not answer: it is wedged (and a seek would hang).
            self._strike(True)

    async def _check(self) -> None:
        consumer: Any = self.app.consumer  # faust's Consumer; the interface lacks what we read
        progress, idle = self.progress(), self.progress() == self.last_progress
        self.last_progress = progress
        if not idle:
            self.wedged_since = None
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]
        if self.app.rebalancing:
            # faust can stay "rebalancing", streams suspended, after some rebalances.
            self.suspects.clear()
            self._strike(idle and not recovery.in_recovery)
            return
        sources = [tp for tp in consumer.assignment() if tp.topic in self.topics]
        # From the broker: a partition faust never fetched has no high-water mark here.
        highwaters = await asyncio.wait_for(consumer.highwaters(*sources), CONSUMER_TIMEOUT)
        behind: dict[Any, int] = {}
        for tp in sources:
            committed = consumer._committed_offset.get(tp)  # no public accessor
            if committed is not None and highwaters.get(tp, 0) > committed:
                behind[tp] = committed
        stalled = {tp for tp, at in behind.items() if idle and self.suspects.get(tp) == at}
        self._strike(idle and bool(stalled))
        if stalled:
            log.warning(
                "resuming stalled partitions",
                extra={"partitions": sorted(f"{tp.topic}-{tp.partition}" for tp in stalled)},
            )
            consumer.resume_partitions(stalled)
            for tp in stalled:
                await asyncio.wait_for(consumer.seek(tp, behind[tp]), CONSUMER_TIMEOUT)
        self.suspects = {tp: at for tp, at in behind.items() if tp not in stalled}

    def _strike(self, wedged: bool) -> None:
        now = time.monotonic()
        if not wedged:
            self.wedged_since = None
            return
        self.wedged_since = self.wedged_since or now
        if now - self.wedged_since > self.give_up_after:
            # Still wedged after re-reading: only a new consumer helps. Exit, and let the
            # supervisor (Kubernetes, `journey run`) start one; it resumes from the
            # committed offsets, so nothing is lost.
            log.error("consumer wedged; exiting so that a fresh worker takes over")
            os._exit(WEDGED_EXIT)


class OffsetGuard:
    """Stops the worker when faust skipped records on a source partition.

    The journey topics have no offset gaps (idempotent, non-transactional producers,
    nothing compacted or expired), so a record whose offset jumps past the next one
    expected means faust dropped records on the way to the agent (it does, around
    rebalances), and it treats the jump as a gap it may commit past. Seeking back from a
    running worker proved unreliable, so the worker exits at once, before faust can
    commit past the gap, with status 75: its supervisor starts a fresh worker, which
    resumes from the committed offsets and reads the skipped records. A crash is better
    than a silent loss.
    """

    def __init__(self, app: faust.App, exit_on_gap: bool) -> None:
        self.app, self.exit_on_gap = app, exit_on_gap
        self.expected: dict[Any, int] = {}

    def forget(self) -> None:
        """After a rebalance faust starts again from the committed offsets."""
        self.expected.clear()

    def notice(self, message: Any) -> None:
        tp, offset = message.tp, message.offset
        expected = self.expected.get(tp)
        if expected is None:
            expected = self.app.consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
        if expected is not None and offset > expected:
            log.error(
                "records skipped on the way to the agent; exiting so that a fresh worker "
                "reads them",
                extra={"partition": f"{tp.topic}-{tp.partition}", "from": expected},
            )
            if self.exit_on_gap:
                os._exit(WEDGED_EXIT)
        self.expected[tp] = max(offset + 1, expected or 0)


def create_app(settings: ProcessorSettings | None = None) -> faust.App:
    settings = settings or ProcessorSettings()
    contracts = Contracts.load(settings.schemas_dir)
    book = rule_book(settings, contracts)
    sources = contracts.consumed_by(PROCESSOR)
    partitions = contracts.journey_partitions
    app = faust.App(
        settings.processor_app_id,
        broker=_brokers(settings.kafka_bootstrap_servers),
        broker_credentials=_credentials(settings.kafka_security),
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
        web_enabled=bool(settings.processor_web_port),
        web_port=settings.processor_web_port or 6066,
        web_bind=settings.processor_web_host,
        web_host=settings.processor_web_host,
    )
    source = _raw_topic(app, *sources)
    sinks = {name: _raw_topic(app, name) for name in ("journey.dropoffs", "journey.outcomes")}
    dead_letters = _raw_topic(app, settings.dead_letter_topic)
    journeys = app.Table("journeys", partitions=partitions, key_type=bytes, value_type=bytes)

    async def emit(event: Event) -> None:
        record = encode(event, contracts)
        await sinks[record.topic].send(key=record.key, value=record.value, headers=record.headers)

    processor = TableProcessor(book, journeys, emit)
    app.processor = processor  # type: ignore[attr-defined]  # for tests and the benchmark

    guard = OffsetGuard(app, settings.processor_exit_on_gap)

    @app.agent(source, concurrency=1)
    async def process(stream: Any) -> None:
        async for record in stream.events():
            message = record.message
            guard.notice(message)
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

    watchdog = StallWatchdog(
        app,
        frozenset(sources),
        lambda: processor.core.counters.events + processor.core.counters.ticks,
        settings.processor_wedged_after_seconds,
    )
    app.timer(interval=settings.processor_watchdog_seconds)(watchdog.check)

    if settings.processor_clock_seconds > 0:
        clock = _raw_topic(app, CLOCK_TOPIC)

        async def tick_every_partition() -> None:
            now = datetime.now(UTC)
            for partition in range(partitions):
                record = encode(tick_event(partition, now, mode="live"), contracts)
                await clock.send(
                    key=record.key, value=record.value, headers=record.headers, partition=partition
                )

        app.timer(interval=settings.processor_clock_seconds, on_leader=True)(tick_every_partition)

    def on_rebalance(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        processor.forget_assignment()
        guard.forget()

    app.on_partitions_revoked.connect(on_rebalance)
    app.on_partitions_assigned.connect(on_rebalance)

    return app


def worker_arguments(settings: ProcessorSettings) -> list[str]:
    """The `faust worker` command line. faust's own defaults would turn the web server on,
    on 0.0.0.0:6066, whatever the app says: every web option is given here."""
    level = {"WARNING": "warn", "CRITICAL": "crit"}.get(settings.log_level.upper())
    arguments = ["worker", "--loglevel", level or settings.log_level.lower()]
    if not settings.processor_web_port:
        return [*arguments, "--without-web"]
    host, port = settings.processor_web_host, str(settings.processor_web_port)
    return [*arguments, "--with-web", "--web-bind", host, "--web-host", host, "--web-port", port]


def run(settings: ProcessorSettings) -> None:
    """Run a faust worker until it is stopped (faust reads its own options from argv)."""
    sys.argv = [sys.argv[0], *worker_arguments(settings)]
    create_app(settings).main()
