"""A write that succeeded wakes the outbox relay: its rows are committed, publish them now."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from journey_api.middleware import WakeRelayAfterWrites


class CountingRelay:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


async def test_only_a_successful_post_wakes_the_relay() -> None:
    app = FastAPI()
    relay = CountingRelay()
    app.state.runtime = SimpleNamespace(relay=relay)
    app.add_middleware(WakeRelayAfterWrites)

    @app.post("/records")
    async def write(fail: bool = False) -> JSONResponse:
        return JSONResponse({}, status_code=409 if fail else 201)

    @app.get("/records")
    async def read() -> dict[str, str]:
        return {}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.get("/records")
        await client.post("/records", params={"fail": "true"})
        assert relay.wakes == 0
        await client.post("/records")
    assert relay.wakes == 1
