"""Referral submission with the person's identifying details, which are sealed per
journey (the read and the erasure of those details are in identity.py).

No `from __future__ import annotations`: the submission route's body model is built at
run time from the event contract, and FastAPI must see it as a real object.
"""

import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
from journey_api.models import Command
from journey_api.problems import WRITE_ERRORS, Problem, invalid_field
from journey_api.responses import RecordKind, record_model
from journey_api.runtime import Runtime
from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.pseudonyms import Pseudonymiser, has_letter
from nrm_domain.age import age_band
from nrm_domain.agencies import AgencyType
from referral.adapters.identity import Vault
from referral.domain import actions, decisions
from referral.domain.people import (
    FIRST_RESPONDER_TYPE,
    MAX_AGE_YEARS,
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


# What the service works out itself; a client never sends these.
DERIVED = (
    "referral_id",
    "first_responder_type",
    "age_band",
    "is_re_referral",
    "previous_referral_count",
)


def submission_router(
    contracts: Contracts, registry: AgencyRegistry, vault: Vault, pseudonyms: Pseudonymiser
) -> APIRouter:
    """POST /v1/referrals."""
    submission = command_model(
        contracts,
        actions.SUBMIT_REFERRAL.event_type,
        name="ReferralSubmission",
        omit=DERIVED,
        add={"person": (Person, ...)},
    )
    # Who decides a referral to each competent authority: they take part in its journey.
    authorities = {
        kind: [a.id for a in registry if a.type is agency_type]
        for agency_type, kind in decisions.AUTHORITY_OF_TYPE.items()
    }
    router = APIRouter(tags=["referrals"])
    router.add_api_route(
        "/v1/referrals",
        _submission(submission, authorities, vault, pseudonyms),
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
    return router


@dataclass(frozen=True)
class Referral:
    """A submission as checked: its coded fields, the person, and when it happened."""

    coded: dict[str, Any]
    person: dict[str, Any]
    occurred_at: datetime
    born: date

    @classmethod
    def checked(cls, submitted: dict[str, Any]) -> "Referral":
        """The rules across fields, which the body's schema cannot say."""
        coded = dict(submitted)
        person = coded.pop("person")
        occurred_at = datetime.fromisoformat(coded.pop("occurred_at"))
        born = date.fromisoformat(person["date_of_birth"])
        if born > occurred_at.date():
            raise invalid_field(
                ("body", "person", "date_of_birth"), "A date of birth may not be after occurred_at."
            )
        if coded["age_group"] == "adult" and coded["consent"] != "given":
            raise Problem(
                422,
                "Consent required",
                "An adult who does not consent is not referred: send a Duty to Notify "
                "report (POST /v1/duty-to-notify-reports) instead.",
                kind="consent",
            )
        return cls(coded, person, occurred_at, born)

    def attributes(self, referred_by: AgencyType, previous: int) -> dict[str, Any]:
        """What the event says: the coded fields, and the derived ones in place of the
        person's details (an age band, not a date of birth)."""
        return {
            **self.coded,
            "first_responder_type": FIRST_RESPONDER_TYPE[referred_by],
            "age_band": age_band(self.born, self.occurred_at.date()),
            "is_re_referral": previous > 0,
            "previous_referral_count": previous,
        }


def _submission(
    submission: type[BaseModel],
    authorities: dict[str, list[str]],
    vault: Vault,
    pseudonyms: Pseudonymiser,
) -> Callable[..., Awaitable[Response]]:
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
        referral = Referral.checked(submitted)
        runtime: Runtime = request.app.state.runtime
        recorded_at = recorded_time(request)
        person = referral.person
        match_key = pseudonyms.pseudonym(
            purpose="person-match",
            identifiers=[person["family_name"], person["given_name"], person["date_of_birth"]],
        )

        async def work(conn: Connection, claim: Claim) -> tuple[int, dict[str, Any]]:
            referral_id = uuid.uuid4()
            journey_id, previous = await vault.journey_for(
                conn, match_key=match_key, referral_id=referral_id, details=person
            )
            attributes = referral.attributes(principal.agency_type, previous)
            recorded = await runtime.records.record(
                runtime.store(conn),
                principal,
                actions.SUBMIT_REFERRAL,
                journey_id=journey_id,
                resource_id=referral_id,
                attributes=attributes,
                event_data={"referral_id": str(referral_id), **attributes},
                occurred_at=referral.occurred_at,
                recorded_at=recorded_at,
                participants=authorities[referral.coded["competent_authority"]],
                answers=claim,
            )
            return 201, recorded.as_json()

        return await runtime.respond_once(
            runtime.pool,
            client_id=principal.client_id,
            key=idempotency_key,
            fingerprint=request_hash("POST", request.url.path, submitted),
            work=work,
        )

    return submit
