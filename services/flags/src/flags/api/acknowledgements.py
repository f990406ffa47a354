"""POST /v1/flags/{flag_id}/acknowledgements: what an agency did about a flag.

Acknowledging never resolves a flag (only evidence, through the processor, does). The
note is sealed, never published, logged, or kept in the idempotency replay.

No `from __future__ import annotations`: FastAPI reads these signatures at run time.
"""

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flags.adapters.events import acknowledged
from flags.adapters.notes import Acknowledgement, Acknowledgements
from flags.api.models import AcknowledgementOut, acknowledgement_model
from flags.api.reading import may, visible_flag
from journey_api.auth import CurrentPrincipal, Principal
from journey_api.clock import recorded_time
from journey_api.endpoints import IdempotencyKey
from journey_api.idempotency import Claim, request_hash, respond_once
from journey_api.models import CLOCK_SKEW
from journey_api.problems import WRITE_ERRORS, conflict
from journey_api.runtime import CurrentRuntime, Runtime
from journey_platform.contracts import Contracts
from journey_platform.db import Connection


def acknowledgements_router(contracts: Contracts, notes: Acknowledgements) -> APIRouter:
    router = APIRouter(prefix="/v1/flags", tags=["flags"])
    body_model = acknowledgement_model(contracts)

    async def acknowledge(
        request: Request,
        runtime: CurrentRuntime,
        principal: CurrentPrincipal,
        flag_id: uuid.UUID,
        payload: body_model,  # type: ignore[valid-type]
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        may(principal, "flags:write", "acknowledge drop-off flags")
        body = payload.model_dump(mode="json")  # type: ignore[attr-defined]
        acknowledged_at = recorded_time(request)

        async def work(conn: Connection, _: Claim) -> tuple[int, dict[str, Any]]:
            return await acknowledge_flag(
                conn,
                runtime=runtime,
                principal=principal,
                notes=notes,
                flag_id=flag_id,
                body=body,
                acknowledged_at=acknowledged_at,
            )

        return await respond_once(
            runtime.pool,
            client_id=principal.client_id,
            key=idempotency_key,
            fingerprint=request_hash("POST", request.url.path, body),
            work=work,
        )

    router.add_api_route(
        "/{flag_id}/acknowledgements",
        acknowledge,
        methods=["POST"],
        status_code=201,
        response_model=AcknowledgementOut,
        operation_id="acknowledge_flag",
        summary="Record what your agency did about a flag (a coded action, an optional "
        "note); it does not resolve the flag.",
        responses=WRITE_ERRORS,
    )
    return router


async def acknowledge_flag(
    conn: Connection,
    *,
    runtime: Runtime,
    principal: Principal,
    notes: Acknowledgements,
    flag_id: uuid.UUID,
    body: dict[str, Any],
    acknowledged_at: datetime,
) -> tuple[int, dict[str, Any]]:
    """Record one acknowledgement and its event; the (status, body) to reply and replay."""
    flag = await visible_flag(conn, principal, flag_id, action="write:flag_acknowledgement")
    if flag["status"] == "retracted":
        raise conflict("The flag was retracted: it should never have been raised.")
    if acknowledged_at < flag["raised_at"] - CLOCK_SKEW:
        # Only a simulation's clock can say so; analysts would read a negative
        # time to act.
        raise conflict(
            "The acknowledgement's time is before the flag was raised "
            f"({flag['raised_at'].isoformat()}); an agency acts after it is told."
        )
    ack = Acknowledgement(
        acknowledgement_id=uuid.uuid4(),
        flag_id=flag_id,
        journey_id=flag["journey_id"],
        action=body["action"],
        agency_id=principal.agency_id,
        client_id=principal.client_id,
        acknowledged_at=acknowledged_at,
    )
    await notes.add(conn, ack, body.get("note"))
    event = acknowledged(ack, flag, principal.agency_type, source=runtime.settings.service_name)
    await runtime.records.outbox.add(conn, event)
    # The replayed response is stored in clear: it never holds the note.
    return 201, {
        "acknowledgement_id": str(ack.acknowledgement_id),
        "flag_id": str(flag_id),
        "action": ack.action,
        "agency_id": ack.agency_id,
        "acknowledged_at": acknowledged_at.isoformat(),
        "note": None,
    }
