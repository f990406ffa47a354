"""A support provider asks for a negative decision to be reconsidered, on the real services
and Kafka: the referral service learns from `nrm.support` which provider a support request
names, and that provider, and no other, then takes part in the journey there."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.integration.journeys import Partner, days_ago, referred_and_decided
from tests.integration.services import AGENCIES, RunningService, Tokens

pytestmark = pytest.mark.integration

LEARNED_WITHIN_SECONDS = 30  # a deadline for a slow machine, not the measured lag
NAMED, OTHER = (a.id for a in AGENCIES if a.type.value == "support_provider")


async def _ask_to_reconsider(
    client: httpx.AsyncClient, referral: RunningService, tokens: Tokens, referral_id: str, by: str
) -> httpx.Response:
    return await client.post(
        f"{referral.url}/v1/referrals/{referral_id}/reconsideration-requests",
        json={"occurred_at": days_ago(30), "decision": "reasonable_grounds"},
        headers=tokens.headers(by),
    )


def _same_answer(response: httpx.Response) -> dict[str, Any]:
    return {k: v for k, v in response.json().items() if k not in ("request_id", "instance")}


async def test_the_provider_a_support_request_names_may_ask_for_a_reconsideration(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    async with httpx.AsyncClient(timeout=30) as client:
        made = await referred_and_decided(client, referral, tokens, "negative")
        referral_id, journey = made["resource_id"], made["journey_id"]
        # Not yet anybody's provider: the journey is not one it may see.
        before = await _ask_to_reconsider(client, referral, tokens, referral_id, NAMED)
        assert before.status_code == 404, before.text

        await Partner(client, partner_services["support"], tokens, "police_force").post_when_known(
            "/v1/support-cases",
            {
                "occurred_at": days_ago(32),
                "journey_id": journey,
                "support_route": "msvcc_adult",
                "provider_agency_id": NAMED,
            },
        )
        asked = time.monotonic()
        while (
            answer := await _ask_to_reconsider(client, referral, tokens, referral_id, NAMED)
        ).status_code == 404:
            assert _same_answer(answer) == _same_answer(before), "a 404 told more"
            assert time.monotonic() - asked < LEARNED_WITHIN_SECONDS, "the provider never joined"
            await asyncio.sleep(0.1)
        assert answer.status_code == 201, answer.text
        assert answer.json()["recorded_by"] == NAMED

        # Learnt in order per journey: nothing about it is left to learn, so another
        # provider's 404 is final.
        other = await _ask_to_reconsider(client, referral, tokens, referral_id, OTHER)
        assert other.status_code == 404, other.text
        assert _same_answer(other) == _same_answer(before)
