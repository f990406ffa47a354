from __future__ import annotations

from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer

from journey_platform.kafka import UnsafeProducer, _described, assert_idempotent


async def test_a_producer_without_idempotence_is_refused() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", acks=1)
    with pytest.raises(UnsafeProducer, match="enable_idempotence=True and acks=all"):
        assert_idempotent(producer)


async def test_an_idempotent_acks_all_producer_passes() -> None:
    assert_idempotent(AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", enable_idempotence=True))


class JustCreated:
    """An admin client whose broker has no metadata yet for a topic it just created: the
    first answer is an error code and no partitions, as a broker just started gives."""

    def __init__(self) -> None:
        self.asked = 0

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        self.asked += 1
        if self.asked == 1:
            return [{"topic": n, "error_code": 5, "partitions": []} for n in names]
        return [{"topic": n, "error_code": 0, "partitions": [{"partition": 0}]} for n in names]


async def test_a_topic_without_metadata_yet_is_described_again() -> None:
    admin = JustCreated()
    [topic] = await _described(cast(Any, admin), ["journey.dropoffs"])
    assert topic["partitions"] == [{"partition": 0}]
    assert admin.asked == 2
