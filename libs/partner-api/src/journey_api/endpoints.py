"""Record endpoints built from a declarative table, the same way in every partner service.

Each service lists what partners may record (`RecordSpec`): path, action (scope, agency
types, event), the resource it belongs to, and the domain rule that must hold. This module
turns the table into FastAPI routes with bodies derived from the event contracts,
Idempotency-Key handling, authorisation, audit and problem+json, and adds the reads:
one resource, a filtered page of them, and the journey timeline.

No `from __future__ import annotations` here: route signatures use models built at
run time, which FastAPI must see as real objects.
"""

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from journey_api.auth import CurrentPrincipal, Principal, allow
from journey_api.clock import recorded_time
from journey_api.commands import command_model
from journey_api.domain.records import Action, Recorded, Resource
from journey_api.idempotency import HEADER as IDEMPOTENCY_HEADER
from journey_api.idempotency import Claim, request_hash
from journey_api.models import JourneyId
from journey_api.problems import WRITE_ERRORS, not_found
from journey_api.reads import add_reads
from journey_api.responses import record_model
from journey_api.specs import Attributes, Collection, RecordSpec
from journey_api.store import RecordStore
from journey_platform.contracts import Contracts
from journey_platform.db import Connection
from journey_platform.pseudonyms import anonymous_journey_id

if TYPE_CHECKING:
    from journey_api.runtime import Runtime

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Required on every POST; a UUID per intended "
        "write. Retrying with the same key and body replays the first response.",
    ),
]


def build_router(collection: Collection, contracts: Contracts) -> APIRouter:
    router = APIRouter(prefix=collection.path, tags=[collection.tag or collection.name])
    for spec in collection.specs:
        _add_write(router, collection, spec, contracts)
    add_reads(router, collection)
    return router


def _add_write(
    router: APIRouter, collection: Collection, spec: RecordSpec, contracts: Contracts
) -> None:
    action = spec.action
    model = _body_model(spec, contracts)

    async def write(
        request: Request,
        principal: CurrentPrincipal,
        payload: model,  # type: ignore[valid-type]
        idempotency_key: IdempotencyKey = None,
        resource_id: uuid.UUID | None = None,
    ) -> Response:
        allow(
            principal,
            scope=action.scope,
            agency_types=action.agency_types,
            action=action.description,
        )
        body = payload.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]
        runtime: Runtime = request.app.state.runtime
        asked = _Write(collection, spec, principal, body, recorded_time(request), resource_id)

        async def work(conn: Connection, claim: Claim) -> tuple[int, dict[str, Any]]:
            recorded = await _write(runtime.store(conn), runtime, asked, claim)
            return 201, recorded.as_json()

        fingerprint = request_hash(request.method, request.url.path, body)
        return await runtime.respond_once(
            runtime.pool,
            client_id=principal.client_id,
            key=idempotency_key,
            fingerprint=fingerprint,
            work=work,
        )

    router.add_api_route(
        spec.path,
        _endpoint(spec, model, write),
        methods=["POST"],
        status_code=201,
        response_model=record_model(contracts, spec.record_kind()),
        summary=spec.summary,
        operation_id=action.kind,
        responses=WRITE_ERRORS,
        description=f"{spec.summary} Publishes `{action.event_type}`. Scope `{action.scope}`; "
        f"agency types: {', '.join(sorted(action.agency_types))}.",
    )


def _body_model(spec: RecordSpec, contracts: Contracts) -> Any:
    """The request body: the event's fields, less those the server mints or works out."""
    add: dict[str, tuple[Any, Any]] = {**spec.api_only, **spec.stricter}
    if spec.creates and not spec.new_journey:
        add["journey_id"] = (JourneyId, ...)
    return command_model(
        contracts,
        spec.action.event_type,
        add=add,
        name="".join(p.title() for p in spec.action.kind.split("_")),
        omit=(*([spec.resource_field] if spec.resource_field else []), *spec.minted, *spec.derived),
    )


