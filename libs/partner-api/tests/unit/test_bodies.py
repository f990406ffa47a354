"""Body limits: checked before a route parses anything (the real-stack test is
tests/integration/test_partner_limits.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from journey_api.bodies import MAX_DEPTH, MAX_ITEMS, MAX_STRING, BodyLimits, json_limit_broken
from journey_api.problem_handlers import install_problem_handlers

LIMIT = 1_000


def nested(depth: int) -> Any:
    document: Any = 1
    for _ in range(depth):
        document = {"a": document}
    return document


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        (nested(MAX_DEPTH + 1), "max-depth"),
        ([[0] * 2] * (MAX_ITEMS + 1), "max-items"),
        ({f"k{i}": i for i in range(MAX_ITEMS + 1)}, "max-items"),
        ({"note": "x" * (MAX_STRING + 1)}, "max-string-length"),
        ({"x" * (MAX_STRING + 1): 1}, "max-string-length"),
    ],
)
def test_each_rule_is_named_when_broken(document: Any, rule: str) -> None:
    problem = json_limit_broken(document)
    assert problem is not None and problem.status == 422
    assert problem.extensions["rule"] == rule


def test_a_document_at_every_limit_passes() -> None:
    at_limits = {"deep": nested(MAX_DEPTH - 2), "items": [0] * MAX_ITEMS, "s": "x" * MAX_STRING}
    assert json_limit_broken(at_limits) is None


def guarded(max_bytes: int) -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(BodyLimits, max_bytes=max_bytes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded(LIMIT) as client:
        yield client


async def test_a_body_within_the_limit_reaches_the_route_whole(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", content=b"x" * LIMIT)
    assert response.json() == {"bytes": LIMIT}


async def test_a_declared_or_streamed_body_over_the_limit_is_a_413(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 300

    for content in (b"x" * (LIMIT + 1), chunks()):
        response = await client.post("/echo", content=content)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert f"at most {LIMIT} bytes" in response.json()["detail"]


async def test_json_nested_past_what_the_parser_can_take_is_named_too_deep() -> None:
    body = b"[" * 50_000 + b"]" * 50_000  # too deep for json.loads' own stack
    async with guarded(len(body)) as client:
        for media_type in ("application/json", "application/merge-patch+json", None):
            # FastAPI parses a body that names no media type as JSON too.
            headers = {"content-type": media_type} if media_type else {}
            response = await client.post("/echo", content=body, headers=headers)
            assert response.status_code == 422 and response.json()["rule"] == "max-depth"
        plain = await client.post("/echo", content=body, headers={"content-type": "text/plain"})
        assert plain.json() == {"bytes": len(body)}  # not JSON to anyone: not checked as JSON
