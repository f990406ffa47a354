"""Operations follow one trace from a partner's request to the drop-off flag it raised."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from journey_platform.contracts import Contracts
from journey_processor.engines.kafka.worker import Worker
from journey_processor.settings import ProcessorSettings
from tests.integration.journeys import Partner, days_ago
from tests.integration.kafka_helpers import collect, header, start_at_end
from tests.integration.processor_run import SOURCE_TOPICS
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration


async def test_one_trace_runs_from_the_partner_request_to_the_flag_it_raised(
    partner_services: dict[str, RunningService],
    tokens: Tokens,
    kafka: str,
    producer: AIOKafkaProducer,
    contracts: Contracts,
    spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    app_id = f"processor-trace-{uuid.uuid4().hex[:8]}"
    for topic in SOURCE_TOPICS:
        await start_at_end(kafka, app_id, topic)
    # The default engine, in this process (its spans reach the test's exporter), with no
    # clock at all: an immediate flag is raised as its event is processed, not at a tick.
    worker = Worker(
        ProcessorSettings(
            kafka_bootstrap_servers=kafka,
            processor_app_id=app_id,
            processor_data_dir=tmp_path,
            processor_clock_seconds=0,
            processor_validate_outputs=True,
        )
    )
    running = threading.Thread(target=worker.run, daemon=True)
    running.start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            police = Partner(client, partner_services["referral"], tokens, "police_force")
            report = await police.post(
                "/v1/duty-to-notify-reports",
                {
                    "occurred_at": days_ago(1),
                    "region": "london",
                    "exploitation_types": ["labour"],
                    "reason_declined": "fear_of_reprisal",
                },
            )
        journey = report["journey_id"].encode()
        [raised] = await collect(
            kafka,
            "journey.dropoffs",
            until=lambda kept: bool(kept),
            keep=lambda r: r.key == journey,
            timeout=120,
        )
    finally:
        worker.stopping.set()
        await asyncio.to_thread(running.join, 60)

    assert json.loads(raised.value)["rule_id"] == "adult-declined-referral"
    traceparent = header(raised, "traceparent")
    assert traceparent is not None
    trace_id = int(traceparent.split("-")[1], 16)
    finished = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    assert {
        "POST /v1/duty-to-notify-reports",
        "nrm.identification publish",
        "journey.process",
        "journey.dropoffs send",
    } <= {s.name for s in finished}
    # The flag carries its publication's span, whose event names the flag: what
    # `journey trace --flag` searches Jaeger for.
    [send] = [s for s in finished if s.context.span_id == int(traceparent.split("-")[2], 16)]
    assert send.name == "journey.dropoffs send"
    flag = json.loads(raised.value)
    assert (flag["flag_id"], header(raised, "ce_id")) in {
        (e.attributes["journey.flag_id"], e.attributes["messaging.message.id"])
        for e in send.events
        if e.attributes is not None
    }
