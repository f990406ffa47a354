"""GET /v1/flags and GET /v1/flags/{flag_id}.

No `from __future__ import annotations`: FastAPI reads these signatures at run time.
"""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from flags.adapters import queries
from flags.adapters.notes import Acknowledgements
from flags.adapters.queries import FlagFilter
from flags.api.models import FlagDetail, FlagPage
from flags.api.reading import Shown, decode_cursor, encode_cursor, may, visible_flag
from flags.domain.relevance import relevant_rules
from journey_api.audit import audit
from journey_api.auth import CurrentPrincipal
from journey_api.models import JOURNEY_ID_PATTERN, Moment
from journey_api.problems import READ_ERRORS
from journey_api.runtime import CurrentRuntime

Stage = Literal["identification", "support", "criminal_justice", "prevention"]
Severity = Literal["low", "medium", "high", "critical"]


def flags_router(shown: Shown, notes: Acknowledgements) -> APIRouter:
    router = APIRouter(prefix="/v1/flags", tags=["flags"])
    add_list_flags(router, shown)
    add_get_flag(router, shown, notes)
    return router


def add_list_flags(router: APIRouter, shown: Shown) -> None:
    @router.get(
        "",
        response_model=FlagPage,
        operation_id="list_flags",
        responses=READ_ERRORS,
        summary="Flags on journeys you take part in that concern your agency, most overdue "
        "first (due_at ascending, then flag_id); retracted flags are never listed.",
    )
    async def list_flags(
        runtime: CurrentRuntime,
        principal: CurrentPrincipal,
        status: Literal["open", "resolved"] | None = None,
        rule: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{3,80}$")] = None,
        stage: Stage | None = None,
        severity: Severity | None = None,
        due_before: Annotated[Moment | None, Query(description="Exclusive")] = None,
        due_after: Annotated[Moment | None, Query(description="Inclusive")] = None,
        journey_id: Annotated[str | None, Query(pattern=JOURNEY_ID_PATTERN)] = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Any:
        may(principal, "flags:read", "read drop-off flags")
        where = FlagFilter(status, rule, stage, severity, due_before, due_after, journey_id)
        async with runtime.pool.acquire() as conn:
            rows = await queries.page(
                conn,
                agency_id=principal.agency_id,
                rules=relevant_rules(principal.agency_type),
                where=where,
                after=decode_cursor(cursor),
                limit=limit,
            )
            more, rows = len(rows) > limit, rows[:limit]
            for journey in sorted({r["journey_id"] for r in rows}):
                await audit(conn, principal, action="list:flag", journey_id=journey)
        last = rows[-1] if more else None
        return {
            "items": [shown.flag(r) for r in rows],
            "next_cursor": encode_cursor(last["due_at"], last["flag_id"]) if last else None,
        }


def add_get_flag(router: APIRouter, shown: Shown, notes: Acknowledgements) -> None:
    @router.get(
        "/{flag_id}",
        response_model=FlagDetail,
        operation_id="get_flag",
        responses=READ_ERRORS,
        summary="One flag with its history, acknowledgements and a link to the journey's timeline.",
    )
    async def get_flag(
        runtime: CurrentRuntime, principal: CurrentPrincipal, flag_id: uuid.UUID
    ) -> Any:
        may(principal, "flags:read", "read drop-off flags")
        async with runtime.pool.acquire() as conn:
            row = await visible_flag(conn, principal, flag_id, action="read:flag")
            history = await queries.history(conn, flag_id)
            acknowledged = [
                {
                    **dict(ack),
                    "acknowledgement_id": str(ack["acknowledgement_id"]),
                    "flag_id": str(ack["flag_id"]),
                    # Only the agency that wrote a note reads it.
                    "note": await notes.note(conn, ack)
                    if ack["agency_id"] == principal.agency_id
                    else None,
                }
                for ack in await queries.acknowledgements(conn, flag_id)
            ]
        return {
            **shown.flag(row),
            "history": history,
            "acknowledgements": acknowledged,
            "links": shown.links(row),
        }
