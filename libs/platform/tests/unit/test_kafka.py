from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from journey_platform.kafka import UnsafeProducer, assert_idempotent


async def test_a_producer_without_idempotence_is_refused() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", acks=1)
    with pytest.raises(UnsafeProducer, match="enable_idempotence=True and acks=all"):
        assert_idempotent(producer)


async def test_an_idempotent_acks_all_producer_passes() -> None:
    assert_idempotent(AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", enable_idempotence=True))
