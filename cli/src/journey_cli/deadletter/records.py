"""What a dead letter says about itself, and the record that goes back when it is replayed.

Pure: no Kafka here. Only headers are ever read for display; a record's key and value are
carried, untouched and unprinted, from the dead-letter topic back to where it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from journey_platform.contracts import Contracts
from journey_platform.envelope import TRACEPARENT

# A dead letter's id: where it sits on the dead-letter topic, as `list` prints it and
# `replay --id` takes it. Declared here once.
ID_FORMAT = "<partition>:<offset>"
_ID = re.compile(r"(\d+):(\d+)")
# Every header dead_letter_headers adds starts with this; replay removes them all.
DLQ_PREFIX = "dlq_"

# aiokafka ships no type information: records are typed loosely here.
Record = Any


class Refused(Exception):
    """A request this command will not carry out (exit code 2); the message says why."""


@dataclass(frozen=True, order=True)
class DeadLetterId:
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> DeadLetterId:
        match = _ID.fullmatch(text.strip())
        if match is None:
            raise Refused(
                f"{text!r} is not a dead-letter id: ids are {ID_FORMAT} on the dead-letter "
                "topic, as `journey deadletter list` prints them (e.g. 1:42)"
            )
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"  # ID_FORMAT


def _text_headers(record: Record) -> dict[str, str]:
    """The headers as text; of a repeated name, the last wins (the latest dead-lettering)."""
    return {name: raw.decode(errors="replace") for name, raw in record.headers or ()}


def printable(text: str | None) -> str:
    """A header as one safe terminal field: a plain client can put anything in a header."""
    return "-" if not text else "".join(c if c.isprintable() else "?" for c in text)


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None


@dataclass(frozen=True)
class DeadLetter:
    """What the headers say about one dead letter: never its key or value."""

    id: DeadLetterId
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    consumer_group: str | None
    reason: str | None
    reason_code: str | None
    failed_at: str | None
    event_type: str | None
    event_id: str | None

    @classmethod
    def of(cls, record: Record) -> DeadLetter:
        headers = _text_headers(record)
        return cls(
            id=DeadLetterId(record.partition, record.offset),
            original_topic=headers.get("dlq_original_topic"),
            original_partition=_int(headers.get("dlq_original_partition")),
            original_offset=_int(headers.get("dlq_original_offset")),
            consumer_group=headers.get("dlq_consumer_group"),
            reason=headers.get("dlq_error"),
            reason_code=headers.get("dlq_reason"),
            failed_at=headers.get("dlq_failed_at"),
            event_type=headers.get("ce_type"),
            event_id=headers.get("ce_id"),
        )

    def matches(self, *, topic: str | None, group: str | None) -> bool:
        return (topic is None or self.original_topic == topic) and (
            group is None or self.consumer_group == group
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "consumer_group": self.consumer_group,
            "reason": self.reason,
            "reason_code": self.reason_code,
            "failed_at": self.failed_at,
            "event_type": self.event_type,
            "event_id": self.event_id,
        }

    def line(self) -> str:
        origin = (
            f"{printable(self.original_topic)}[{printable(str(self.original_partition))}]"
            f"@{printable(str(self.original_offset))}"
        )
        fields = [
            str(self.id),
            printable(self.failed_at),
            origin,
            printable(self.consumer_group),
            printable(self.event_type),
            printable(self.event_id),
            printable(self.reason),
        ]
        return "  ".join(fields)


LINE_COLUMNS = "id  failed_at  topic[partition]@offset  group  event_type  event_id  reason"


def original_headers(headers: Iterable[tuple[str, bytes]] | None) -> list[tuple[str, bytes]]:
    """The headers the record had before it was dead-lettered: no `dlq_*` header, and at
    most one `traceparent` (the first), so the replayed record joins its original trace."""
    kept: list[tuple[str, bytes]] = []
    traced = False
    for name, value in headers or ():
        if name.startswith(DLQ_PREFIX) or (name == TRACEPARENT and traced):
            continue
        traced = traced or name == TRACEPARENT
        kept.append((name, value))
    return kept


@dataclass(frozen=True)
class Replay:
    """One dead letter as it goes back: the original record, to its original place."""

    id: DeadLetterId
    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    event_type: str | None
    event_id: str | None

    @classmethod
    def of(cls, record: Record, *, contracts: Contracts, dead_letter_topic: str) -> Replay:
        described = DeadLetter.of(record)
        topic = described.original_topic
        if not topic:
            raise Refused(
                f"dead letter {described.id} has no dlq_original_topic header, so there is "
                "nowhere to replay it to; only records a consumer dead-lettered can be replayed"
            )
        spec = contracts.topics.get(topic)
        if spec is None or topic == dead_letter_topic:
            raise Refused(
                f"dead letter {described.id} came from {printable(topic)!r}: replay returns "
                "records only to the catalogued topics of schemas/topics.yaml, not to "
                f"{dead_letter_topic} itself"
            )
        # Its original partition, so it stays in order with its journey's other events
        # whichever client's partitioner first placed it.
        partition = described.original_partition
        return cls(
            id=described.id,
            topic=topic,
            partition=partition if partition is not None and partition < spec.partitions else None,
            key=record.key,
            value=record.value,
            headers=original_headers(record.headers),
            event_type=described.event_type,
            event_id=described.event_id,
        )
