"""Who may do what: the authorisation matrix of the three partner APIs.

The tables below are written out by hand from the National Referral Mechanism, not read
from the services' action tables, so a wrong agency type or scope in the code shows up as
a failing cell:

- first responders (police, councils, designated NGOs) submit referrals; only public
  authorities (police, councils) owe the Duty to Notify (Modern Slavery Act 2015 s.52);
- the competent authorities (SCA, IECA) decide Reasonable and Conclusive Grounds and
  reconsiderations, and refer cases to the police; the IECA alone records immigration
  detention; a competent authority, as the controller of the identifying details, erases them;
- first responders and support providers ask for a reconsideration; the referrer or the
  competent authority may withdraw a referral;
- first responders and competent authorities ask for support; support providers (adults,
  MSVCC) and councils (children) record it; police may also report missing episodes;
- police record crimes, investigations, contact and statements; the CPS decides charges and
  records trial outcomes; either records engagement changes and a Section 45 defence.

Reads are need-to-know: an agency reads the records of journeys it takes part in (404
otherwise, so a journey's existence does not leak), whatever its type; the person's
identifying details only by first responders and competent authorities.

Every cell is its own test. Journeys and resources are made once for the module (a fresh
resource per allowed cell where its state matters), so each test is one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import pytest_asyncio

from journey_api.auth import SCOPES
from journey_api.tokens import DEV_AUDIENCE, DEV_ISSUER, DevelopmentSigner
from tests.integration.journeys import days_ago, referral_body, synthetic_person
from tests.integration.services import AGENCIES, BY_TYPE, RunningService, Tokens

pytestmark = pytest.mark.integration

# ---------------------------------------------------------------------------------------
# The expected tables, by hand.

POLICE = "police_force"
COUNCIL = "local_authority"
NGO = "ngo_first_responder"
HOME_OFFICE = "home_office_first_responder"
ANALYST = "analyst"  # reads analytics only: no partner record, to write or to read
SCA = "competent_authority_sca"
IECA = "competent_authority_ieca"
SUPPORT = "support_provider"
CPS = "cps"
PARTNERS = frozenset({POLICE, COUNCIL, NGO, HOME_OFFICE, SCA, IECA, SUPPORT, CPS})
ALL_TYPES = PARTNERS | {ANALYST}

FIRST_RESPONDERS = frozenset({POLICE, COUNCIL, NGO, HOME_OFFICE})
PUBLIC_AUTHORITIES = frozenset({POLICE, COUNCIL, HOME_OFFICE})  # who owes the Duty to Notify
COMPETENT_AUTHORITIES = frozenset({SCA, IECA})
PROVIDERS = frozenset({SUPPORT, COUNCIL})  # adults under the MSVCC; children by councils
CRIMINAL_JUSTICE = frozenset({POLICE, CPS})

# Every POST of the three services -> the agency types that may make it.
MAY_WRITE: dict[str, frozenset[str]] = {
    # referral service: identification and decisions
    "referral:/v1/referrals": FIRST_RESPONDERS,
    "referral:/v1/duty-to-notify-reports": PUBLIC_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions": COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions": COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/reconsideration-requests": FIRST_RESPONDERS | {SUPPORT},
    "referral:/v1/referrals/{resource_id}/reconsideration-decisions": COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/withdrawal": FIRST_RESPONDERS | COMPETENT_AUTHORITIES,
    "referral:/v1/referrals/{resource_id}/police-referrals": COMPETENT_AUTHORITIES,
    "referral:/v1/journeys/{journey_id}/erasure": COMPETENT_AUTHORITIES,
    "referral:/v1/immigration-detentions": frozenset({IECA}),
    "referral:/v1/immigration-detentions/{resource_id}/release": frozenset({IECA}),
    # support service: protection
    "support:/v1/support-cases": FIRST_RESPONDERS | COMPETENT_AUTHORITIES,
    "support:/v1/support-cases/{resource_id}/offers": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/acceptance": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/decline": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/first-contact": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/accommodation-stays": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/accommodation-departures": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/contacts": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/needs-assessments": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/legal-representation-requests": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/legal-representation": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/missing-episodes": PROVIDERS | {POLICE},
    "support:/v1/support-cases/{resource_id}/missing-episode-ends": PROVIDERS | {POLICE},
    "support:/v1/support-cases/{resource_id}/recovery-needs-assessments": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/move-on-plans": PROVIDERS,
    "support:/v1/support-cases/{resource_id}/end": PROVIDERS,
    # prosecution service: criminal justice
    "prosecution:/v1/criminal-cases": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/investigation": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/investigation-closure": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/victim-contacts": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/statements": frozenset({POLICE}),
    "prosecution:/v1/criminal-cases/{resource_id}/engagement-changes": CRIMINAL_JUSTICE,
    "prosecution:/v1/criminal-cases/{resource_id}/charge-decision": frozenset({CPS}),
    "prosecution:/v1/criminal-cases/{resource_id}/trial-outcome": frozenset({CPS}),
    "prosecution:/v1/criminal-cases/{resource_id}/section-45-defences": CRIMINAL_JUSTICE,
}

# Every GET (but the probes) -> the agency types that may make it, when they take part.
MAY_READ: dict[str, frozenset[str]] = {
    "referral:/v1/referrals/{resource_id}": PARTNERS,
    "referral:/v1/referrals": PARTNERS,
    "referral:/v1/referrals/{resource_id}/identity": FIRST_RESPONDERS | COMPETENT_AUTHORITIES,
    "referral:/v1/duty-to-notify-reports/{resource_id}": PARTNERS,
    "referral:/v1/duty-to-notify-reports": PARTNERS,
    "referral:/v1/immigration-detentions/{resource_id}": PARTNERS,
    "referral:/v1/immigration-detentions": PARTNERS,
    "referral:/v1/journeys/{journey_id}/timeline": PARTNERS,
    "support:/v1/support-cases/{resource_id}": PARTNERS,
    "support:/v1/support-cases": PARTNERS,
    "support:/v1/journeys/{journey_id}/timeline": PARTNERS,
    "prosecution:/v1/criminal-cases/{resource_id}": PARTNERS,
    "prosecution:/v1/criminal-cases": PARTNERS,
    "prosecution:/v1/journeys/{journey_id}/timeline": PARTNERS,
}

# The one scope each endpoint needs: a token with only that scope must do.
WRITE_SCOPE: dict[str, str] = {
    "referral:/v1/referrals": "referrals:write",
    "referral:/v1/duty-to-notify-reports": "referrals:write",
    "referral:/v1/referrals/{resource_id}/reconsideration-requests": "referrals:write",
    "referral:/v1/referrals/{resource_id}/withdrawal": "referrals:write",
    "referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions": "decisions:write",
    "referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions": "decisions:write",
    "referral:/v1/referrals/{resource_id}/reconsideration-decisions": "decisions:write",
    "referral:/v1/referrals/{resource_id}/police-referrals": "decisions:write",
    "referral:/v1/journeys/{journey_id}/erasure": "erasure:write",
    "referral:/v1/immigration-detentions": "detention:write",
    "referral:/v1/immigration-detentions/{resource_id}/release": "detention:write",
    **{key: "support:write" for key in MAY_WRITE if key.startswith("support:")},
    **{key: "justice:write" for key in MAY_WRITE if key.startswith("prosecution:")},
}
READ_SCOPE: dict[str, str] = {
    "referral:/v1/referrals/{resource_id}": "referrals:read",
    "referral:/v1/referrals": "referrals:read",
    "referral:/v1/referrals/{resource_id}/identity": "identity:read",
    "referral:/v1/duty-to-notify-reports/{resource_id}": "referrals:read",
    "referral:/v1/duty-to-notify-reports": "referrals:read",
    "referral:/v1/immigration-detentions/{resource_id}": "referrals:read",
    "referral:/v1/immigration-detentions": "referrals:read",
    "referral:/v1/journeys/{journey_id}/timeline": "referrals:read",
    "support:/v1/support-cases/{resource_id}": "support:read",
    "support:/v1/support-cases": "support:read",
    "support:/v1/journeys/{journey_id}/timeline": "support:read",
    "prosecution:/v1/criminal-cases/{resource_id}": "justice:read",
    "prosecution:/v1/criminal-cases": "justice:read",
    "prosecution:/v1/journeys/{journey_id}/timeline": "justice:read",
}

SUCCESS = {"referral:/v1/journeys/{journey_id}/erasure": 200}  # otherwise 201 Created

# ---------------------------------------------------------------------------------------
# Agencies and plumbing.

R, S, P = "referral", "support", "prosecution"
ROUTED_TO = {SCA: "sca", IECA: "ieca"}
DECIDER = {"sca": SCA, "ieca": IECA}
# A second agency of a type, for "the right type, but not on this journey".
OTHER_AGENCY = {
    t: next(a.id for a in AGENCIES if a.type.value == t and a.id != BY_TYPE[t])
    for t in sorted(ALL_TYPES)
    if sum(a.type.value == t for a in AGENCIES) > 1
}


def service_of(key: str) -> str:
    return key.split(":", 1)[0]


def path_of(key: str) -> str:
    return key.split(":", 1)[1]


def first_allowed(table: dict[str, frozenset[str]], key: str) -> str:
    return sorted(table[key])[0]


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


class Api:
    def __init__(
        self, client: httpx.AsyncClient, services: dict[str, RunningService], tokens: Tokens
    ) -> None:
        self.client = client
        self.services = services
        self.tokens = tokens
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
            return await self.client.request(
                method, self.services[service].url + path, json=body, headers=headers
            )

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


async def take_part(service: RunningService, journey_id: str, agencies: Iterable[str]) -> None:
    """Make agencies participants where no record of theirs in this service would.

    Reads are gated by taking part alone; the domain gives e.g. the CPS no record in the
    referral service, so its "participant" cells are arranged here directly.
    """
    conn = await asyncpg.connect(service.database_url)
    try:
        await conn.executemany(
            """INSERT INTO journey_participants (journey_id, agency_id) VALUES ($1, $2)
               ON CONFLICT DO NOTHING""",
            [(journey_id, agency) for agency in agencies],
        )
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------
# Arranging journeys as the agencies that would make them.


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


# ---------------------------------------------------------------------------------------
# A target in the right state for each write, for an agency of type `t` allowed to make it.

Prepare = Callable[[Scene, str], Awaitable[Target]]
PREPARE: dict[str, Prepare] = {}


def prepares(key: str) -> Callable[[Prepare], Prepare]:
    def register(function: Prepare) -> Prepare:
        PREPARE[key] = function
        return function

    return register


def on(key: str, made: Made | None = None, body: dict[str, Any] | None = None) -> Target:
    ids = {"resource_id": made.resource_id, "journey_id": made.journey_id} if made else {}
    return Target(path_of(key).format(**ids), body, made.journey_id if made else None)


@prepares("referral:/v1/referrals")
async def _submit(scene: Scene, t: str) -> Target:
    return on("referral:/v1/referrals", body=referral_body(synthetic_person()))


@prepares("referral:/v1/duty-to-notify-reports")
async def _notify(scene: Scene, t: str) -> Target:
    return on("referral:/v1/duty-to-notify-reports", body=dtn_body())


@prepares("referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions")
async def _rg(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    body = {"occurred_at": days_ago(35), "outcome": "positive"}
    return on("referral:/v1/referrals/{resource_id}/reasonable-grounds-decisions", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions")
async def _cg(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    await scene.grounds(referral, "positive")
    body = {"occurred_at": days_ago(8), "outcome": "positive"}
    return on("referral:/v1/referrals/{resource_id}/conclusive-grounds-decisions", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/reconsideration-requests")
async def _ask_again(scene: Scene, t: str) -> Target:
    referral = await scene.referral(agency=BY_TYPE[t] if t in FIRST_RESPONDERS else None)
    await scene.grounds(referral, "negative")
    body = {"occurred_at": days_ago(30), "decision": "reasonable_grounds"}
    return on("referral:/v1/referrals/{resource_id}/reconsideration-requests", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/reconsideration-decisions")
async def _reconsider(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    await scene.grounds(referral, "negative")
    await scene.reconsideration_request(referral, agency=BY_TYPE[POLICE])
    body = {"occurred_at": days_ago(25), "decision": "reasonable_grounds", "outcome": "overturned"}
    return on("referral:/v1/referrals/{resource_id}/reconsideration-decisions", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/withdrawal")
async def _withdraw(scene: Scene, t: str) -> Target:
    if t in FIRST_RESPONDERS:  # the referrer withdraws its own referral
        referral = await scene.referral(agency=BY_TYPE[t])
    else:
        referral = await scene.referral(ca=ROUTED_TO[t])
    body = {"occurred_at": days_ago(20), "reason": "consent_withdrawn"}
    return on("referral:/v1/referrals/{resource_id}/withdrawal", referral, body)


@prepares("referral:/v1/referrals/{resource_id}/police-referrals")
async def _to_police(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca=ROUTED_TO[t])
    body = {"occurred_at": days_ago(30), "basis": "with_consent", "region": "london"}
    return on("referral:/v1/referrals/{resource_id}/police-referrals", referral, body)


@prepares("referral:/v1/journeys/{journey_id}/erasure")
async def _erase(scene: Scene, t: str) -> Target:
    return on("referral:/v1/journeys/{journey_id}/erasure", await scene.referral(ca=ROUTED_TO[t]))


@prepares("referral:/v1/immigration-detentions")
async def _detain(scene: Scene, t: str) -> Target:
    referral = await scene.referral(ca="ieca")
    body = {"occurred_at": days_ago(20), "journey_id": referral.journey_id, "reason": "other"}
    return on("referral:/v1/immigration-detentions", body=body)


@prepares("referral:/v1/immigration-detentions/{resource_id}/release")
async def _release(scene: Scene, t: str) -> Target:
    detention = await scene.detention((await scene.referral(ca="ieca")).journey_id)
    body = {"occurred_at": days_ago(10), "reason": "released"}
    return on("referral:/v1/immigration-detentions/{resource_id}/release", detention, body)


@prepares("support:/v1/support-cases")
async def _request_support(scene: Scene, t: str) -> Target:
    body = {
        "occurred_at": days_ago(34),
        "journey_id": scene.adult.journey_id,
        "support_route": "msvcc_adult",
        "provider_agency_id": BY_TYPE[SUPPORT],
    }
    return on("support:/v1/support-cases", body=body)


def _route(t: str) -> str:
    return "local_authority_child" if t == COUNCIL else "msvcc_adult"


@prepares("support:/v1/support-cases/{resource_id}/offers")
async def _offer(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t])
    body = {"occurred_at": days_ago(34), "support_route": _route(t)}
    return on("support:/v1/support-cases/{resource_id}/offers", case, body)


@prepares("support:/v1/support-cases/{resource_id}/acceptance")
async def _accept(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t], state="offered")
    body = {"occurred_at": days_ago(33)}
    return on("support:/v1/support-cases/{resource_id}/acceptance", case, body)


@prepares("support:/v1/support-cases/{resource_id}/decline")
async def _decline(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t], state="offered")
    body = {"occurred_at": days_ago(33), "reason": "own_arrangements"}
    return on("support:/v1/support-cases/{resource_id}/decline", case, body)


IN_SUPPORT_BODIES: dict[str, dict[str, Any]] = {
    "first-contact": {"contact_mode": "in_person"},
    "accommodation-stays": {"accommodation_type": "safe_house"},
    "contacts": {"contact_mode": "phone", "initiated_by": "support_worker"},
    "needs-assessments": {"need_areas": ["legal", "medical"], "priority": "high"},
    "legal-representation-requests": {"matter": "immigration"},
    "legal-representation": {"matter": "immigration", "legal_aid": True},
    "recovery-needs-assessments": {"outcome": "support_extended", "extension_days": 90},
    "move-on-plans": {"support_days": 90, "destination": "mainstream_housing"},
}


def _in_support(key: str, fields: dict[str, Any]) -> Prepare:
    async def prepare(scene: Scene, t: str) -> Target:
        # Repeatable records: the provider's one accepted case serves every cell.
        return on(key, scene.in_support[t], {"occurred_at": days_ago(30), **fields})

    return prepare


for _name, _fields in IN_SUPPORT_BODIES.items():
    _key = f"support:/v1/support-cases/{{resource_id}}/{_name}"
    PREPARE[_key] = _in_support(_key, _fields)


@prepares("support:/v1/support-cases/{resource_id}/accommodation-departures")
async def _leave(scene: Scene, t: str) -> Target:
    case = scene.in_support[t]
    body = {"occurred_at": days_ago(31), "accommodation_type": "safe_house"}
    stay = await scene.api.record(
        S, f"/v1/support-cases/{case.resource_id}/accommodation-stays", body, agency=BY_TYPE[t]
    )
    body = {"occurred_at": days_ago(5), "stay_id": stay.attributes["stay_id"], "reason": "moved_on"}
    return on("support:/v1/support-cases/{resource_id}/accommodation-departures", case, body)


def _missing() -> dict[str, Any]:
    return {
        "occurred_at": days_ago(20),
        "from_accommodation_type": "safe_house",
        "risk_level": "high",
    }


@prepares("support:/v1/support-cases/{resource_id}/missing-episodes")
async def _go_missing(scene: Scene, t: str) -> Target:
    case = scene.in_support[COUNCIL if t == COUNCIL else SUPPORT]
    return on("support:/v1/support-cases/{resource_id}/missing-episodes", case, _missing())


@prepares("support:/v1/support-cases/{resource_id}/missing-episode-ends")
async def _come_back(scene: Scene, t: str) -> Target:
    case = scene.in_support[COUNCIL if t == COUNCIL else SUPPORT]
    episode = await scene.api.record(
        S, f"/v1/support-cases/{case.resource_id}/missing-episodes", _missing(), agency=BY_TYPE[t]
    )
    body = {
        "occurred_at": days_ago(19),
        "episode_id": episode.attributes["episode_id"],
        "outcome": "found_by_police" if t == POLICE else "returned",
        "duration_hours": 30,
    }
    return on("support:/v1/support-cases/{resource_id}/missing-episode-ends", case, body)


@prepares("support:/v1/support-cases/{resource_id}/end")
async def _end(scene: Scene, t: str) -> Target:
    case = await scene.support_case(BY_TYPE[t], state="accepted")
    body = {"occurred_at": days_ago(1), "reason": "move_on_completed"}
    return on("support:/v1/support-cases/{resource_id}/end", case, body)


@prepares("prosecution:/v1/criminal-cases")
async def _record_crime(scene: Scene, t: str) -> Target:
    body = {
        "occurred_at": days_ago(29),
        "journey_id": scene.adult.journey_id,
        "offence": "modern_slavery_act_s1_slavery_servitude_forced_labour",
        "police_force_region": "london",
    }
    return on("prosecution:/v1/criminal-cases", body=body)


@prepares("prosecution:/v1/criminal-cases/{resource_id}/investigation")
async def _open(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    return on(
        "prosecution:/v1/criminal-cases/{resource_id}/investigation",
        case,
        {"occurred_at": days_ago(28)},
    )


@prepares("prosecution:/v1/criminal-cases/{resource_id}/investigation-closure")
async def _close(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    await scene.investigate(case)
    body = {"occurred_at": days_ago(12), "outcome": "referred_to_cps"}
    return on("prosecution:/v1/criminal-cases/{resource_id}/investigation-closure", case, body)


@prepares("prosecution:/v1/criminal-cases/{resource_id}/charge-decision")
async def _charge(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    await scene.investigate(case, close=True)
    body = {"occurred_at": days_ago(10), "decision": "charged", "offences_charged": 1}
    return on("prosecution:/v1/criminal-cases/{resource_id}/charge-decision", case, body)


@prepares("prosecution:/v1/criminal-cases/{resource_id}/trial-outcome")
async def _try(scene: Scene, t: str) -> Target:
    case = await scene.criminal_case()
    await scene.investigate(case, charge=True)
    body = {"occurred_at": days_ago(2), "outcome": "convicted", "modern_slavery_conviction": True}
    return on("prosecution:/v1/criminal-cases/{resource_id}/trial-outcome", case, body)


CASE_BODIES: dict[str, dict[str, Any]] = {
    "victim-contacts": {"contact_mode": "in_person", "initiated_by": "police"},
    "statements": {"statement_type": "witness_statement"},
    "engagement-changes": {"status": "withdrew", "reason": "fear_of_reprisal"},
    "section-45-defences": {
        "person_role": "suspect",
        "offence_category": "drugs",
        "schedule_4_excluded": False,
    },
}


def _on_case(key: str, fields: dict[str, Any]) -> Prepare:
    async def prepare(scene: Scene, t: str) -> Target:
        return on(key, scene.crime, {"occurred_at": days_ago(21), **fields})  # repeatable

    return prepare


for _name, _fields in CASE_BODIES.items():
    _key = f"prosecution:/v1/criminal-cases/{{resource_id}}/{_name}"
    PREPARE[_key] = _on_case(_key, _fields)


# ---------------------------------------------------------------------------------------
# What each agency reads: one journey it takes part in, one it does not.


@dataclass
class View:
    """The resources behind each read endpoint, as (resource id, journey id)."""

    referral: tuple[str, str]
    duty_to_notify: tuple[str, str]
    detention: tuple[str, str] | None
    support: tuple[str, str]
    crime: tuple[str, str]

    def resource(self, key: str) -> tuple[str, str] | None:
        service, path = service_of(key), path_of(key)
        if path.endswith("/timeline"):
            return {R: self.referral, S: self.support, P: self.crime}[service]
        collection = path.split("/")[2]
        return {
            "referrals": self.referral,
            "duty-to-notify-reports": self.duty_to_notify,
            "immigration-detentions": self.detention,
            "support-cases": self.support,
            "criminal-cases": self.crime,
        }[collection]


def pair(made: Made) -> tuple[str, str]:
    return made.resource_id, made.journey_id


async def join_by(
    record: Awaitable[object], service: RunningService, journey_id: str, agency: str
) -> None:
    """Join the journey by the record the agency would make. Should the service refuse it
    (a write cell then fails and says why), take part anyway: the reads are still tested."""
    try:
        await record
    except AssertionError:
        await take_part(service, journey_id, [agency])


async def arrange_reads(scene: Scene, services: dict[str, RunningService]) -> dict[str, View]:
    """'participant': every BY_TYPE agency takes part; 'outsider': none does.

    Participation comes from the records each agency would make; only where the domain
    gives an agency no record in a service (the CPS in referral, say) is it arranged.
    """
    api, person = scene.api, synthetic_person()
    police, council, ngo = BY_TYPE[POLICE], BY_TYPE[COUNCIL], BY_TYPE[NGO]
    home_office = BY_TYPE[HOME_OFFICE]
    sca, ieca, provider, cps = BY_TYPE[SCA], BY_TYPE[IECA], BY_TYPE[SUPPORT], BY_TYPE[CPS]
    outsider_police, outsider_provider = OTHER_AGENCY[POLICE], OTHER_AGENCY[SUPPORT]
    referral, support, prosecution = services[R], services[S], services[P]

    # Referral service: referred by the police to the SCA, re-referred by a council and an
    # NGO, detained by the IECA; a support provider asks to reconsider a negative decision.
    first = await scene.referral(agency=police, person=person)
    journey = first.journey_id

    async def reconsider() -> None:
        await scene.grounds(first, "negative")
        await scene.reconsideration_request(first, agency=provider)

    (detention, notified, outsider, outsider_sca, notified_outside), *_ = await asyncio.gather(
        asyncio.gather(
            scene.detention(journey),
            scene.duty_to_notify(police),
            scene.referral(agency=outsider_police, ca="ieca"),
            scene.referral(agency=outsider_police, ca="sca"),
            scene.duty_to_notify(outsider_police),
        ),
        join_by(scene.referral(agency=council, person=person), referral, journey, council),
        join_by(scene.referral(agency=ngo, person=person), referral, journey, ngo),
        join_by(reconsider(), referral, journey, provider),
        join_by(scene.referral(agency=home_office, person=person), referral, journey, home_office),
        take_part(referral, journey, [cps]),
    )
    # A Duty to Notify report is anonymous: its own journey, with only the reporter on it.
    await take_part(
        referral, notified.journey_id, [council, ngo, home_office, sca, ieca, provider, cps]
    )
    outside_detention = await scene.detention(outsider.journey_id)

    # Support: asked for by the SCA, the council and the NGO and the IECA, provided by
    # the provider; the police report a missing episode.
    case, outside_case = await asyncio.gather(
        scene.support_case(provider, journey=first, requester=sca, learning=True),
        scene.support_case(
            outsider_provider, journey=outsider, requester=outsider_police, learning=True
        ),
    )
    missing = f"/v1/support-cases/{case.resource_id}/missing-episodes"
    await asyncio.gather(
        *(
            join_by(scene.support_case(provider, journey=first, requester=a), support, journey, a)
            for a in (council, ngo, home_office, ieca)
        ),
        join_by(api.record(S, missing, _missing(), agency=police), support, journey, police),
        take_part(support, journey, [cps]),
    )

    # Prosecution: the police record the crime; the CPS records the victim's engagement.
    crime, outside_crime = await asyncio.gather(
        scene.criminal_case(journey=first, agency=police, learning=True),
        scene.criminal_case(journey=outsider, agency=outsider_police, learning=True),
    )
    engagement = {"occurred_at": days_ago(21), "status": "engaged", "reason": "other"}
    path = f"/v1/criminal-cases/{crime.resource_id}/engagement-changes"
    await asyncio.gather(
        join_by(api.record(P, path, engagement, agency=cps), prosecution, journey, cps),
        take_part(prosecution, journey, [council, ngo, home_office, sca, ieca, provider]),
    )

    outside = View(
        pair(outsider),
        pair(notified_outside),
        pair(outside_detention),
        pair(outside_case),
        pair(outside_crime),
    )
    return {
        "participant": View(pair(first), pair(notified), pair(detention), pair(case), pair(crime)),
        "outsider": outside,
        # Every detention journey has the IECA on it; an SCA-routed referral does not.
        "outsider ieca": View(
            pair(outsider_sca), outside.duty_to_notify, None, outside.support, outside.crime
        ),
    }


@dataclass
class World:
    """What the module arranged. A failed arrangement fails only the tests that need it."""

    api: Api
    scene: Scene
    targets: dict[tuple[str, str], Target | BaseException]  # (key, type or "probe")
    views: dict[str, View] | BaseException

    def target(self, key: str, agency_type: str) -> Target:
        target = self.targets[key, agency_type]
        if isinstance(target, BaseException):
            raise AssertionError(f"arranging this failed: {target!r}") from target
        return target

    def view(self, role: str) -> View:
        if isinstance(self.views, BaseException):
            raise AssertionError(f"arranging the reads failed: {self.views!r}") from self.views
        return self.views[role]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> AsyncIterator[World]:
    async with httpx.AsyncClient(timeout=30) as client:
        api = Api(client, partner_services, tokens)
        scene = Scene(api)
        # A fresh target per allowed type, and one more for every disallowed type to try.
        cells = [
            (key, t, t if t != "probe" else first_allowed(MAY_WRITE, key))
            for key, allowed in MAY_WRITE.items()
            for t in (*sorted(allowed), "probe")
        ]
        first = [cell for cell in cells if service_of(cell[0]) == R]
        then = [cell for cell in cells if service_of(cell[0]) != R]

        async def prepare(batch: list[tuple[str, str, str]]) -> list[Target | BaseException]:
            return await asyncio.gather(
                *(PREPARE[key](scene, t) for key, _, t in batch), return_exceptions=True
            )

        async def after_learning() -> list[Target | BaseException]:
            await scene.arrange_shared()
            return await prepare(then)

        # The referral service's targets need no Kafka: made while the others learn.
        made_first, made_then, views = await asyncio.gather(
            prepare(first),
            after_learning(),
            arrange_reads(scene, partner_services),
            return_exceptions=True,
        )
        if isinstance(made_first, BaseException):
            raise made_first
        if isinstance(made_then, BaseException):  # the shared support or criminal cases
            made_then = [made_then] * len(then)
        made = zip(first + then, [*made_first, *made_then], strict=True)
        yield World(api, scene, {(key, t): target for (key, t, _), target in made}, views)


# ---------------------------------------------------------------------------------------
# The tests.


async def test_the_matrix_covers_every_endpoint(world: World) -> None:
    for service in (R, S, P):
        response = await world.api.send("GET", service, "/openapi.json", headers={})
        paths: dict[str, dict[str, Any]] = response.json()["paths"]
        posts = {f"{service}:{p}" for p, ops in paths.items() if "post" in ops}
        gets = {f"{service}:{p}" for p, ops in paths.items() if "get" in ops}
        gets -= {f"{service}:/livez", f"{service}:/readyz"}
        assert posts == {k for k in MAY_WRITE if service_of(k) == service}
        assert gets == {k for k in MAY_READ if service_of(k) == service}
    assert set(PREPARE) == set(MAY_WRITE)
    assert set(WRITE_SCOPE) == set(MAY_WRITE) and set(READ_SCOPE) == set(MAY_READ)


WRITE_CELLS = [(key, t) for key in MAY_WRITE for t in sorted(ALL_TYPES)]


@pytest.mark.parametrize(
    ("key", "agency_type"), WRITE_CELLS, ids=[f"{k}-{t}" for k, t in WRITE_CELLS]
)
async def test_write(world: World, key: str, agency_type: str) -> None:
    """Allowed: recorded (the setup leaves the state allowing it). Otherwise: 403."""
    allowed = agency_type in MAY_WRITE[key]
    target = world.target(key, agency_type if allowed else "probe")
    agency = BY_TYPE[agency_type]
    if allowed and target.journey_id:
        # Adding to a journey needs taking part in it (tested on its own below); here the
        # question is only whether the agency's type may make this record.
        await take_part(world.api.services[service_of(key)], target.journey_id, [agency])
    response = await world.api.send(
        "POST",
        service_of(key),
        target.path,
        headers=world.api.auth(agency, [WRITE_SCOPE[key]]),
        body=target.body,
    )
    if not allowed:
        assert_problem(response, 403, "agency-type")
        return
    assert response.status_code == SUCCESS.get(key, 201), response.text
    if response.status_code == 201:
        assert response.json()["recorded_by"] == agency


@pytest.mark.parametrize("key", list(MAY_WRITE))
async def test_write_without_its_scope_is_403(world: World, key: str) -> None:
    target = world.target(key, "probe")
    response = await world.api.send(
        "POST",
        service_of(key),
        target.path,
        headers=world.api.auth(
            BY_TYPE[first_allowed(MAY_WRITE, key)], set(SCOPES) - {WRITE_SCOPE[key]}
        ),
        body=target.body,
    )
    assert_problem(response, 403, "insufficient-scope")


ROLES = ("participant", "outsider", "other agency")
READ_CELLS = [
    (key, t, role)
    for key in MAY_READ
    for t in sorted(ALL_TYPES)
    for role in ROLES
    if (role != "other agency" or t in OTHER_AGENCY)
    # The IECA takes part in every journey with a detention: it records them all; and
    # the SCA receives every Duty to Notify report for the Home Office.
    and not (role == "outsider" and t == IECA and "immigration-detentions" in key)
    and not (role == "outsider" and t == SCA and "duty-to-notify" in key)
]


def read_path(key: str, view: View) -> str:
    resource = view.resource(key)
    assert resource is not None
    resource_id, journey_id = resource
    path = path_of(key).format(resource_id=resource_id, journey_id=journey_id)
    return path if "{" in path_of(key) else f"{path}?journey_id={journey_id}"


@pytest.mark.parametrize(
    ("key", "agency_type", "role"), READ_CELLS, ids=[f"{k}-{t}-{r}" for k, t, r in READ_CELLS]
)
async def test_read(world: World, key: str, agency_type: str, role: str) -> None:
    """Taking part: 200. Not taking part, of any type: 404 (a list leaves it out)."""
    if role == "other agency":  # the right type, another agency: not on the journey
        agency, view = OTHER_AGENCY[agency_type], world.view("participant")
    elif role == "outsider":
        agency = BY_TYPE[agency_type]
        view = world.view("outsider ieca" if agency_type == IECA else "outsider")
    else:
        agency, view = BY_TYPE[agency_type], world.view("participant")
    resource = view.resource(key)
    assert resource is not None
    resource_id, journey_id = resource
    response = await world.api.send(
        "GET",
        service_of(key),
        read_path(key, view),
        headers=world.api.auth(agency, [READ_SCOPE[key]]),
    )
    if agency_type not in MAY_READ[key]:
        assert_problem(response, 403, "agency-type")
        return
    takes_part = role == "participant"
    if "{" not in path_of(key):  # a list: only journeys the caller takes part in
        assert response.status_code == 200, response.text
        listed = [item["resource_id"] for item in response.json()["items"]]
        assert (resource_id in listed) if takes_part else listed == []
    elif not takes_part:
        assert_problem(response, 404, "not-found")
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["journey_id"] == journey_id
        if key.endswith("/timeline"):
            assert body["records"]
        elif key.endswith("/identity"):
            assert body["referral_id"] == resource_id and body["person"]["given_name"]
        else:
            assert body["resource_id"] == resource_id


@pytest.mark.parametrize("key", list(MAY_READ))
async def test_read_without_its_scope_is_403(world: World, key: str) -> None:
    view = world.view("participant")
    response = await world.api.send(
        "GET",
        service_of(key),
        read_path(key, view),
        headers=world.api.auth(
            BY_TYPE[first_allowed(MAY_READ, key)], set(SCOPES) - {READ_SCOPE[key]}
        ),
    )
    assert_problem(response, 403, "insufficient-scope")


def request_of(world: World, method: str, key: str) -> tuple[str, dict[str, Any] | None]:
    if method == "POST":
        target = world.target(key, "probe")
        return target.path, target.body
    return read_path(key, world.view("participant")), None


def assert_unauthorised(response: httpx.Response) -> None:
    assert_problem(response, 401, "unauthorised")
    assert response.headers["www-authenticate"].split()[0] == "Bearer"


ENDPOINTS = [("POST", key) for key in MAY_WRITE] + [("GET", key) for key in MAY_READ]


@pytest.mark.parametrize(("method", "key"), ENDPOINTS, ids=[f"{m}-{k}" for m, k in ENDPOINTS])
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"], ids=["none", "garbage"])
async def test_no_or_garbage_token_is_401(
    world: World, method: str, key: str, authorization: str | None
) -> None:
    path, body = request_of(world, method, key)
    headers = world.api.auth(BY_TYPE[POLICE])  # with an Idempotency-Key: auth must come first
    del headers["Authorization"]
    if authorization:
        headers["Authorization"] = authorization
    response = await world.api.send(method, service_of(key), path, headers=headers, body=body)
    assert_unauthorised(response)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "test-client",
        "agency_id": BY_TYPE[POLICE],
        "scope": " ".join(sorted(SCOPES)),
        "iat": now,
        "exp": now + 600,
        **overrides,
    }


def _bad_tokens(tokens: Tokens, folder: Any) -> dict[str, str]:
    signer = tokens.signer
    police = BY_TYPE[POLICE]
    stranger = DevelopmentSigner(folder)  # a key the services have never seen
    foreign_key = stranger._key  # signs under our kid: the signature cannot verify
    return {
        "expired": signer.mint(agency_id=police, scopes=sorted(SCOPES), lifetime_seconds=-120),
        "other issuer": signer.mint(agency_id=police, scopes=sorted(SCOPES), issuer="https://x"),
        "other audience": signer.mint(agency_id=police, scopes=sorted(SCOPES), audience="other"),
        "unknown agency": signer.mint(agency_id="nowhere-constabulary", scopes=sorted(SCOPES)),
        "unknown key": stranger.mint(agency_id=police, scopes=sorted(SCOPES)),
        "forged signature": jwt.encode(
            _claims(), foreign_key, algorithm="ES256", headers={"kid": signer.kid}
        ),
        "alg none": jwt.encode(_claims(), "", algorithm="none", headers={"kid": signer.kid}),
        "no expiry": jwt.encode(
            {k: v for k, v in _claims().items() if k != "exp"},
            signer._key,
            algorithm="ES256",
            headers={"kid": signer.kid},
        ),
    }


BAD_TOKENS = [
    "expired",
    "other issuer",
    "other audience",
    "unknown agency",
    "unknown key",
    "forged signature",
    "alg none",
    "no expiry",
]
ONE_PER_SERVICE = [
    ("POST", "referral:/v1/referrals"),
    ("GET", "support:/v1/support-cases/{resource_id}"),
    ("POST", "prosecution:/v1/criminal-cases/{resource_id}/charge-decision"),
]


@pytest.mark.parametrize(
    ("method", "key"), ONE_PER_SERVICE, ids=[f"{m}-{k}" for m, k in ONE_PER_SERVICE]
)
@pytest.mark.parametrize("token", BAD_TOKENS)
async def test_invalid_token_is_401(
    world: World, tmp_path: Any, method: str, key: str, token: str
) -> None:
    bad = _bad_tokens(world.api.tokens, tmp_path)[token]
    path, body = request_of(world, method, key)
    headers = {"Authorization": f"Bearer {bad}", "Idempotency-Key": "unused-0001"}
    response = await world.api.send(method, service_of(key), path, headers=headers, body=body)
    assert_unauthorised(response)


async def test_a_basic_scheme_is_401(world: World) -> None:
    headers = {"Authorization": "Basic cG9saWNlOnNlY3JldA==", "Idempotency-Key": "unused-0002"}
    response = await world.api.send("GET", R, "/v1/referrals", headers=headers)
    assert_unauthorised(response)


async def test_erasure_by_a_competent_authority_not_on_the_journey_is_404(world: World) -> None:
    """The one write gated by taking part: the SCA cannot erase an IECA journey."""
    referral = await world.scene.referral(ca="ieca")
    response = await world.api.send(
        "POST",
        R,
        f"/v1/journeys/{referral.journey_id}/erasure",
        headers=world.api.auth(BY_TYPE[SCA], ["erasure:write"]),
    )
    assert_problem(response, 404, "not-found")
    # ... and the identity is still there for the IECA, which does take part.
    response = await world.api.send(
        "GET",
        R,
        f"/v1/referrals/{referral.resource_id}/identity",
        headers=world.api.auth(BY_TYPE[IECA], ["identity:read"]),
    )
    assert response.status_code == 200, response.text


async def test_a_provider_not_named_on_the_case_cannot_record_on_it(world: World) -> None:
    case = await world.scene.support_case(BY_TYPE[SUPPORT])
    response = await world.api.send(
        "POST",
        S,
        f"/v1/support-cases/{case.resource_id}/offers",
        headers=world.api.auth(OTHER_AGENCY[SUPPORT], ["support:write"]),
        body={"occurred_at": days_ago(34), "support_route": "msvcc_adult"},
    )
    assert_problem(response, 404, "not-found")
