"""Speaking to the flags service in tests: as any agency, polling with a deadline."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.integration.services import RunningService, Tokens
from tests.integration.webhook_receiver import Arrival, Receiver

DEADLINE_SECONDS = 90


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll `check` until it returns something truthy, or fail saying what never came."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def flags_of(
    client: httpx.AsyncClient, flags: RunningService, tokens: Tokens
) -> Callable[..., Awaitable[httpx.Response]]:
    async def get(agency_id: str, path: str = "/v1/flags", **params: Any) -> httpx.Response:
        return await client.get(flags.url + path, params=params, headers=tokens.headers(agency_id))

    return get


async def subscribe(
    client: httpx.AsyncClient,
    flags: RunningService,
    tokens: Tokens,
    agency: str,
    receiver: Receiver,
) -> str:
    """The agency registers its endpoint; the secret comes back once."""
    response = await client.post(
        f"{flags.url}/v1/webhooks",
        json={"url": receiver.url, "event_types": ["flag.raised", "flag.resolved"]},
        headers=tokens.headers(agency, idempotency_key=secrets.token_hex(8)),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


async def delivered_to(receiver: Receiver, event_type: str, flag_id: str) -> Arrival | None:
    """The first delivery of this event type for this flag that the receiver took."""
    for arrival in receiver.delivered():
        body = json.loads(arrival.body)
        if body["type"] == event_type and body["data"]["flag_id"] == flag_id:
            return arrival
    return None
