"""No identifying value submitted in this session appears on any topic or in any log line.

Runs after the other integration tests (files run in name order), so it scans everything
they produced as well as its own journey.
"""

from __future__ import annotations

import httpx
import pytest

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

pytestmark = pytest.mark.integration
TOPICS = ["nrm.identification", "nrm.support", "nrm.criminal-justice", "journey.deadletter"]


async def test_no_identifying_value_reaches_kafka_or_the_logs(
    partner_services: dict[str, RunningService],
    tokens: Tokens,
    kafka: str,
    service_logs: list[str],
) -> None:
    referral, support = partner_services["referral"], partner_services["support"]
    person = synthetic_person()
    async with httpx.AsyncClient(timeout=30) as client:
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
        # A request that fails validation must not echo the details into a log either.
        await police.post(
            "/v1/referrals", referral_body(person, gender=person["family_name"]), expect=422
        )

    values = [v for p in PEOPLE for v in identifying_values(p)]
    assert len(PEOPLE) >= 1 and person["family_name"] in values
    for topic in TOPICS:
        everything = await read_all(kafka, topic)
        blob = b"\n".join((r.value or b"") + b"".join(v for _, v in r.headers) for r in everything)
        leaked = [v for v in values if v.encode() in blob]
        assert leaked == [], f"{topic} carries identifying values"
    assert service_logs, "the services' log lines were captured"
    log_text = "\n".join(service_logs)
    assert [v for v in values if v in log_text] == []
