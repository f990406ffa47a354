"""No identifying value submitted in this session appears on any topic, in any log line,
in any webhook payload the flags service sent, or in any span the real trace backend
(Jaeger) holds.

Runs after the other integration tests (files run in name order), so it scans everything
they produced as well as its own journey.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from journey_cli.devstack.processes import free_port
from journey_platform.contracts import Contracts
from tests.integration import jaeger
from tests.integration.analytics_events import dropoff, publish
from tests.integration.flags_client import eventually, subscribe
from tests.integration.jaeger import wait_for_trace
from tests.integration.journeys import (
    PEOPLE,
    Partner,
    days_ago,
    identifying_values,
    referral_body,
    synthetic_person,
)
from tests.integration.kafka_helpers import read_all
from tests.integration.services import BY_TYPE, RunningService, Tokens
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.integration


async def _delivered(receiver: Receiver) -> bool:
    return bool(receiver.delivered())


async def test_no_identifying_value_reaches_kafka_or_the_logs(
    partner_services: dict[str, RunningService],
    flags_service: RunningService,
    contracts: Contracts,
    tokens: Tokens,
    kafka: str,
    producer: AIOKafkaProducer,
    service_logs: list[str],
    spans: InMemorySpanExporter,
) -> None:
    referral, support = partner_services["referral"], partner_services["support"]
    person = synthetic_person()
    hook = Receiver(free_port())  # the referring police force's webhook endpoint
    hook.up()
    async with httpx.AsyncClient(timeout=30) as client:
        await subscribe(client, flags_service, tokens, BY_TYPE["police_force"], hook)
        police = Partner(client, referral, tokens, "police_force")
        submitted = await police.post("/v1/referrals", referral_body(person))
        await Partner(client, referral, tokens, "competent_authority_sca").get(
            f"/v1/referrals/{submitted['resource_id']}/identity"
        )
        await Partner(client, support, tokens, "competent_authority_sca").post_when_known(
            "/v1/support-cases",
            {
                "occurred_at": days_ago(1),
                "journey_id": submitted["journey_id"],
                "support_route": "msvcc_adult",
                "provider_agency_id": BY_TYPE["support_provider"],
            },
        )
        # A flag on this person's journey: the police are told, by webhook.
        flag = dropoff(
            submitted["journey_id"], str(uuid.uuid4()), rule_id="re-referral", due=datetime.now(UTC)
        )
        await publish(producer, contracts, [flag])
        await eventually(lambda: _delivered(hook), "the flag's webhook at the police")
        hook.down()
        # A request that fails validation must not echo the details into a log either.
        await police.post(
            "/v1/referrals", referral_body(person, gender=person["family_name"]), expect=422
        )

    values = [v for p in PEOPLE for v in identifying_values(p)]
    assert len(PEOPLE) >= 1 and person["family_name"] in values
    for topic in contracts.topics:  # every topic in the catalogue
        everything = await read_all(kafka, topic)
        blob = b"\n".join((r.value or b"") + b"".join(v for _, v in r.headers) for r in everything)
        leaked = [v for v in values if v.encode() in blob]
        assert leaked == [], f"{topic} carries identifying values"
    assert service_logs, "the services' log lines were captured"
    log_text = "\n".join(service_logs)
    assert [v for v in values if v in log_text] == []

    # Every webhook the flags service queued or sent this session, this one's as it
    # arrived: ids, a rule and a time, nothing about a person.
    conn = await asyncpg.connect(flags_service.database_url)
    try:
        payloads = [
            r["payload"] for r in await conn.fetch("SELECT payload FROM webhook_deliveries")
        ]
    finally:
        await conn.close()
    sent = "\n".join([*payloads, *(a.body + str(a.headers) for a in hook.arrivals)])
    assert hook.arrivals and values, "a webhook was sent about this person's journey"
    assert [v for v in values if v in sent] == [], "a webhook payload carries identifying values"

    # Every span the real trace backend holds after the run: this session's services,
    # processors and sinks, and whatever else exported to it.
    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    assert flush is not None and flush()
    [posted] = [s for s in spans.get_finished_spans() if s.name == "POST /v1/referrals"][-1:]
    wait_for_trace(format(posted.context.trace_id, "032x"), has={"POST /v1/referrals"})
    held = jaeger.everything()
    assert b"POST /v1/referrals" in held
    assert [v for v in values if v.encode() in held] == [], "Jaeger holds identifying values"
