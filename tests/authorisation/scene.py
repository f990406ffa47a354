"""Arranging journeys through the partner APIs as the agencies that would make them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from tests.authorisation.tables import COUNCIL, CPS, DECIDER, IECA, POLICE, SCA, SUPPORT, P, R, S
from tests.integration.journeys import days_ago, referral_body, synthetic_person
from tests.integration.services import BY_TYPE, Tokens


def assert_problem(response: httpx.Response, status: int, kind: str | None = None) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    if kind is not None:
        assert body["type"].rsplit("/", 1)[-1] == kind, body


@dataclass(frozen=True)
class Made:
    """What a setup POST made."""

    resource_id: str
    journey_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Target:
    path: str
    body: dict[str, Any] | None
    journey_id: str | None = None  # of an existing resource the write adds to


# Support and prosecution learn new journeys from Kafka: allow for a slow machine.
LEARNING_WITHIN = 120


# Make agencies participants of a journey in a service, where no record of theirs would.
TakePart = Callable[[str, str, Iterable[str]], Awaitable[None]]


class Api:
    """The three services, whichever way they run: a client each (its base URL set), and
    a way to make an agency a participant directly."""

    def __init__(
        self, clients: dict[str, httpx.AsyncClient], tokens: Tokens, take_part: TakePart
    ) -> None:
        self.clients = clients
        self.tokens = tokens
        self.take_part = take_part
        self._gate = asyncio.Semaphore(12)  # well under each service's pool of 20

    def auth(self, agency: str, scopes: Iterable[str] | None = None) -> dict[str, str]:
        return self.tokens.headers(agency, scopes=None if scopes is None else sorted(scopes))

    async def send(
        self,
        method: str,
        service: str,
        path: str,
        *,
        headers: dict[str, str],
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        async with self._gate:
            return await self.clients[service].request(method, path, json=body, headers=headers)

    async def record(
        self, service: str, path: str, body: dict[str, Any], *, agency: str, learning: bool = False
    ) -> Made:
        """POST as the agency (all scopes); with `learning`, wait out the Kafka lag."""
        deadline = time.monotonic() + LEARNING_WITHIN
        while True:
            response = await self.send("POST", service, path, headers=self.auth(agency), body=body)
            if learning and response.status_code == 404 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                continue
            assert response.status_code == 201, (path, agency, response.status_code, response.text)
            data = response.json()
            return Made(data["resource_id"], data["journey_id"], data["attributes"])


class Scene:
    def __init__(self, api: Api) -> None:
        self.api = api
        # Filled by `arrange_shared`: journeys every service knows, and shared resources.
        self.adult: Made  # a police referral (routed to the SCA), with a positive RG
        self.child: Made  # a child referred by the police, supported by a council
        self.in_support: dict[str, Made] = {}  # provider type -> an accepted support case
        self.crime: Made  # a criminal case on the adult journey

    async def referral(
        self, *, agency: str | None = None, ca: str = "sca", person: dict[str, Any] | None = None
    ) -> Made:
        body = referral_body(person or synthetic_person(), competent_authority=ca)
        return await self.api.record(R, "/v1/referrals", body, agency=agency or BY_TYPE[POLICE])

    async def child_referral(self) -> Made:
        born = date(date.today().year - 12, 3, 14).isoformat()
        person = {**synthetic_person(), "date_of_birth": born}
        body = referral_body(person, age_group="child", consent="not_required_child")
        return await self.api.record(R, "/v1/referrals", body, agency=BY_TYPE[POLICE])

    async def grounds(self, referral: Made, outcome: str) -> None:
        ca = str(referral.attributes["competent_authority"])
        await self.api.record(
            R,
            f"/v1/referrals/{referral.resource_id}/reasonable-grounds-decisions",
            {"occurred_at": days_ago(35), "outcome": outcome},
            agency=BY_TYPE[DECIDER[ca]],
        )

    async def reconsideration_request(self, referral: Made, *, agency: str) -> None:
        await self.api.record(
            R,
            f"/v1/referrals/{referral.resource_id}/reconsideration-requests",
            {"occurred_at": days_ago(30), "decision": "reasonable_grounds"},
            agency=agency,
        )

    async def detention(self, journey_id: str) -> Made:
        body = {"occurred_at": days_ago(20), "journey_id": journey_id, "reason": "pending_removal"}
        return await self.api.record(R, "/v1/immigration-detentions", body, agency=BY_TYPE[IECA])

    async def duty_to_notify(self, agency: str) -> Made:
        return await self.api.record(R, "/v1/duty-to-notify-reports", dtn_body(), agency=agency)

    async def support_case(
        self,
        provider: str,
        *,
        journey: Made | None = None,
        requester: str | None = None,
        state: str = "requested",
        learning: bool = False,
    ) -> Made:
        """A support case naming `provider` (an agency id), taken to `state`."""
        child = journey is None and provider == BY_TYPE[COUNCIL]
        journey = journey or (self.child if child else self.adult)
        route = "local_authority_child" if child else "msvcc_adult"
        requester = requester or BY_TYPE[POLICE if child else SCA]
        case = await self.api.record(
            S,
            "/v1/support-cases",
            {
                "occurred_at": days_ago(34),
                "journey_id": journey.journey_id,
                "support_route": route,
                "provider_agency_id": provider,
            },
            agency=requester,
            learning=learning,
        )
        path = f"/v1/support-cases/{case.resource_id}"
        if state in ("offered", "accepted"):
            body = {"occurred_at": days_ago(34), "support_route": route}
            await self.api.record(S, f"{path}/offers", body, agency=provider)
        if state == "accepted":
            await self.api.record(
                S, f"{path}/acceptance", {"occurred_at": days_ago(33)}, agency=provider
            )
        return case

    async def criminal_case(
        self, *, journey: Made | None = None, agency: str | None = None, learning: bool = False
    ) -> Made:
        body = {
            "occurred_at": days_ago(29),
            "journey_id": (journey or self.adult).journey_id,
            "offence": "modern_slavery_act_s2_human_trafficking",
            "police_force_region": "london",
        }
        return await self.api.record(
            P, "/v1/criminal-cases", body, agency=agency or BY_TYPE[POLICE], learning=learning
        )

    async def investigate(self, case: Made, *, close: bool = False, charge: bool = False) -> None:
        path = f"/v1/criminal-cases/{case.resource_id}"
        police, cps = BY_TYPE[POLICE], BY_TYPE[CPS]
        await self.api.record(
            P, f"{path}/investigation", {"occurred_at": days_ago(28)}, agency=police
        )
        if close or charge:
            closure = {"occurred_at": days_ago(12), "outcome": "referred_to_cps"}
            await self.api.record(P, f"{path}/investigation-closure", closure, agency=police)
        if charge:
            decision = {"occurred_at": days_ago(10), "decision": "charged", "offences_charged": 2}
            await self.api.record(P, f"{path}/charge-decision", decision, agency=cps)

    async def arrange_shared(self) -> None:
        self.adult, self.child = await asyncio.gather(self.referral(), self.child_referral())
        await self.grounds(self.adult, "positive")
        # Support and prosecution learn the journeys from Kafka: the first writes may 404.
        sp, council = BY_TYPE[SUPPORT], BY_TYPE[COUNCIL]
        accepted_sp, accepted_council, self.crime = await asyncio.gather(
            self.support_case(sp, state="accepted", learning=True),
            self.support_case(council, state="accepted", learning=True),
            self.criminal_case(learning=True),
        )
        self.in_support = {SUPPORT: accepted_sp, COUNCIL: accepted_council}


def dtn_body() -> dict[str, Any]:
    return {
        "occurred_at": days_ago(3),
        "region": "london",
        "exploitation_types": ["labour"],
        "reason_declined": "fear_of_reprisal",
    }