def _endpoint(
    spec: RecordSpec, model: Any, write: Callable[..., Awaitable[Response]]
) -> Callable[..., Any]:
    """The route's signature: the collection itself (creation) or one resource in it."""
    if spec.creates:

        async def create(
            request: Request,
            principal: CurrentPrincipal,
            payload: model,
            idempotency_key: IdempotencyKey = None,
        ) -> Response:
            return await write(request, principal, payload, idempotency_key)

        return create

    async def append(
        request: Request,
        principal: CurrentPrincipal,
        resource_id: uuid.UUID,
        payload: model,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        return await write(request, principal, payload, idempotency_key, resource_id)

    return append


@dataclass(frozen=True)
class _Write:
    """One authorised POST on a record table, its body validated."""

    collection: Collection
    spec: RecordSpec
    principal: Principal
    body: Mapping[str, Any]
    recorded_at: datetime
    resource_id: uuid.UUID | None


async def _write(store: RecordStore, runtime: "Runtime", asked: _Write, claim: Claim) -> Recorded:
    """The use case: find the resource, apply the spec's rule, record it and its follow-ups."""
    spec, principal, body = asked.spec, asked.principal, asked.body
    resource = await _target(
        store, runtime, asked.collection, spec, principal, asked.resource_id, body
    )
    attributes = {k: v for k, v in body.items() if k not in ("occurred_at", "journey_id")}
    attributes.update({name: str(uuid.uuid4()) for name in spec.minted})
    if spec.derive:
        attributes.update(spec.derive(resource, attributes, principal))
    if spec.rule:
        spec.rule(resource, attributes, principal)
    occurred_at = datetime.fromisoformat(body["occurred_at"])
    joining = spec.participants(resource, attributes) if spec.participants else ()
    follow_ups = spec.follow_ups(resource, attributes) if spec.follow_ups else ()
    # The record answers the request; its follow-ups (a recovery period it starts, say)
    # are written with it, in the same transaction.
    writes: list[tuple[Action, Attributes, Iterable[str], Claim | None]] = [
        (spec.action, attributes, joining, claim)
    ]
    writes += [(action, data, (), None) for action, data in follow_ups]
    recorded = [
        await runtime.records.record(
            store,
            principal,
            action,
            journey_id=resource.journey_id,
            resource_id=resource.resource_id,
            attributes=data,
            event_data=_event_data(spec, resource, data),
            occurred_at=occurred_at,
            recorded_at=asked.recorded_at,
            participants=participants,
            answers=answers,
        )
        for action, data, participants, answers in writes
    ]
    return recorded[0]


def _event_data(spec: RecordSpec, resource: Resource, attributes: Attributes) -> Attributes:
    data = {k: v for k, v in attributes.items() if k not in spec.api_only}
    if spec.resource_field:
        data[spec.resource_field] = str(resource.resource_id)
    return data


async def _target(
    store: RecordStore,
    runtime: "Runtime",
    collection: Collection,
    spec: RecordSpec,
    principal: Principal,
    resource_id: uuid.UUID | None,
    body: Mapping[str, Any],
) -> Resource:
    if spec.new_journey:
        journey_id = anonymous_journey_id()
        await store.add_journey(journey_id)
        return Resource(uuid.uuid4(), journey_id)
    if spec.creates:
        journey_id = body["journey_id"]
        if not await store.journey_is_known(journey_id):
            raise not_found("journey", catching_up=runtime.catching_up())
        return Resource(uuid.uuid4(), journey_id)
    assert resource_id is not None
    # One writer per resource at a time, so a rule checked here still holds at commit.
    await store.lock(resource_id)
    resource = await runtime.records.resource(store, resource_id, collection.kind)
    # Only agencies taking part in the journey may add to it; to anyone else it does not
    # exist, exactly as for reads.
    if resource is None or not await store.takes_part(resource.journey_id, principal.agency_id):
        raise not_found(collection.name)
    return resource
