"""Referral submission with the person's identifying details (sealed per journey), the
audited identity read, and erasure by crypto-shredding.

No `from __future__ import annotations`: the submission route's body model is built at
run time from the event contract, and FastAPI must see it as a real object.
"""

import unicodedata
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field

from journey_api.agencies import AgencyRegistry
from journey_api.auth import CurrentPrincipal, allow
from journey_api.clock import recorded_time
from journey_api.commands import command_model
from journey_api.endpoints import IdempotencyKey
from journey_api.idempotency import Claim, request_hash
from journey_api.models import Command, JourneyId
from journey_api.problems import (
    PROBLEM,
    READ_ERRORS,
    WRITE_ERRORS,
    Problem,
    invalid_field,
    not_found,
)
from journey_api.reads import visible
from journey_api.replay import spend_token
from journey_api.responses import RecordKind, record_model
from journey_api.runtime import Runtime
from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.pseudonyms import Pseudonymiser, has_letter
from nrm_domain.agencies import COMPETENT_AUTHORITIES, FIRST_RESPONDERS
from referral.adapters.identity import Erased, Vault
from referral.domain import actions, decisions
from referral.domain.people import (
    FIRST_RESPONDER_TYPE,
    MAX_AGE_YEARS,
    age_band,
    plausible_birth,
)


def _a_name(value: str) -> str:
    # A name is what the person is matched by (pseudonyms.py): one of control characters
    # or a lone symbol would match nobody, and a control character is never part of a name.
    if not has_letter(value) or any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("a name must hold at least one letter and no control characters")
    return value


def _born_plausibly(born: date) -> date:
    if not plausible_birth(born, datetime.now(UTC).date()):
        raise ValueError(
            f"a date of birth may not be in the future nor over {MAX_AGE_YEARS} years ago"
        )
    return born


Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="In any script; at least one letter, no control characters.",
    ),
    AfterValidator(_a_name),
]


class Person(Command):
    """Identifying details. Stored only here, sealed per journey; never on an event or log."""

    given_name: Name = Field(examples=["Testperson"])
    family_name: Name = Field(examples=["Synthetica"])
    date_of_birth: Annotated[date, AfterValidator(_born_plausibly)] = Field(
        description=f"Not in the future, nor over {MAX_AGE_YEARS} years ago, nor after "
        "occurred_at.",
        examples=["1996-05-17"],
    )
    nationality: str = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code.", examples=["ALB"]
    )
    other_names: list[Name] = Field(default_factory=list, max_length=10)


class IdentityOut(BaseModel):
    referral_id: str
    journey_id: str
    person: dict[str, Any]


class ErasureOut(BaseModel):
    journey_id: str
    erased: bool
    detail: str


