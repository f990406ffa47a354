"""A 422 names each invalid field with the rule it broke, never the value sent."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from fastapi import FastAPI, Query
from pydantic import Field

from journey_api.models import Command, OccurredAt
from journey_api.problem_handlers import install_problem_handlers

SECRET = "Zebedee-Secretname"


class Referral(Command):
    occurred_at: OccurredAt
    consent: Literal["given", "not_required_child"]
    exploitation_types: list[Literal["sexual", "labour"]]
    count: Annotated[int, Field(ge=0, le=10)]


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/referrals")
    async def refer(body: Referral) -> dict[str, Any]:
        return {}

    @app.get("/referrals")
    async def page(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
        return {}

    return app


async def _problem(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.request(method, path, **kwargs)
    assert response.status_code == 422
    assert SECRET not in response.text
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/validation")
    return body


async def test_a_missing_enum_field_is_named_with_its_allowed_values() -> None:
    body = await _problem(
        "POST",
        "/referrals",
        json={"occurred_at": "2025-03-04T10:15:00Z", "exploitation_types": ["sexual"], "count": 1},
    )
    (error,) = body["errors"]
    assert error["field"] == "body.consent" and error["code"] == "missing"
    assert error["allowed"] == ["given", "not_required_child"]
    assert "body.consent (one of: given, not_required_child)" in body["detail"]


async def test_wrong_values_are_named_with_the_rule_and_not_echoed() -> None:
    body = await _problem(
        "POST",
        "/referrals",
        json={
            "occurred_at": SECRET,
            "consent": SECRET,
            "exploitation_types": ["sexual", SECRET],
            "count": 11,
        },
    )
    rules = {e["field"]: e for e in body["errors"]}
    assert "ISO 8601" in rules["body.occurred_at"]["rule"]
    assert rules["body.consent"]["allowed"] == ["given", "not_required_child"]
    assert rules["body.exploitation_types.1"]["allowed"] == ["sexual", "labour"]
    assert rules["body.count"]["rule"] == "an integer, from 0 to 10"


async def test_a_query_parameter_out_of_bounds_says_its_bounds() -> None:
    body = await _problem("GET", "/referrals", params={"limit": "500"})
    (error,) = body["errors"]
    assert error["field"] == "query.limit" and error["rule"] == "an integer, from 1 to 200"
