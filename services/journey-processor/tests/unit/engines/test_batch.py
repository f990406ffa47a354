"""A transaction of several batches: it commits past the last record it took, and after an
abort it is read again from the first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from journey_processor.engines.kafka.batch import Batch


@dataclass
class FakeMessage:
    """What a Batch reads of a confluent-kafka Message."""

    _topic: str
    _partition: int
    _offset: int

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"journey"

    def value(self) -> bytes:
        return b"{}"

    def headers(self) -> list[tuple[str, bytes]]:
        return []

    def error(self) -> None:
        return None


def messages(topic: str, partition: int, offsets: range) -> list[Any]:
    return [FakeMessage(topic, partition, offset) for offset in offsets]


def batch_of(first: list[Any]) -> Batch:
    nothing = cast(Any, None)  # neither core nor producer is used before `process`
    return Batch(
        first,
        core=nothing,
        producer=nothing,
        contracts=nothing,
        settings_group="processor",
        dead_letter_topic="dead-letters",
        validate_outputs=False,
        poison={},
    )


def test_a_transaction_of_several_batches_commits_past_its_last_record() -> None:
    batch = batch_of(messages("nrm.support", 0, range(10, 20)))
    batch.add(messages("nrm.support", 0, range(20, 30)) + messages("nrm.support", 1, range(5, 7)))

    assert {(tp.partition, tp.offset) for tp in batch.offsets} == {(0, 30), (1, 7)}
    # After an abort every partition is read again from the transaction's first record.
    assert {(tp.partition, tp.offset) for tp in batch.first_offsets} == {(0, 10), (1, 5)}
    assert len(batch.records) == 22
