"""The two ways identifying details leave the vault: the audited read of a referred
person's details, and their erasure by crypto-shredding.

No `from __future__ import annotations`, as in submission.py: FastAPI reads these routes'
annotations as real objects.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from journey_api.auth import CurrentPrincipal, allow
from journey_api.endpoints import IdempotencyKey
from journey_api.idempotency import Claim, request_hash
from journey_api.models import JourneyId
from journey_api.problems import PROBLEM, READ_ERRORS, WRITE_ERRORS, Problem, not_found
from journey_api.reads import visible
from journey_api.replay import spend_token
from journey_api.runtime import Runtime
from journey_platform.db import Connection
from nrm_domain.agencies import COMPETENT_AUTHORITIES, FIRST_RESPONDERS
from referral.adapters.identity import Erased, Vault


class IdentityOut(BaseModel):
    referral_id: str
    journey_id: str
    person: dict[str, Any]


class ErasureOut(BaseModel):
    journey_id: str
    erased: bool
    detail: str


def identity_router(vault: Vault) -> APIRouter:
    """GET /v1/referrals/{id}/identity and POST /v1/journeys/{id}/erasure."""
    router = APIRouter(tags=["referrals"])
    router.add_api_route(
        "/v1/referrals/{resource_id}/identity",
        _identity_read(vault),
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
        _erasure(vault),
        methods=["POST"],
        response_model=ErasureOut,
        operation_id="erase_journey_identity",
        responses=WRITE_ERRORS,
        summary="Erase a journey's identifying details by destroying its key (crypto-shredding).",
    )
    return router


def _identity_read(vault: Vault) -> Callable[..., Awaitable[Any]]:
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

    return identity


def _erasure(vault: Vault) -> Callable[..., Awaitable[Response]]:
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

    return erase
