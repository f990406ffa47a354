from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request

from journey_api.domain.errors import DomainError, StateConflict
from journey_api.problem_handlers import OnProblem, install_problem_handlers
from journey_api.problems import Problem


def _app(on_problem: OnProblem | None = None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, on_problem)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/internal/module.py")

    @app.get("/database-down")
    async def database_down() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 15432)")

    @app.get("/database-shutting-down")
    async def database_shutting_down() -> None:
        raise asyncpg.exceptions.AdminShutdownError("terminating connection")

    @app.get("/ended")
    async def ended() -> None:
        raise StateConflict("Support has ended for this case.")

    @app.get("/unmapped")
    async def unmapped() -> None:
        raise DomainError("a rule nobody mapped")

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


@pytest.mark.parametrize("path", ["/database-down", "/database-shutting-down"])
async def test_a_database_that_does_not_answer_is_a_503_to_retry_after_a_pause(path: str) -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"].endswith("/unavailable")
    assert "15432" not in response.text and "terminating" not in response.text


async def test_an_unexpected_error_is_logged_once_and_goes_no_further(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # raise_app_exceptions: an error that left the app would reach the server, whose
    # log (uvicorn.error) would print the same traceback a second time.
    transport = httpx.ASGITransport(app=_app())
    with caplog.at_level("ERROR"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/boom")
    assert response.status_code == 500
    assert [r.getMessage() for r in caplog.records] == ["unhandled error"]


async def test_a_state_conflict_from_the_domain_is_the_409_problem_partners_know() -> None:
    audited: list[Problem] = []

    async def on_problem(_: Request, problem: Problem) -> None:
        audited.append(problem)

    transport = httpx.ASGITransport(app=_app(on_problem))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/ended")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://victim-journey.dev/problems/state-conflict"
    assert body["title"] == "Conflict with the journey's state"
    assert body["detail"] == "Support has ended for this case."
    assert [p.status for p in audited] == [409], "the audit hook sees it as any problem"


async def test_a_domain_error_no_one_mapped_is_a_500_not_a_guess() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/unmapped")
    assert response.status_code == 500
    assert "nobody mapped" not in response.text
