"""Driving journeys through the partner APIs as the right agencies, with generated people."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from referral.testing import referral_body as generated_referral
from referral.testing import synthetic_person as generated_person
from tests.integration.services import BY_TYPE, RunningService, Tokens

# Every person submitted in this test session, so the privacy test can look for them all.
PEOPLE: list[dict[str, Any]] = []


def synthetic_person() -> dict[str, Any]:
    """A generated person (referral.testing), remembered for the privacy test."""
    person = generated_person(secrets.token_hex(4))
    PEOPLE.append(person)
    return person


def identifying_values(person: dict[str, Any]) -> list[str]:
    return [
        person["given_name"],
        person["family_name"],
        person["date_of_birth"],
        *person["other_names"],
    ]


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def referral_body(person: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A referral of `person` made 40 days ago (referral.testing)."""
    occurred_at = overrides.pop("occurred_at") if "occurred_at" in overrides else days_ago(40)
    return generated_referral(person, occurred_at, **overrides)


@dataclass
class Partner:
    """An HTTP client for one service, speaking as one agency type."""

    client: httpx.AsyncClient
    service: RunningService
    tokens: Tokens
    agency_type: str
    log: list[tuple[str, int]] = field(default_factory=list)

    async def post(self, path: str, body: dict[str, Any], *, expect: int = 201) -> dict[str, Any]:
        response = await self.client.post(
            self.service.url + path,
            json=body,
            headers=self.tokens.headers(BY_TYPE[self.agency_type]),
        )
        assert response.status_code == expect, (path, response.status_code, response.text)
        return dict(response.json())

    async def get(self, path: str, *, expect: int = 200) -> dict[str, Any]:
        response = await self.client.get(
            self.service.url + path, headers=self.tokens.headers(BY_TYPE[self.agency_type])
        )
        assert response.status_code == expect, (path, response.status_code, response.text)
        return dict(response.json())

    async def post_when_known(
        self, path: str, body: dict[str, Any], *, within: float = 30
    ) -> dict[str, Any]:
        """POST, retrying while the service has not yet learned the journey from Kafka."""
        deadline = time.monotonic() + within
        while True:
            response = await self.client.post(
                self.service.url + path,
                json=body,
                headers=self.tokens.headers(BY_TYPE[self.agency_type]),
            )
            if response.status_code != 404 or time.monotonic() > deadline:
                assert response.status_code == 201, (path, response.status_code, response.text)
                return dict(response.json())
            await asyncio.sleep(0.1)


async def referred_and_decided(
    client: httpx.AsyncClient, referral: RunningService, tokens: Tokens, outcome: str
) -> dict[str, Any]:
    """A generated person referred by the police to the SCA 40 days ago, with the SCA's
    Reasonable Grounds decision 5 days later: the referral's 201 body."""
    police = Partner(client, referral, tokens, "police_force")
    submitted = await police.post("/v1/referrals", referral_body(synthetic_person()))
    await Partner(client, referral, tokens, "competent_authority_sca").post(
        f"/v1/referrals/{submitted['resource_id']}/reasonable-grounds-decisions",
        {"occurred_at": days_ago(35), "outcome": outcome},
    )
    return submitted
