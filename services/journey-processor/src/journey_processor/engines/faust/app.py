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

import logging
import sys
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
from journey_processor.engines.faust.guards import OffsetGuard, StallWatchdog
from journey_processor.engines.faust.table import TableProcessor
from journey_processor.settings import ProcessorSettings, rule_book

log = logging.getLogger(__name__)


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


def create_app(settings: ProcessorSettings | None = None) -> faust.App:
    settings = settings or ProcessorSettings()
    contracts = Contracts.load(settings.schemas_dir)
    book = rule_book(settings, contracts)
    app = _faust_app(settings, contracts.journey_partitions)
    sinks = {name: _raw_topic(app, name) for name in ("journey.dropoffs", "journey.outcomes")}
    journeys = app.Table(
        "journeys", partitions=contracts.journey_partitions, key_type=bytes, value_type=bytes
    )

    async def emit(event: Event) -> None:
        record = encode(event, contracts)
        await sinks[record.topic].send(key=record.key, value=record.value, headers=record.headers)

    processor = TableProcessor(book, journeys, emit)
    app.processor = processor  # type: ignore[attr-defined]  # for tests and the benchmark
    guard = OffsetGuard(app, settings.processor_exit_on_gap)
    _add_agent(app, settings, contracts, processor, guard)

    watchdog = StallWatchdog(
        app,
        frozenset(contracts.consumed_by(PROCESSOR)),
        lambda: processor.core.counters.events + processor.core.counters.ticks,
        settings.processor_wedged_after_seconds,
    )
    app.timer(interval=settings.processor_watchdog_seconds)(watchdog.check)
    if settings.processor_clock_seconds > 0:
        _add_live_clock(app, settings, contracts)

    def on_rebalance(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        processor.forget_assignment()
        guard.forget()

    app.on_partitions_revoked.connect(on_rebalance)
    app.on_partitions_assigned.connect(on_rebalance)
    return app


def _faust_app(settings: ProcessorSettings, partitions: int) -> faust.App:
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
    return app


def _add_agent(
    app: faust.App,
    settings: ProcessorSettings,
    contracts: Contracts,
    processor: TableProcessor,
    guard: OffsetGuard,
) -> None:
    """The one agent: decode each record, hand it to the core, dead-letter what fails."""
    source = _raw_topic(app, *contracts.consumed_by(PROCESSOR))
    dead_letters = _raw_topic(app, settings.dead_letter_topic)

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


def _add_live_clock(app: faust.App, settings: ProcessorSettings, contracts: Contracts) -> None:
    """The leader ticks every journey partition on the wall clock (off under a simulation)."""
    clock = _raw_topic(app, CLOCK_TOPIC)

    async def tick_every_partition() -> None:
        now = datetime.now(UTC)
        for partition in range(contracts.journey_partitions):
            record = encode(tick_event(partition, now, mode="live"), contracts)
            await clock.send(
                key=record.key, value=record.value, headers=record.headers, partition=partition
            )

    app.timer(interval=settings.processor_clock_seconds, on_leader=True)(tick_every_partition)


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