def submission_router(
    contracts: Contracts, registry: AgencyRegistry, vault: Vault, pseudonyms: Pseudonymiser
) -> APIRouter:
    """POST /v1/referrals, GET .../identity and POST /v1/journeys/{id}/erasure."""
    router = APIRouter(tags=["referrals"])
    derived = (
        "referral_id",
        "first_responder_type",
        "age_band",
        "is_re_referral",
        "previous_referral_count",
    )
    submission = command_model(
        contracts,
        actions.SUBMIT_REFERRAL.event_type,
        name="ReferralSubmission",
        omit=derived,
        add={"person": (Person, ...)},
    )
    authorities = {
        kind: [a.id for a in registry if a.type is agency_type]
        for agency_type, kind in decisions.AUTHORITY_OF_TYPE.items()
    }

    async def submit(
        request: Request,
        principal: CurrentPrincipal,
        payload: submission,  # type: ignore[valid-type]
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        allow(
            principal,
            scope="referrals:write",
            agency_types=actions.SUBMIT_REFERRAL.agency_types,
            action=actions.SUBMIT_REFERRAL.description,
        )
        submitted = payload.model_dump(mode="json")  # type: ignore[attr-defined]
        fingerprint = request_hash("POST", request.url.path, submitted)
        body = dict(submitted)
        person = body.pop("person")
        occurred_at = datetime.fromisoformat(body.pop("occurred_at"))
        born = date.fromisoformat(person["date_of_birth"])
        if born > occurred_at.date():
            raise invalid_field(
                ("body", "person", "date_of_birth"), "A date of birth may not be after occurred_at."
            )
        if body["age_group"] == "adult" and body["consent"] != "given":
            raise Problem(
                422,
                "Consent required",
                "An adult who does not consent is not referred: send a Duty to Notify "
                "report (POST /v1/duty-to-notify-reports) instead.",
                kind="consent",
            )
        runtime: Runtime = request.app.state.runtime
        recorded_at = recorded_time(request)
        match_key = pseudonyms.pseudonym(
            purpose="person-match",
            identifiers=[person["family_name"], person["given_name"], person["date_of_birth"]],
        )

        async def work(conn: Connection, claim: Claim) -> tuple[int, dict[str, Any]]:
            referral_id = uuid.uuid4()
            journey_id, previous = await vault.journey_for(
                conn, match_key=match_key, referral_id=referral_id, details=person
            )
            attributes = {
                **body,
                "first_responder_type": FIRST_RESPONDER_TYPE[principal.agency_type],
                "age_band": age_band(born, occurred_at.date()),
                "is_re_referral": previous > 0,
                "previous_referral_count": previous,
            }
            recorded = await runtime.records.record(
                runtime.store(conn),
                principal,
                actions.SUBMIT_REFERRAL,
                journey_id=journey_id,
                resource_id=referral_id,
                attributes=attributes,
                event_data={"referral_id": str(referral_id), **attributes},
                occurred_at=occurred_at,
                recorded_at=recorded_at,
                participants=authorities[body["competent_authority"]],
                answers=claim,
            )
            return 201, recorded.as_json()

        return await runtime.respond_once(
            runtime.pool,
            client_id=principal.client_id,
            key=idempotency_key,
            fingerprint=fingerprint,
            work=work,
        )

    async def identity(
        request: Request, principal: CurrentPrincipal, resource_id: uuid.UUID
    ) -> Any:
        allow(
            principal,
            scope="identity:read",
            agency_types=FIRST_RESPONDERS | COMPETENT_AUTHORITIES,
            action="read identifying details",
        )
        runtime: Runtime = request.app.state.runtime
        async with runtime.pool.acquire() as conn:
            store = runtime.store(conn)
            # Each token reads identifying details once: a copied token cannot read again.
            await spend_token(store, principal)
            resource = await runtime.records.resource(store, resource_id, "referral")
            await visible(
                store,
                principal,
                resource.journey_id if resource else None,
                action="read:identity",
                resource_id=str(resource_id),
            )
            assert resource is not None
            try:
                person = await vault.read(
                    conn, journey_id=resource.journey_id, referral_id=resource_id
                )
            except Erased:
                raise Problem(
                    410,
                    "Erased",
                    "These identifying details were erased on request.",
                    kind="erased",
                ) from None
        return {
            "referral_id": str(resource_id),
            "journey_id": resource.journey_id,
            "person": person,
        }

    async def erase(
        request: Request,
        principal: CurrentPrincipal,
        journey_id: JourneyId,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        allow(
            principal,
            scope="erasure:write",
            agency_types=COMPETENT_AUTHORITIES,
            action="erase identifying details",
        )
        runtime: Runtime = request.app.state.runtime

        async def work(conn: Connection, _: Claim) -> tuple[int, dict[str, Any]]:
            store = runtime.store(conn)
            if not await store.takes_part(journey_id, principal.agency_id):
                await store.audit(
                    principal, action="erase:identity", journey_id=None, outcome="not_found"
                )
                raise not_found("journey")
            erased_now = await vault.shred(
                conn, journey_id=journey_id, agency_id=principal.agency_id
            )
            await store.audit(principal, action="erase:identity", journey_id=journey_id)
            detail = (
                "The journey's key is destroyed: its identifying details are unrecoverable; "
                "its coded records still count in statistics."
            )
            return 200, {"journey_id": journey_id, "erased": erased_now, "detail": detail}

        return await runtime.respond_once(
            runtime.pool,
            client_id=principal.client_id,
            key=idempotency_key,
            fingerprint=request_hash("POST", request.url.path, None),
            work=work,
        )

    router.add_api_route(
        "/v1/referrals",
        submit,
        methods=["POST"],
        status_code=201,
        response_model=record_model(contracts, RecordKind(actions.SUBMIT_REFERRAL, "referral_id")),
        operation_id="submit_referral",
        responses=WRITE_ERRORS,
        summary="Submit a referral into the NRM, with the person's identifying details.",
        description="First responders only. The details are sealed per journey and never leave "
        "this service; the event carries coarse attributes (age band, not date of "
        "birth). A person referred before is linked to the same journey.",
    )
    router.add_api_route(
        "/v1/referrals/{resource_id}/identity",
        identity,
        methods=["GET"],
        response_model=IdentityOut,
        operation_id="get_referral_identity",
        summary="Read the person's identifying details (audited).",
        description="A token may read identifying details once: its `jti` is spent, and "
        "a second read with it is refused (401, token-replayed). Ask for a token per read.",
        responses={
            **READ_ERRORS,
            410: {"description": "Erased", **PROBLEM},
        },
    )
    router.add_api_route(
        "/v1/journeys/{journey_id}/erasure",
        erase,
        methods=["POST"],
        response_model=ErasureOut,
        operation_id="erase_journey_identity",
        responses=WRITE_ERRORS,
        summary="Erase a journey's identifying details by destroying its key (crypto-shredding).",
    )
    return router
