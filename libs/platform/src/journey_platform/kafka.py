"""Kafka plumbing: how every client authenticates, a producer that cannot lose or reorder,
and topics from the catalogue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from journey_platform.contracts import Contracts
from journey_platform.settings import KafkaSecurity

log = logging.getLogger(__name__)


def client_options(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """The keyword arguments that make an aiokafka producer, consumer or admin client
    authenticate as `security` says (read from the KAFKA_* environment when not given).

    Every client the apps create takes these, so a broker that demands SASL_SSL needs
    nothing more than the environment; unset, they are PLAINTEXT without credentials.
    """
    security = security or KafkaSecurity()
    options: dict[str, Any] = {"security_protocol": security.security_protocol}
    if security.uses_tls:
        cafile = str(security.ssl_cafile) if security.ssl_cafile else None
        options["ssl_context"] = create_ssl_context(cafile=cafile)
    if security.uses_sasl and security.sasl_password:
        options |= {
            "sasl_mechanism": security.sasl_mechanism,
            "sasl_plain_username": security.sasl_username,
            "sasl_plain_password": security.sasl_password.get_secret_value(),
        }
    return options


def librdkafka_options(security: KafkaSecurity | None = None) -> dict[str, str]:
    """`client_options` in librdkafka's words, for the confluent-kafka clients."""
    security = security or KafkaSecurity()
    options = {"security.protocol": security.security_protocol.lower()}
    if security.uses_tls and security.ssl_cafile:
        options["ssl.ca.location"] = str(security.ssl_cafile)
    if security.uses_sasl and security.sasl_username and security.sasl_password:
        options |= {
            "sasl.mechanism": security.sasl_mechanism,
            "sasl.username": security.sasl_username,
            "sasl.password": security.sasl_password.get_secret_value(),
        }
    return options


class UnsafeProducer(RuntimeError):
    """The producer is not idempotent with acks=all: it could lose or reorder events."""


def assert_idempotent(producer: AIOKafkaProducer) -> None:
    """Refuse to run on a producer that could drop or duplicate-and-reorder on retry.

    aiokafka exposes no public accessor, so this reads the sender's settings; a change
    there fails loudly here rather than silently weakening delivery.
    """
    acks = getattr(getattr(producer, "_sender", None), "_acks", None)
    transaction_manager = getattr(producer, "_txn_manager", None)
    if transaction_manager is None or acks != -1:
        raise UnsafeProducer(
            f"producer must have enable_idempotence=True and acks=all (got acks={acks!r}, "
            f"idempotence={'on' if transaction_manager else 'off'})"
        )


async def start_producer(
    bootstrap_servers: str, client_id: str, security: KafkaSecurity | None = None
) -> AIOKafkaProducer:
    """An idempotent producer (acks=all), started and checked."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        **client_options(security),
    )
    await producer.start()
    try:
        assert_idempotent(producer)
    except UnsafeProducer:
        await producer.stop()
        raise
    return producer


class TopicMismatch(RuntimeError):
    """An existing topic disagrees with the catalogue in a way that breaks co-partitioning."""


async def ensure_topics(
    bootstrap_servers: str,
    contracts: Contracts,
    *,
    replication_factor: int = 1,
    security: KafkaSecurity | None = None,
) -> list[str]:
    """Create every catalogued topic that is missing; return the names created.

    Existing topics must have the catalogued partition count: a journey topic with a
    different count would send one journey's events to different partition numbers.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client_options(security))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=replication_factor,
                topic_configs={
                    "cleanup.policy": spec.cleanup_policy,
                    "retention.ms": str(spec.retention_ms),
                },
            )
            for spec in contracts.topics.values()
            if spec.name not in existing
        ]
        if missing:
            # Another process may create them first: the partition check below still applies.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        described = await _described(admin, list(contracts.topics))
        for topic in described:
            spec = contracts.topics[topic["topic"]]
            if len(topic["partitions"]) != spec.partitions:
                raise TopicMismatch(
                    f"topic {spec.name} has {len(topic['partitions'])} partitions, "
                    f"the catalogue says {spec.partitions}"
                )
        created = [t.name for t in missing]
        if created:
            log.info("created topics", extra={"topics": created})
        return created
    finally:
        await admin.close()


async def _described(
    admin: AIOKafkaAdminClient, names: list[str], *, within: float = 30
) -> list[dict[str, Any]]:
    """describe_topics, asked again while a topic has no metadata yet: just after it is
    created (on a broker just started, seen under podman kube play) the answer for it is an
    error code and no partitions, which would read as a partition count of 0."""
    deadline = time.monotonic() + within
    while True:
        described: list[dict[str, Any]] = await admin.describe_topics(names)
        settled = all(t["error_code"] == 0 and t["partitions"] for t in described)
        if settled or time.monotonic() > deadline:
            return described
        await asyncio.sleep(0.2)  # polling the broker's metadata with a deadline


async def consumer_lag(
    bootstrap_servers: str,
    group: str,
    topics: Sequence[str],
    security: KafkaSecurity | None = None,
) -> int:
    """Records on `topics` that `group` has not yet committed (all of them, for a partition
    the group never committed): how far a consumer still has to go."""
    options = client_options(security)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **options)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, **options)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(list(topics))
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        done = {p: max(0, c.offset) for p, c in committed.items() if c is not None}  # -1: none
        return sum(max(0, end - done.get(p, 0)) for p, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def read_to_end(
    bootstrap_servers: str,
    partitions: Sequence[TopicPartition],
    *,
    since: Mapping[TopicPartition, int] | None = None,
    security: KafkaSecurity | None = None,
) -> AsyncGenerator[list[ConsumerRecord[bytes, bytes]], None]:
    """Every committed record on `partitions` (from the `since` offsets where given, else
    the beginning) up to the last stable offsets when the call starts, a batch at a time.

    No consumer group: nothing is committed and no consumer's position moves. For tools
    and tests that read a topic whole (dead letters, traces, checks); each poll returns
    within half a second, so the caller can bound the whole read.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **client_options(security),
    )
    await consumer.start()
    try:
        consumer.assign(list(partitions))
        await consumer.seek_to_beginning(*partitions)
        for partition, offset in (since or {}).items():
            if partition in partitions:
                consumer.seek(partition, offset)
        ends = await consumer.end_offsets(list(partitions))
        pending = {p for p in partitions if await consumer.position(p) < ends[p]}
        while pending:
            for partition, records in (await consumer.getmany(*pending, timeout_ms=500)).items():
                yield [r for r in records if r.offset < ends[partition]]
            done = {p for p in pending if await consumer.position(p) >= ends[p]}
            consumer.pause(*done)
            pending -= done
    finally:
        await consumer.stop()
