"""/v1/webhooks: an agency registers and manages the endpoints it is told about flags on.

Every call is audited; another agency's subscription is answered 404, as if absent.

No `from __future__ import annotations`: FastAPI reads these route signatures at run time.
"""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from flags.webhooks import deliveries, subscriptions
from flags.webhooks.endpoints import UnsafeEndpoint, check
from flags.webhooks.models import Deliveries, Registered, Registration, Rotated, Subscription
from flags.webhooks.models import Subscriptions as SubscriptionList
from flags.webhooks.settings import WebhookSettings
from flags.webhooks.signing import SecretBox
from journey_api.audit import audit
from journey_api.auth import CurrentPrincipal, Principal
from journey_api.endpoints import IdempotencyKey
from journey_api.idempotency import Claim, Work, request_hash, run_once
from journey_api.problems import READ_ERRORS, WRITE_ERRORS, Problem, not_found
from journey_platform.db import Connection
from nrm_domain.agencies import AgencyType

SCOPE = "webhooks:write"
SubscriptionId = uuid.UUID


def _may_manage(principal: Principal) -> None:
    # Analysts are told nothing record by record, webhooks included.
    if principal.agency_type is AgencyType.ANALYST:
        raise Problem(403, "Forbidden", "An analyst may not manage webhooks.", kind="agency-type")
    if SCOPE not in principal.scopes:
        raise Problem(403, "Forbidden", f"This needs the {SCOPE} scope.", kind="insufficient-scope")


def _unsafe(error: UnsafeEndpoint) -> Problem:
    return Problem(
        422,
        "Endpoint not allowed",
        f"The webhook URL is refused: {error}. Allowed: an https URL whose host resolves only "
        "to public addresses (plain http only to a loopback address, in development).",
        kind="unsafe-webhook-endpoint",
    )


async def _owned(
    conn: Connection, principal: Principal, subscription_id: uuid.UUID, *, action: str
) -> Any:
    """The caller's subscription (audited), or 404."""
    row = await subscriptions.get(
        conn, agency_id=principal.agency_id, subscription_id=subscription_id
    )
    outcome = "ok" if row is not None else "not_found"
    await audit(
        conn,
        principal,
        action=action,
        journey_id=None,
        resource_id=str(subscription_id),
        outcome=outcome,
    )
    if row is None:
        raise not_found("webhook subscription")
    return row


async def _once(
    request: Request, principal: Principal, key: str | None, body: Any, work: Work
) -> tuple[int, dict[str, Any]]:
    fingerprint = request_hash(request.method, request.url.path, body)
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return await run_once(
        pool, client_id=principal.client_id, key=key, fingerprint=fingerprint, work=work
    )


