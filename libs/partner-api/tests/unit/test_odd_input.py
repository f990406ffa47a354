"""Odd but well-formed input is a 4xx problem, never a 500 (found by fuzzing and probing)."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import ValidationError

from journey_api.cursors import decode_cursor, encode_cursor
from journey_api.models import Command, Moment, OccurredAt
from journey_api.problem_handlers import install_problem_handlers
from journey_api.problems import PROBLEM, Problem, problem_schemas


class Body(Command):
    occurred_at: OccurredAt
    since: Moment


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",  # before the first instant UTC can hold
        "9999-12-31T23:59:59-14:00",  # after the last
        "2025-03-04T10:15:00",  # no time zone: which moment is it?
    ],
)
def test_a_moment_outside_utc_or_without_a_zone_is_refused(moment: str) -> None:
    with pytest.raises(ValidationError, match="since"):
        Body.model_validate({"occurred_at": "2025-03-04T10:15:00Z", "since": moment})
    with pytest.raises(ValidationError, match="occurred_at"):
        Body.model_validate({"occurred_at": moment, "since": "2025-03-04T10:15:00Z"})


def test_a_cursor_beyond_any_position_is_a_400_not_a_database_error() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    for position in ("99999999999999999999", "-1", "x"):
        forged = base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")
        with pytest.raises(Problem) as raised:
            decode_cursor(forged)
        assert raised.value.status == 400 and raised.value.kind == "invalid-cursor"


async def test_a_405_allows_every_method_the_path_serves() -> None:
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter(prefix="/v1/things")
    router.add_api_route("", lambda: {}, methods=["GET"])
    router.add_api_route("", lambda: {}, methods=["POST"])  # a second route, same path
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.put("/v1/things")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "GET, POST"


def test_the_documented_problem_body_resolves_to_a_schema() -> None:
    schemas = problem_schemas()
    reference = PROBLEM["content"]["application/problem+json"]["schema"]["$ref"]
    problem = schemas[reference.rsplit("/", 1)[1]]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["required"])
    item = problem["properties"]["errors"]["items"]["$ref"]
    assert item.rsplit("/", 1)[1] in schemas
