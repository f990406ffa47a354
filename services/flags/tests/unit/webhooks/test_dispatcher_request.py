"""The request a delivery makes: to the address that was checked, never re-resolved,
with the name kept for Host and TLS, the Standard Webhooks headers, and no redirect
followed. (The full delivery path runs on the real stack in
tests/integration/test_flag_webhooks.py; here only the request's shape.)"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import httpx
from standardwebhooks import Webhook

from flags.webhooks.deliveries import Claimed
from flags.webhooks.dispatcher import Dispatcher
from flags.webhooks.endpoints import Endpoint
from flags.webhooks.settings import WebhookSettings
from flags.webhooks.signing import new_secret

SECRET = new_secret()
NOW = datetime.now(UTC)
DELIVERY = Claimed(1, "msg_1", cast(Any, None), "", '{"type":"flag.raised"}', 1, NOW, NOW, NOW)


async def send(answer: httpx.Response) -> tuple[list[httpx.Request], tuple[int | None, str | None]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    dispatcher = Dispatcher(cast(asyncpg.Pool, None), WebhookSettings())
    endpoint = Endpoint(
        httpx.URL("https://hooks.example:8443/flags"), ipaddress.ip_address("93.184.215.14")
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        outcome = await dispatcher._post(client, endpoint, DELIVERY, [SECRET])
    return seen, outcome


async def test_the_request_goes_to_the_checked_address_under_the_endpoints_name() -> None:
    [request], outcome = await send(httpx.Response(204))
    assert outcome == (204, None)
    assert str(request.url) == "https://93.184.215.14:8443/flags"
    assert request.headers["host"] == "hooks.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.example"
    assert Webhook(SECRET).verify(request.content, dict(request.headers))


async def test_a_redirect_is_a_failure_not_followed() -> None:
    answer = httpx.Response(307, headers={"location": "http://169.254.169.254/"})
    requests, outcome = await send(answer)
    assert len(requests) == 1
    assert outcome == (307, "redirect")


async def test_an_error_status_is_classed_by_its_code() -> None:
    _, outcome = await send(httpx.Response(503))
    assert outcome == (503, "http-503")
