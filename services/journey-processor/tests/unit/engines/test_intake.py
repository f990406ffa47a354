"""The default engine's intake: records released in timestamp order across a journey
partition's topics, waiting for a source partition that may hold earlier ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from journey_processor.engines.kafka import intake
from journey_processor.engines.kafka.intake import Intake

CLOCK, REFERRALS, SUPPORT = "journey.clock", "nrm.identification", "nrm.support"


@dataclass
class FakeMessage:
    """What the intake reads of a confluent-kafka Message."""

    _topic: str
    _partition: int
    _offset: int
    _timestamp: int

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return (1, self._timestamp)  # TIMESTAMP_CREATE_TIME

    def error(self) -> None:
        return None


@dataclass
class FakeConsumer:
    """Positions and last stable offsets as librdkafka would report them."""

    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    ends: dict[tuple[str, int], int] = field(default_factory=dict)
    paused: set[tuple[str, int]] = field(default_factory=set)

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, 0) for tp in partitions]

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [
            TopicPartition(
                tp.topic, tp.partition, self.positions.get((tp.topic, tp.partition), -1001)
            )
            for tp in partitions
        ]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool) -> tuple[int, int]:
        return 0, self.ends.get((tp.topic, tp.partition), 0)

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused.update((tp.topic, tp.partition) for tp in partitions)

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused.difference_update((tp.topic, tp.partition) for tp in partitions)


def read(consumer: FakeConsumer, held: Intake, messages: list[FakeMessage]) -> None:
    """As the consumer hands records over: its positions move past them."""
    for m in messages:
        consumer.positions[m.topic(), m.partition()] = m.offset() + 1
    held.add(messages)  # type: ignore[arg-type]  # the fake has what the intake reads


def order(messages: list[Any]) -> list[tuple[str, int]]:
    return [(m.topic(), m.offset()) for m in messages]


def test_a_clock_read_ahead_waits_for_the_events_it_falls_between() -> None:
    consumer = FakeConsumer(ends={(CLOCK, 0): 3, (REFERRALS, 0): 2})
    held = Intake(consumer, CLOCK)  # type: ignore[arg-type]
    held.assigned([TopicPartition(CLOCK, 0), TopicPartition(REFERRALS, 0)])
    read(consumer, held, [FakeMessage(CLOCK, 0, n, 100 * (n + 1)) for n in range(3)])

    assert held.take(10) == []  # the referrals have more to read: nothing released yet
    read(consumer, held, [FakeMessage(REFERRALS, 0, 0, 150), FakeMessage(REFERRALS, 0, 1, 200)])

    # At equal timestamps the clock comes after the events, as a replay orders them.
    assert order(held.take(10)) == [
        (CLOCK, 0),
        (REFERRALS, 0),
        (REFERRALS, 1),
        (CLOCK, 1),
        (CLOCK, 2),
    ]


def test_a_caught_up_source_partition_holds_nothing_back() -> None:
    consumer = FakeConsumer(ends={(CLOCK, 0): 1, (REFERRALS, 0): 0})
    held = Intake(consumer, CLOCK)  # type: ignore[arg-type]
    held.assigned([TopicPartition(CLOCK, 0), TopicPartition(REFERRALS, 0)])
    read(consumer, held, [FakeMessage(CLOCK, 0, 0, 100)])
    assert order(held.take(10)) == [(CLOCK, 0)]


def test_waiting_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = FakeConsumer(ends={(CLOCK, 0): 1, (REFERRALS, 0): 5})  # says more, gives none
    held = Intake(consumer, CLOCK)  # type: ignore[arg-type]
    held.assigned([TopicPartition(CLOCK, 0), TopicPartition(REFERRALS, 0)])
    read(consumer, held, [FakeMessage(CLOCK, 0, 0, 100)])
    assert held.take(10) == []
    monkeypatch.setattr(intake, "IDLE_LIMIT", 0.0)
    assert order(held.take(10)) == [(CLOCK, 0)]


def test_groups_are_ordered_apart_and_none_is_starved() -> None:
    consumer = FakeConsumer(ends={(REFERRALS, 0): 2, (REFERRALS, 1): 2})
    held = Intake(consumer, CLOCK)  # type: ignore[arg-type]
    held.assigned([TopicPartition(REFERRALS, 0), TopicPartition(REFERRALS, 1)])
    read(consumer, held, [FakeMessage(REFERRALS, p, n, 500 - p) for p in (0, 1) for n in (0, 1)])
    first, second = held.take(2), held.take(2)
    assert {m.partition() for m in first} != {m.partition() for m in second}


def test_an_abort_reads_again_what_was_held_and_not_processed() -> None:
    consumer = FakeConsumer(ends={(CLOCK, 0): 3, (SUPPORT, 0): 9})
    held = Intake(consumer, CLOCK)  # type: ignore[arg-type]
    held.assigned([TopicPartition(CLOCK, 0), TopicPartition(SUPPORT, 0)])
    read(consumer, held, [FakeMessage(CLOCK, 0, n, 10 * n) for n in range(3)])
    read(consumer, held, [FakeMessage(SUPPORT, 0, 7, 15)])
    batch = held.take(2)  # clock 0, clock 1; support 7 and clock 2 stay held
    assert order(batch) == [(CLOCK, 0), (CLOCK, 1)]

    rewound = held.rewind([TopicPartition(CLOCK, 0, 0)])

    assert sorted((tp.topic, tp.offset) for tp in rewound) == [(CLOCK, 0), (SUPPORT, 7)]
    assert held.held() == 0


def test_a_source_partition_far_ahead_is_paused_until_it_drains(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake, "MAX_HELD", 4)
    consumer = FakeConsumer(ends={(CLOCK, 0): 6, (REFERRALS, 0): 0})
    held = Intake(consumer, CLOCK)  # type: ignore[arg-type]
    held.assigned([TopicPartition(CLOCK, 0), TopicPartition(REFERRALS, 0)])
    read(consumer, held, [FakeMessage(CLOCK, 0, n, n) for n in range(6)])
    assert consumer.paused == {(CLOCK, 0)}
    held.take(4)
    assert consumer.paused == set()


def test_nothing_assigned_releases_nothing() -> None:
    held = Intake(FakeConsumer(), CLOCK)  # type: ignore[arg-type]
    assert held.take(10) == []
    held.assigned([TopicPartition(CLOCK, 0)])
    held.revoked([TopicPartition(CLOCK, 0)])
    assert held.take(10) == []
