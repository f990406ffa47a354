"""Operations follow one trace from a partner's request to the drop-off flag it raised."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from journey.app import ProcessorSettings, create_app
from journey_platform.contracts import Contracts
from tests.integration.journeys import Partner, days_ago
from tests.integration.kafka_helpers import collect, header, start_at_end
from tests.integration.processor_run import SOURCE_TOPICS, free_port
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
    processor = create_app(
        ProcessorSettings(
            kafka_bootstrap_servers=kafka,
            processor_app_id=app_id,
            processor_data_dir=tmp_path,
            processor_standby_replicas=0,
            processor_clock_seconds=0.5,
            processor_exit_on_gap=False,  # never end the test session
            processor_worker_port=free_port(),
        )
    )
    await processor.start()
    try:
        # The live clock (the leader's timer) reaches every partition first, so the report
        # raises its flag as it is processed, inside the trace of the request that made it.
        deadline = time.monotonic() + 60
        journeys = processor.processor.journeys  # type: ignore[attr-defined]
        while not all(journeys.get(f"clock-p{p}".encode()) for p in range(6)):
            assert time.monotonic() < deadline, "the live clock never ticked"
            await asyncio.sleep(0.1)
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
        await processor.stop()

    assert json.loads(raised.value)["rule_id"] == "adult-declined-referral"
    traceparent = header(raised, "traceparent")
    assert traceparent is not None
    trace_id = int(traceparent.split("-")[1], 16)
    in_trace = {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}
    assert {
        "POST /v1/duty-to-notify-reports",
        "nrm.identification publish",
        "journey.process",
    } <= in_trace
