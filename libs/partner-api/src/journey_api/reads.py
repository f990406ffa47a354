"""The reads every partner service offers on a collection: one resource with its history,
a filtered page, and the journey timeline. Every read is audited, and anything the
caller does not take part in is answered 404, never 403, so existence does not leak.

No `from __future__ import annotations`, like endpoints.py: FastAPI reads these route
signatures at run time.
"""

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from journey_api.auth import CurrentPrincipal, Principal
from journey_api.domain.records import Resource
from journey_api.models import JourneyId, Moment, Page, RecordOut, Timeline
from journey_api.problems import READ_ERRORS, Problem, not_found
from journey_api.specs import Collection
from journey_api.store import RecordStore
from nrm_domain.agencies import AgencyType


async def visible(
    store: RecordStore,
    principal: Principal,
    journey_id: str | None,
    *,
    action: str,
    resource_id: str | None = None,
    catching_up: bool = False,
) -> None:
    """Audit the read, and answer 404 unless the caller takes part in the journey
    (`catching_up`: the service knows it has journeys left to learn; see not_found)."""
    allowed = journey_id is not None and await store.takes_part(journey_id, principal.agency_id)
    await store.audit(
        principal,
        action=action,
        journey_id=journey_id if allowed else None,
        resource_id=resource_id,
        outcome="ok" if allowed else "not_found",
    )
    if not allowed:
        raise not_found("such record", catching_up=catching_up)


def _partners_only(principal: Principal) -> None:
    # Analysts see journeys only through the analytics service's disclosure control,
    # never record by record, whatever scopes a token carries.
    if principal.agency_type is AgencyType.ANALYST:
        raise Problem(
            403, "Forbidden", "An analyst may not read partner records.", kind="agency-type"
        )


def _require_scope(principal: Principal, scope: str) -> None:
    _partners_only(principal)
    if scope not in principal.scopes:
        raise Problem(403, "Forbidden", f"This needs the {scope} scope.", kind="insufficient-scope")


class ResourceOut(BaseModel):
    resource_id: str
    journey_id: str
    kind: str
    summary: dict[str, Any]
    records: list[RecordOut]


# Each record's `attributes` hold what its kind declares: the `<Kind>Record` schema that
# the write making it answers with. Not a union here: a oneOf of every kind on each read
# made Schemathesis slower over a service (support: 38-77 s against 28 s, noisy).
RECORDS_TYPED_BY_KIND = (
    "Each record's `attributes` hold what its `kind` declares: the `<Kind>Record` schema "
    "of the write that recorded it (e.g. `AccommodationEntryRecord`)."
)


def add_reads(router: APIRouter, collection: Collection) -> None:
    add_get_one(router, collection)
    add_list_page(router, collection)


def shown(collection: Collection, resource: Resource) -> dict[str, Any]:
    summary = collection.summarise(resource) if collection.summarise else {}
    return {**resource.as_json(), "summary": summary}


def add_get_one(router: APIRouter, collection: Collection) -> None:
    async def get_one(request: Request, principal: CurrentPrincipal, resource_id: uuid.UUID) -> Any:
        _require_scope(principal, collection.read_scope)
        runtime = request.app.state.runtime
        async with runtime.pool.acquire() as conn:
            store = runtime.store(conn)
            resource = await runtime.records.resource(store, resource_id, collection.kind)
            await visible(
                store,
                principal,
                resource.journey_id if resource else None,
                action=f"read:{collection.kind}",
                resource_id=str(resource_id),
            )
        assert resource is not None
        return shown(collection, resource)

    router.add_api_route(
        "/{resource_id}",
        get_one,
        methods=["GET"],
        response_model=ResourceOut,
        summary=f"Get one {collection.name} with its history.",
        description=RECORDS_TYPED_BY_KIND,
        operation_id=f"get_{collection.kind}",
        responses=READ_ERRORS,
    )


def add_list_page(router: APIRouter, collection: Collection) -> None:
    async def list_page(
        request: Request,
        principal: CurrentPrincipal,
        journey_id: Annotated[str | None, Query(pattern=r"^jny_[a-z2-7]{26}$")] = None,
        occurred_from: Annotated[Moment | None, Query(description="Inclusive lower bound")] = None,
        occurred_to: Annotated[Moment | None, Query(description="Exclusive upper bound")] = None,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Any:
        _require_scope(principal, collection.read_scope)
        runtime = request.app.state.runtime
        async with runtime.pool.acquire() as conn:
            store = runtime.store(conn)
            records, next_cursor = await runtime.records.page(
                store,
                principal,
                kind=collection.kind,
                journey_id=journey_id,
                occurred_from=occurred_from,
                occurred_to=occurred_to,
                cursor=cursor,
                limit=limit,
            )
            items = []
            for record in records:
                resource = await runtime.records.resource(
                    store, record.resource_id, collection.kind
                )
                assert resource is not None
                items.append(shown(collection, resource))
            for journey in sorted({r.journey_id for r in records}):
                await store.audit(principal, action=f"list:{collection.kind}", journey_id=journey)
        return {"items": items, "next_cursor": next_cursor}

    router.add_api_route(
        "",
        list_page,
        methods=["GET"],
        response_model=Page,
        summary=f"List {collection.name}s on journeys you take part in, oldest first.",
        operation_id=f"list_{collection.kind}",
        responses=READ_ERRORS,
    )


def timeline_router(read_scopes: Iterable[str]) -> APIRouter:
    """GET /v1/journeys/{journey_id}/timeline: this service's records of one journey."""
    router = APIRouter(prefix="/v1/journeys", tags=["journeys"])
    scopes = frozenset(read_scopes)

    async def timeline(request: Request, principal: CurrentPrincipal, journey_id: JourneyId) -> Any:
        _partners_only(principal)
        if not scopes & principal.scopes:
            raise Problem(
                403,
                "Forbidden",
                f"This needs one of the scopes {sorted(scopes)}.",
                kind="insufficient-scope",
            )
        runtime = request.app.state.runtime
        async with runtime.pool.acquire() as conn:
            store = runtime.store(conn)
            await visible(
                store,
                principal,
                journey_id,
                action="read:timeline",
                catching_up=runtime.catching_up(),
            )
            records = await store.timeline(journey_id)
        return {"journey_id": journey_id, "records": [r.as_json() for r in records]}

    router.add_api_route(
        "/{journey_id}/timeline",
        timeline,
        methods=["GET"],
        response_model=Timeline,
        description=RECORDS_TYPED_BY_KIND,
        operation_id="get_timeline",
        summary="The journey's records in this service, in the order they happened.",
        responses=READ_ERRORS,
    )
    return router
