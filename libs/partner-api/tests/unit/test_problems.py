from __future__ import annotations

import httpx
from fastapi import FastAPI

from journey_api.problems import Problem, install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/internal/module.py")

    @app.get("/teapot")
    async def teapot() -> None:
        raise Problem(409, "Conflict", "Not now.", kind="state-conflict", hint="later")

    return app


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text and "module.py" not in response.text
    assert response.json()["type"].endswith("/internal")


async def test_a_problem_keeps_its_status_type_and_extensions() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/teapot")
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("/state-conflict") and body["hint"] == "later"
    assert body["instance"] == "/teapot"
