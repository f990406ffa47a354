# Long because: the transaction loop, its recovery and the rebalance callbacks share one
# consumer, producer and store; the order of their steps is what the fault tests prove.
"""The default engine: Kafka's consume-transform-produce loop, in transactions.

    journey-processor                     # PROCESSOR_ENGINE=kafka is the default

Each batch is one transaction: the records consumed go through the core, and the
outputs, one changelog record per journey that changed and the consumed offsets
(`send_offsets_to_transaction` with the consumer's group metadata, KIP-447) commit
together or not at all. Only then does the local store take the new state. So:

- a worker killed anywhere leaves nothing half-done: its open transaction is aborted (at
  once when it starts again under the same instance id, else after the transaction
  timeout) and the next owner restores the last committed state and re-reads the rest;
- a zombie (a worker paused while its partitions moved on) is fenced: its offsets carry
  an old group generation, the broker refuses them, and its transaction is aborted;
- on any error the worker aborts, reloads the affected partitions from its store, seeks
  back to the batch's first offsets and goes on, inside the process.

confluent-kafka (librdkafka) because aiokafka's transactional offset commit carries no
group generation (aiokafka#844), and librdkafka fetches and sends on C threads.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from journey_platform.clock import CLOCK_TOPIC
from journey_platform.consumer import expect_dead_letters, forget_lag, set_lag
from journey_platform.contracts import Contracts
from journey_platform.envelope import TRACEPARENT
from journey_platform.kafka import librdkafka_options
from journey_platform.metrics import (
    FLAGS_RAISED,
    FLAGS_RESOLVED,
    FLAGS_RETRACTED,
    PROCESSOR_COMMITS,
    PROCESSOR_LAST_COMMIT,
    PROCESSOR_RECORDS,
    PROCESSOR_TRANSACTION_DURATION,
)
from journey_processor.core.processor import PROCESSOR, JourneyProcessor
from journey_processor.engines.kafka.batch import Batch, ProcessingFailed
from journey_processor.engines.kafka.changelog import changelog_topic, ensure_changelog, restore
from journey_processor.engines.kafka.intake import Intake
from journey_processor.engines.kafka.store import LocalStore
from journey_processor.settings import ProcessorSettings, rule_book

log = logging.getLogger(__name__)
KAFKA_TIMEOUT = 30.0  # seconds for a transactional call before it counts as failed
ABORT_TIMEOUT = 5.0  # the old producer's abort, before a new one takes over anyway
FLAGS_BY_KIND = {"raised": FLAGS_RAISED, "resolved": FLAGS_RESOLVED, "retracted": FLAGS_RETRACTED}


class Worker:
    """One journey-processor worker of the default engine."""

    def __init__(self, settings: ProcessorSettings, contracts: Contracts | None = None) -> None:
        self.settings = settings
        self.contracts = contracts or Contracts.load(settings.schemas_dir)
        self.sources = self.contracts.consumed_by(PROCESSOR)
        expect_dead_letters(settings.processor_app_id, self.sources)
        self.changelog = changelog_topic(settings.processor_app_id)
        self.store = LocalStore(settings.processor_data_dir)
        self.core = JourneyProcessor(rule_book(settings, self.contracts), self.store.get)
        self.poison: dict[tuple[str, int, int], str] = {}  # records whose processing raised
        self.stopping = threading.Event()
        self.aborted = 0  # transactions aborted and retried: for tests and logs
        self._lag_measured = 0.0
        self._delivered: dict[int, int] = {}  # changelog partition -> next offset
        self._ticked: dict[int, float] = {}  # partition -> when the live clock last ticked it
        # Kept for fault tests: called inside every transaction, its outputs produced and
        # its changelog records not yet, so a test can hold a worker there (tests/integration/
        # processor_fault_point.py) instead of hoping a pause lands inside one.
        self.in_transaction: Callable[[], None] | None = None
        bootstrap: dict[str, str | int | float | bool] = {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            **librdkafka_options(settings.kafka_security),
        }
        self._bootstrap = bootstrap
        self.consumer = Consumer(
            bootstrap
            | {
                "group.id": settings.processor_app_id,
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # Range assigns partition n of every journey topic to the same worker.
                "partition.assignment.strategy": "range",
                "session.timeout.ms": int(settings.processor_session_timeout_seconds * 1000),
                "heartbeat.interval.ms": int(
                    min(3.0, settings.processor_session_timeout_seconds / 3) * 1000
                ),
            }
        )
        self.restorer = Consumer(
            bootstrap
            | {
                "group.id": f"{settings.processor_app_id}-restore",  # never commits
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        self.intake = Intake(self.consumer, CLOCK_TOPIC)
        self.producer = self._producer()

    # -- lifecycle ---------------------------------------------------------------------

    def run(self) -> None:
        """Process until `stopping` is set; then leave the group cleanly."""
        admin = AdminClient(self._bootstrap)
        ensure_changelog(admin, self.changelog, self.contracts.journey_partitions)
        self.consumer.subscribe(
            list(self.sources),
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._revoked,
        )
        limit, full = self.settings.processor_batch_records, False
        try:
            while not self.stopping.is_set():
                # After a full batch more is likely held already: no waiting for the next.
                self.intake.add(self._consume(wait=not full))
                messages = self.intake.take(limit)
                full = len(messages) >= limit
                ticks = self._live_ticks_due()
                if messages or ticks:
                    self._transact(messages, ticks)
                self._measure_lag()
        finally:
            self.consumer.close()  # revokes: every partition's store is closed
            self.restorer.close()
            self.store.close_all()
            log.info("worker stopped", extra={"counters": vars(self.core.counters)})

    def _consume(self, *, wait: bool) -> list[Message]:
        try:
            # A transaction's worth: behind a backlog the intake then holds enough for
            # `_take_more`, which may not consume itself.
            return self.consumer.consume(
                self.settings.processor_transaction_records,
                timeout=self.settings.processor_batch_wait_seconds if wait else 0,
            )
        except KafkaException as error:
            if error.args[0].fatal():
                raise
            log.warning("consumer error; going on", extra={"error": str(error)})
            return []

    def _producer(self) -> Producer:
        """A transactional producer; creating one under our id fences any previous one."""
        settings = self.settings
        transactional_id = f"{settings.processor_app_id}-{settings.processor_instance_id}"
        while True:
            producer = Producer(
                self._bootstrap
                | {
                    "transactional.id": transactional_id,
                    "transaction.timeout.ms": int(
                        settings.processor_transaction_timeout_seconds * 1000
                    ),
                    "partitioner": "murmur2_random",  # the Java client's, as aiokafka's
                    "linger.ms": 5,
                    "batch.size": 1_000_000,
                }
            )
            try:
                producer.init_transactions(KAFKA_TIMEOUT)
                return producer
            except KafkaException as error:
                log.warning("producer not ready; trying again", extra={"error": str(error)})
                if self.stopping.wait(1.0):
                    raise

    # -- one transaction ---------------------------------------------------------------

    def _transact(self, messages: list[Message], ticks: list[int]) -> None:
        started = time.perf_counter()
        batch = Batch(
            messages,
            core=self.core,
            producer=self.producer,
            contracts=self.contracts,
            settings_group=self.settings.processor_app_id,
            dead_letter_topic=self.settings.dead_letter_topic,
            validate_outputs=self.settings.processor_validate_outputs,
            poison=self.poison,
        )
        try:
            self.producer.begin_transaction()
            batch.process(ticks)
            self._take_more(
                batch, started, full=len(messages) >= self.settings.processor_batch_records
            )
            changes = self.core.take_changes()
            if self.in_transaction is not None:
                self.in_transaction()
            self._produce_changelog(changes, batch.traceparent)
            self._flush()  # serves the delivery reports: offsets
            if batch.offsets:
                self._send_offsets(batch.offsets)
            self._commit()
        except (KafkaException, ProcessingFailed) as error:
            self._recover(batch, error)
            return
        self.producer.poll(0)
        for partition, records in changes.items():
            # Committed: now, and only now, the local store takes the new state.
            self.store.write(partition, records, self._delivered.get(partition))
        self._committed(batch, started)

    def _take_more(self, batch: Batch, started: float, *, full: bool) -> None:
        """Behind a backlog, more batches into the same transaction, while they are at
        hand and the transaction's record and time budgets allow (settings)."""
        settings, limit = self.settings, self.settings.processor_batch_records
        # A fifth of the timeout at most: the last batch, the flush and the commit still
        # have to fit in, on a slow machine too.
        seconds = min(
            settings.processor_transaction_seconds,
            settings.processor_transaction_timeout_seconds / 5,
        )
        while (
            full
            and len(batch.records) + limit <= settings.processor_transaction_records
            and time.perf_counter() - started < seconds
            and not self.stopping.is_set()
        ):
            # Only what the intake holds: consuming here could serve a rebalance inside
            # the transaction, and a partition revoked and given back would be read again
            # from its committed offset while this transaction commits past it.
            messages = self.intake.take(limit)
            full = len(messages) >= limit
            if not messages:
                return
            batch.add(messages)
            batch.process()

    def _committed(self, batch: Batch, started: float) -> None:
        """The metrics of a committed batch."""
        PROCESSOR_TRANSACTION_DURATION.observe(time.perf_counter() - started)
        PROCESSOR_RECORDS.inc(len(batch.records))
        PROCESSOR_COMMITS.inc()
        PROCESSOR_LAST_COMMIT.set(time.time())
        for (kind, rule), count in batch.flags.items():
            FLAGS_BY_KIND[kind].labels(rule=rule).inc(count)

    def _measure_lag(self) -> None:
        """Each assigned partition's lag, at most once a second, idle or busy (a stale
        lag would keep the not-committing alert firing): the high watermark of the last
        fetch minus the position, both known locally, without asking the broker."""
        if time.monotonic() - self._lag_measured >= 1.0:
            self._lag_measured = time.monotonic()
            for tp in self.consumer.position(self.consumer.assignment()):
                _, high = self.consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0 and high >= 0:  # both known: fetched from, and positioned
                    set_lag(
                        self.settings.processor_app_id, tp.topic, tp.partition, high - tp.offset
                    )

    def _flush(self) -> None:
        """flush, with the producer's errors as KafkaException: once the broker has aborted
        a transaction that outlived its timeout, confluent-kafka's flush raises SystemError
        ("returned a result with an exception set") with the KafkaException as its cause,
        which would otherwise end the worker instead of sending it to `_recover`."""
        try:
            self.producer.flush(KAFKA_TIMEOUT)
        except SystemError as error:
            cause = error.__cause__ or error.__context__
            if isinstance(cause, KafkaException):
                raise cause from error
            raise

    def _send_offsets(self, offsets: list[TopicPartition]) -> None:
        """send_offsets_to_transaction, bounded: librdkafka can ignore its timeout and
        block for good when the group coordinator went away (#5456). The call runs on a
        thread of its own; past the timeout it counts as failed, and the new producer
        that recovery starts fences the stuck one, which then returns with an error."""
        metadata = self.consumer.consumer_group_metadata()
        producer, outcome = self.producer, Future[None]()

        def call() -> None:
            try:
                producer.send_offsets_to_transaction(offsets, metadata, KAFKA_TIMEOUT)
                outcome.set_result(None)
            except BaseException as error:  # handed over to the caller
                outcome.set_exception(error)

        threading.Thread(target=call, name="send-offsets", daemon=True).start()
        try:
            outcome.result(timeout=KAFKA_TIMEOUT + 5)
        except FutureTimeout:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "send_offsets stuck")) from None

    def _produce_changelog(
        self, changes: dict[int, list[tuple[bytes, bytes]]], traceparent: str | None
    ) -> None:
        self._delivered.clear()
        # The batch's trace, so an operator can tell which batch wrote a state.
        headers: list[tuple[str, str | bytes | None]] | None = (
            [(TRACEPARENT, traceparent.encode())] if traceparent else None
        )
        for partition, records in changes.items():
            last = len(records) - 1
            for index, (key, value) in enumerate(records):
                # The checkpoint is the offset after a partition's last record: only its
                # delivery report is needed (a partition's records are delivered in order,
                # and the commit fails if any is not).
                self.producer.produce(
                    self.changelog,
                    value,
                    key,
                    partition=partition,
                    headers=headers,
                    on_delivery=self._on_delivery if index == last else None,
                )

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        partition, offset = message.partition(), message.offset()
        if error is None and partition is not None and offset is not None:
            self._delivered[partition] = max(self._delivered.get(partition, 0), offset + 1)

    def _commit(self) -> None:
        for attempt in range(5):
            try:
                self.producer.commit_transaction(KAFKA_TIMEOUT)
                return
            except KafkaException as error:
                if not error.args[0].retriable() or attempt == 4:
                    raise

    def _recover(self, batch: Batch, error: Exception) -> None:
        """Abort, reload every assigned partition from the store (it holds only what was
        committed), seek back to the batch's first offsets, go on.

        The abort is done by a new producer under the same transactional id: starting it
        aborts whatever the old one left open and bumps the epoch, which also fences the
        old one for good. After a broker outage an old producer can hold stale
        coordinator state (librdkafka #5456, #5511), so it is never reused."""
        self.aborted += 1
        fenced = _fenced(error)
        try:
            self.producer.abort_transaction(ABORT_TIMEOUT)  # also says if we were fenced
        except KafkaException as refused:
            fenced = fenced or _fenced(refused)
        log.warning(
            "transaction aborted; reloading and reading the batch again",
            extra={"error": str(error), "fenced": fenced},
        )
        self.producer.purge()
        self.producer = self._producer()
        self.core.take_changes()  # drop what the aborted batch changed
        for partition in sorted(self.core.assigned):
            self.core.revoke(partition)
            self.core.assign(partition, self.store.items(partition))
        for tp in self.intake.rewind(batch.first_offsets):
            # Not ours any more: the next owner reads it from the committed offset.
            with contextlib.suppress(KafkaException):
                self.consumer.seek(tp)

    # -- rebalances --------------------------------------------------------------------

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions} | self.core.assigned)
        log.info("partitions assigned", extra={"partitions": numbers})
        self.intake.assigned(partitions)
        for partition in numbers:
            if partition not in self.core.assigned:
                self.store.open(partition)
                self._restore(partition)
                self.core.assign(partition, self.store.items(partition))
        log.info("partitions restored", extra={"partitions": sorted(self.core.assigned)})

    def _restore(self, partition: int) -> None:
        """Bring the store up to the changelog's committed end, however long the broker
        takes to answer: the partition cannot be processed before (progress is kept)."""

        def take(records: list[tuple[bytes, bytes]], reached: int) -> None:
            self.store.write(partition, records, reached)

        while True:
            try:
                restore(
                    self.restorer, self.changelog, partition, self.store.checkpoint(partition), take
                )
                return
            except (KafkaException, TimeoutError) as error:
                log.warning("restore interrupted; resuming", extra={"error": str(error)})
                if self.stopping.wait(1.0):
                    raise

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.intake.revoked(partitions)
        for tp in partitions:
            forget_lag(self.settings.processor_app_id, tp.topic, tp.partition)
        for partition in {tp.partition for tp in partitions}:
            self.core.revoke(partition)
            self.store.close(partition)
        log.info("partitions revoked", extra={"partitions": sorted(self.core.assigned)})

    # -- the live clock ----------------------------------------------------------------

    def _live_ticks_due(self) -> list[int]:
        """The partitions the live clock ticks now: each assigned one as soon as it is
        assigned, then every PROCESSOR_CLOCK_SECONDS (off when that is 0)."""
        every = self.settings.processor_clock_seconds
        if every <= 0:
            return []
        now = time.monotonic()
        due = [p for p in sorted(self.core.assigned) if now - self._ticked.get(p, -every) >= every]
        self._ticked.update((p, now) for p in due)
        return due


FENCING_ERRORS = frozenset(
    {
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError.REBALANCE_IN_PROGRESS,
    }
)


def _fenced(error: Exception) -> bool:
    return isinstance(error, KafkaException) and error.args[0].code() in FENCING_ERRORS


def _fatal(error: Exception) -> bool:
    return isinstance(error, KafkaException) and error.args[0].fatal()


def run(settings: ProcessorSettings) -> None:
    """Run one worker until SIGTERM or SIGINT."""
    worker = Worker(settings)

    def stop(*_: Any) -> None:
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()
