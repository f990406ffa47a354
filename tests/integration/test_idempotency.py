"""Idempotency-Key on every POST, and problem+json for every error, on the running services."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest

from tests.integration.journeys import days_ago, referral_body, synthetic_person
from tests.integration.services import BY_TYPE, RunningService, Tokens

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def _police(tokens: Tokens, key: str | None = None) -> dict[str, str]:
    return tokens.headers(BY_TYPE["police_force"], idempotency_key=key)


async def _referrals_of(service: RunningService, journey_id: str) -> int:
    conn = await asyncpg.connect(service.database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM journey_records WHERE journey_id = $1 AND kind = 'referral'",
                journey_id,
            )
        )
    finally:
        await conn.close()


async def test_missing_key_is_400_and_the_same_key_and_body_replays_one_write(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    body = referral_body(synthetic_person())
    async with httpx.AsyncClient(base_url=referral.url) as client:
        headers = _police(tokens)
        del headers["Idempotency-Key"]
        missing = await client.post("/v1/referrals", json=body, headers=headers)
        assert missing.status_code == 400
        assert missing.headers["content-type"] == PROBLEM
        assert "Idempotency-Key" in missing.json()["detail"]

        key = str(uuid.uuid4())
        first = await client.post("/v1/referrals", json=body, headers=_police(tokens, key))
        again = await client.post("/v1/referrals", json=body, headers=_police(tokens, key))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert await _referrals_of(referral, first.json()["journey_id"]) == 1


async def test_same_key_with_another_body_is_422(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    key = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=partner_services["referral"].url) as client:
        first = await client.post(
            "/v1/referrals", json=referral_body(synthetic_person()), headers=_police(tokens, key)
        )
        other = await client.post(
            "/v1/referrals", json=referral_body(synthetic_person()), headers=_police(tokens, key)
        )
    assert first.status_code == 201
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["type"].endswith("idempotency-key-reused")


async def test_a_key_is_scoped_to_its_client(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    key = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=partner_services["referral"].url) as client:
        ours = await client.post(
            "/v1/referrals", json=referral_body(synthetic_person()), headers=_police(tokens, key)
        )
        theirs = await client.post(
            "/v1/referrals",
            json=referral_body(synthetic_person()),
            headers=tokens.headers("southmoor-police", idempotency_key=key),
        )
    assert ours.status_code == theirs.status_code == 201
    assert ours.json()["journey_id"] != theirs.json()["journey_id"]


async def test_a_concurrent_duplicate_is_409_while_the_first_is_in_flight(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    body, key = referral_body(synthetic_person()), str(uuid.uuid4())
    blocker = await asyncpg.connect(referral.database_url)
    async with httpx.AsyncClient(base_url=referral.url, timeout=30) as client:
        # Hold the record table so the first request stays in flight after claiming its key.
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE journey_records IN EXCLUSIVE MODE")
        first = asyncio.create_task(
            client.post("/v1/referrals", json=body, headers=_police(tokens, key))
        )
        deadline = time.monotonic() + 20
        while True:  # until the first request, its key claimed, waits for the table
            waiting = await blocker.fetchval(
                """SELECT count(*) FROM pg_locks
                   WHERE relation = 'journey_records'::regclass AND NOT granted"""
            )
            if waiting:
                break
            assert time.monotonic() < deadline, "the first request never reached the table"
            await asyncio.sleep(0.02)
        duplicate = await client.post("/v1/referrals", json=body, headers=_police(tokens, key))
        await transaction.rollback()
        await blocker.close()
        completed = await first
        replay = await client.post("/v1/referrals", json=body, headers=_police(tokens, key))
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == PROBLEM
    assert completed.status_code == replay.status_code == 201
    assert replay.json() == completed.json()
    assert await _referrals_of(referral, completed.json()["journey_id"]) == 1


async def test_validation_errors_are_problems_that_name_fields_but_not_values(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    person = synthetic_person()
    body = referral_body(person, age_group="forty-ish", surname_typo="Zebedee")
    body["occurred_at"] = "2999-01-01T00:00:00Z"
    async with httpx.AsyncClient(base_url=partner_services["referral"].url) as client:
        response = await client.post("/v1/referrals", json=body, headers=_police(tokens))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    fields = {error["field"] for error in problem["errors"]}
    assert {"body.age_group", "body.surname_typo", "body.occurred_at"} <= fields
    assert "forty-ish" not in response.text and "Zebedee" not in response.text
    assert problem["status"] == 422 and problem["request_id"]


async def test_every_error_is_problem_json_without_internals(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    async with httpx.AsyncClient(base_url=referral.url) as client:
        submitted = await client.post(
            "/v1/referrals", json=referral_body(synthetic_person()), headers=_police(tokens)
        )
        referral_id = submitted.json()["resource_id"]
        cases = {
            "unknown path": await client.get("/v1/nowhere", headers=_police(tokens)),
            "wrong method": await client.delete("/v1/referrals", headers=_police(tokens)),
            "no token": await client.get(f"/v1/referrals/{referral_id}"),
            "not a uuid": await client.get("/v1/referrals/not-a-uuid", headers=_police(tokens)),
            "state conflict": await client.post(
                f"/v1/referrals/{referral_id}/conclusive-grounds-decisions",
                json={"occurred_at": days_ago(1), "outcome": "positive"},
                headers=tokens.headers(BY_TYPE["competent_authority_sca"]),
            ),
            "malformed json": await client.post(
                "/v1/referrals",
                content=b"{not json",
                headers={**_police(tokens), "content-type": "application/json"},
            ),
        }
    expected = {
        "unknown path": 404,
        "wrong method": 405,
        "no token": 401,
        "not a uuid": 422,
        "state conflict": 409,
        "malformed json": 422,
    }
    for name, response in cases.items():
        assert response.status_code == expected[name], (name, response.text)
        assert response.headers["content-type"] == PROBLEM, name
        problem = response.json()
        assert problem["status"] == expected[name] and problem["title"] and problem["type"]
        assert "Traceback" not in response.text and "asyncpg" not in response.text
    assert cases["no token"].headers["www-authenticate"] == "Bearer"
    assert cases["state conflict"].json()["type"].endswith("state-conflict")
