"""What an operator sees when a record cannot be read: the dead-letter metric in the real
Prometheus, and the dead-letter alert's expression firing on it.

A real journey-processor worker, its metrics port scraped by the devstack's Prometheus;
a plain Kafka client puts garbage bytes on a journey topic.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaProducer

from journey_cli.devstack import Stack
from journey_platform.settings import find_schemas_dir
from tests.integration.processor_run import Workers
from tests.integration.prometheus import query, wait_for

pytestmark = pytest.mark.integration
ALERTS = find_schemas_dir().parent / "deploy" / "observability" / "alerts.yaml"


def dead_letter_alert() -> dict[str, Any]:
    [alert] = [
        rule
        for group in yaml.safe_load(ALERTS.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule and "journey_dead_letters_total" in rule["expr"]
    ]
    assert isinstance(alert, dict)
    return alert


async def test_garbage_on_a_journey_topic_raises_the_dead_letter_metric_and_alert(
    kafka: str, producer: AIOKafkaProducer, tmp_path: Path
) -> None:
    workers = Workers(kafka, tmp_path)
    await workers.prepare()
    workers.start("a")
    stack, job = Stack.from_environment(), f"test-{workers.app_id}"
    stack.scrape(job, workers.metrics_ports["a"])
    try:
        wait_for(f'up{{job="{job}"}} == 1')
        await producer.send_and_wait(
            "nrm.identification", b"\x00garbage", key=f"journey-{uuid.uuid4()}".encode()
        )
        counted = wait_for(f'journey_dead_letters_total{{group="{workers.app_id}"}} > 0')
        # The lag of the worker's partitions is exported too.
        lag = wait_for(f'journey_consumer_lag_records{{group="{workers.app_id}"}}')
    finally:
        stack.unscrape(job)
        workers.stop_all()
    [series] = counted
    assert series["metric"]["topic"] == "nrm.identification"
    assert series["metric"]["reason"] == "envelope"
    assert {s["metric"]["topic"] for s in lag} >= {"nrm.identification"}
    # The alert's own expression, as Prometheus evaluates it, names this worker's group.
    alert = dead_letter_alert()
    firing = query(alert["expr"])
    assert workers.app_id in {s["metric"].get("group") for s in firing}, alert["expr"]