class _Routes:
    """The webhook routes, sharing the settings and the secret box."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.box = SecretBox(settings.webhook_key())
        self.overlap = timedelta(seconds=settings.webhook_secret_overlap_seconds)

    async def register(
        self, request: Request, principal: CurrentPrincipal, body: Registration, key: IdempotencyKey
    ) -> Any:
        """Register an endpoint for your agency; the answer carries its secret, once."""
        _may_manage(principal)
        try:
            await check(body.url, allow_loopback=self.settings.webhook_allows_loopback)
        except UnsafeEndpoint as error:
            raise _unsafe(error) from None
        shown: dict[str, str] = {}

        async def work(conn: Connection, _: Claim) -> tuple[int, dict[str, Any]]:
            created, shown["secret"] = await subscriptions.create(
                conn,
                self.box,
                agency_id=principal.agency_id,
                url=body.url,
                event_types=list(body.event_types),
            )
            await audit(
                conn,
                principal,
                action="webhooks:register",
                journey_id=None,
                resource_id=created["id"],
            )
            return 201, Subscription(**created).model_dump(mode="json")

        status, answer = await _once(request, principal, key, body.model_dump(mode="json"), work)
        # The secret is never stored in the clear, not even as the idempotent replay.
        return JSONResponse({**answer, "secret": shown.get("secret")}, status_code=status)

    async def listed(self, request: Request, principal: CurrentPrincipal) -> Any:
        """Your agency's webhook subscriptions (never their secrets)."""
        _may_manage(principal)
        async with request.app.state.runtime.pool.acquire() as conn:
            await audit(conn, principal, action="webhooks:list", journey_id=None)
            return {"items": await subscriptions.listed(conn, agency_id=principal.agency_id)}

    async def get_one(
        self, request: Request, principal: CurrentPrincipal, resource_id: SubscriptionId
    ) -> Any:
        """One of your agency's webhook subscriptions (never its secret)."""
        _may_manage(principal)
        async with request.app.state.runtime.pool.acquire() as conn:
            return subscriptions.shown(
                await _owned(conn, principal, resource_id, action="webhooks:read")
            )

    async def remove(
        self, request: Request, principal: CurrentPrincipal, resource_id: SubscriptionId
    ) -> Response:
        """Delete a subscription; deliveries not yet made are dropped with it."""
        _may_manage(principal)
        async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
            await _owned(conn, principal, resource_id, action="webhooks:delete")
            await subscriptions.delete(
                conn, agency_id=principal.agency_id, subscription_id=resource_id
            )
        return Response(status_code=204)

    async def rotate(
        self,
        request: Request,
        principal: CurrentPrincipal,
        resource_id: SubscriptionId,
        key: IdempotencyKey,
    ) -> Any:
        """Rotate the secret: the new one signs from now, the previous one still signs too
        until the overlap (24 hours) ends."""
        _may_manage(principal)
        shown: dict[str, str] = {}

        async def work(conn: Connection, _: Claim) -> tuple[int, dict[str, Any]]:
            await _owned(conn, principal, resource_id, action="webhooks:rotate-secret")
            shown["secret"], until = await subscriptions.rotate(
                conn, self.box, subscription_id=resource_id, overlap=self.overlap
            )
            return 201, {"previous_secret_expires_at": until.isoformat() if until else None}

        status, answer = await _once(request, principal, key, None, work)
        return JSONResponse({**answer, "secret": shown.get("secret")}, status_code=status)

    async def enable(
        self,
        request: Request,
        principal: CurrentPrincipal,
        resource_id: SubscriptionId,
        key: IdempotencyKey,
    ) -> Any:
        """Re-enable a disabled subscription; its pending deliveries are retried at once."""
        _may_manage(principal)

        async def work(conn: Connection, _: Claim) -> tuple[int, dict[str, Any]]:
            await _owned(conn, principal, resource_id, action="webhooks:enable")
            await subscriptions.enable(conn, subscription_id=resource_id)
            row = await subscriptions.get(
                conn, agency_id=principal.agency_id, subscription_id=resource_id
            )
            return 200, Subscription(**subscriptions.shown(row)).model_dump(mode="json")

        status, answer = await _once(request, principal, key, None, work)
        return JSONResponse(answer, status_code=status)

    async def delivery_log(
        self,
        request: Request,
        principal: CurrentPrincipal,
        resource_id: SubscriptionId,
        cursor: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Any:
        """The subscription's deliveries, newest first, and why it was disabled if it was."""
        _may_manage(principal)
        async with request.app.state.runtime.pool.acquire() as conn:
            row = await _owned(conn, principal, resource_id, action="webhooks:deliveries")
            items, next_cursor = await deliveries.page(
                conn, subscription_id=resource_id, cursor=cursor, limit=limit
            )
        return {
            "subscription": subscriptions.shown(row),
            "items": items,
            "next_cursor": next_cursor,
        }


def webhooks_router(settings: WebhookSettings) -> APIRouter:
    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
    routes = _Routes(settings)
    table: list[tuple[str, Callable[..., Any], str, Any, int, dict[int | str, Any]]] = [
        ("", routes.register, "POST", Registered, 201, WRITE_ERRORS),
        ("", routes.listed, "GET", SubscriptionList, 200, READ_ERRORS),
        ("/{resource_id}", routes.get_one, "GET", Subscription, 200, READ_ERRORS),
        ("/{resource_id}", routes.remove, "DELETE", None, 204, READ_ERRORS),
        ("/{resource_id}/secrets", routes.rotate, "POST", Rotated, 201, WRITE_ERRORS),
        ("/{resource_id}/enable", routes.enable, "POST", Subscription, 200, WRITE_ERRORS),
        ("/{resource_id}/deliveries", routes.delivery_log, "GET", Deliveries, 200, READ_ERRORS),
    ]
    for path, endpoint, method, model, status, errors in table:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_model=model,
            status_code=status,
            operation_id=f"webhooks_{endpoint.__name__}",
            responses=errors,
        )
    return router
