"""Partner-facing limits on the real stack: rate limits per client (429, Retry-After, an
audit row), body size (413) and JSON shape (422) limits, security headers, and identity
reads that spend their token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from journey_api.bodies import MAX_DEPTH, MAX_ITEMS
from journey_platform.settings import find_schemas_dir
from tests.integration.conftest import Servers
from tests.integration.journeys import Partner, referral_body, synthetic_person
from tests.integration.services import BY_TYPE, RunningService, Tokens, referral_service

pytestmark = pytest.mark.integration
POLICE = BY_TYPE["police_force"]
SCA = BY_TYPE["competent_authority_sca"]
BURST = 3
MAX_BODY_BYTES = 64 * 1024  # ApiSettings' default


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith(f"/{kind}"), body
    return body


@pytest.fixture(scope="module")
async def limited(
    servers: Servers, kafka: str, tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningService]:
    """A referral service whose registry lets each client make 1 request a second, 3 at once."""
    development = find_schemas_dir().parent / "deploy" / "local" / "agencies.yaml"
    registry = yaml.safe_load(development.read_text())
    registry["rate_limits"] = {"default": {"per_second": 1, "burst": BURST}}
    path = Path(tmp_path_factory.mktemp("registry")) / "agencies.yaml"
    path.write_text(yaml.safe_dump(registry))
    name = f"referral_limited_{uuid.uuid4().hex[:8]}"
    database_url = f"{servers.database_url.rsplit('/', 1)[0]}/{name}"
    try:
        async with referral_service(
            kafka, tokens, database_url, agency_registry_path=path
        ) as service:
            yield service
    finally:
        admin = await asyncpg.connect(servers.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_client_over_its_limit_gets_429_with_retry_after_and_is_audited(
    limited: RunningService, tokens: Tokens
) -> None:
    client_id = f"police-case-system-{uuid.uuid4().hex[:6]}"
    token = tokens.signer.mint(agency_id=POLICE, scopes=["referrals:read"], client_id=client_id)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as client:
        # All at once: a burst's worth goes through, the rest are refused.
        burst = await asyncio.gather(
            *(client.get("/v1/referrals", headers=headers) for _ in range(BURST + 2))
        )
        statuses = sorted(r.status_code for r in burst)
        assert statuses == [200] * BURST + [429] * 2, statuses
        refused = next(r for r in burst if r.status_code == 429)
        problem = assert_problem(refused, 429, "rate-limited")
        assert "1 requests per second, in bursts of up to 3" in problem["detail"]
        assert (problem["limit_per_second"], problem["burst"]) == (1, BURST)
        retry_after = int(refused.headers["Retry-After"])
        assert retry_after == problem["retry_after_seconds"] >= 1

        # Another client of the same agency has a bucket of its own...
        other = tokens.signer.mint(agency_id=POLICE, scopes=["referrals:read"])
        response = await client.get("/v1/referrals", headers={"Authorization": f"Bearer {other}"})
        assert response.status_code == 200
        # ...health probes are never limited...
        probes = await asyncio.gather(*(client.get("/livez") for _ in range(BURST * 3)))
        assert {r.status_code for r in probes} == {200}
        # ...and the refused client, having waited as told, is let through again.
        await asyncio.sleep(retry_after)
        assert (await client.get("/v1/referrals", headers=headers)).status_code == 200

    conn = await asyncpg.connect(limited.database_url)
    try:
        rows = await conn.fetch(
            "SELECT agency_id, action, outcome FROM audit_log WHERE client_id = $1 "
            "AND outcome <> 'ok'",
            client_id,
        )
    finally:
        await conn.close()
    # One row for the run of refusals: hammering cannot flood the audit log.
    assert [dict(r) for r in rows] == [
        {"agency_id": POLICE, "action": "GET /v1/referrals", "outcome": "rate_limited"}
    ]


async def test_a_body_over_the_limit_is_refused_with_413_declared_or_streamed(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    oversized = b'{"note": "' + b"x" * MAX_BODY_BYTES + b'"}'

    async def streamed() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
        for start in range(0, len(oversized), 8192):
            yield oversized[start : start + 8192]

    async with httpx.AsyncClient(base_url=referral.url, timeout=30) as client:
        for content in (oversized, streamed()):
            response = await client.post(
                "/v1/referrals",
                content=content,
                headers={**tokens.headers(POLICE), "Content-Type": "application/json"},
            )
            problem = assert_problem(response, 413, "body-too-large")
            assert problem["detail"] == f"A request body may be at most {MAX_BODY_BYTES} bytes."


@pytest.mark.parametrize(
    ("shape", "rule"),
    [
        ("deep", "max-depth"),
        ("long", "max-items"),
    ],
)
async def test_json_nested_too_deep_or_too_long_is_refused_naming_the_rule(
    partner_services: dict[str, RunningService], tokens: Tokens, shape: str, rule: str
) -> None:
    referral = partner_services["referral"]
    body = referral_body(synthetic_person())
    if shape == "deep":
        nested: Any = "sexual"
        for _ in range(MAX_DEPTH):
            nested = [nested]
        body["exploitation_types"] = nested
    else:
        body["exploitation_types"] = ["sexual"] * (MAX_ITEMS + 1)
    async with httpx.AsyncClient(base_url=referral.url, timeout=30) as client:
        response = await client.post("/v1/referrals", json=body, headers=tokens.headers(POLICE))
    problem = assert_problem(response, 422, "json-limits")
    assert problem["rule"] == rule
    assert str(MAX_DEPTH if shape == "deep" else MAX_ITEMS) in problem["detail"]


async def test_every_answer_carries_the_security_headers_and_personal_data_is_not_cached(
    partner_services: dict[str, RunningService], tokens: Tokens
) -> None:
    referral = partner_services["referral"]
    async with httpx.AsyncClient(base_url=referral.url, timeout=30) as client:
        read = await client.get("/v1/referrals", headers=tokens.headers(POLICE))
        probe = await client.get("/livez")
        refused = await client.get("/v1/referrals")  # no token: 401
        docs = await client.get("/docs")
    assert read.status_code == 200 and probe.status_code == 200 and refused.status_code == 401
    for response in (read, probe, refused, docs):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        policy = dict(
            d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
        )
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["frame-ancestors"] == "'none'"
    # A partner's read is about people: no cache may keep it. A probe may be cached.
    assert read.headers["cache-control"] == "no-store"
    assert "cache-control" not in probe.headers
    # The docs page's one inline script is allowed by its own hash, not by 'unsafe-inline'.
    inline = re.search(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert inline is not None
    digest = base64.b64encode(hashlib.sha256(inline.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in docs.headers["content-security-policy"]


async def test_an_identity_read_spends_its_token_in_every_process(
    servers: Servers,
    kafka: str,
    partner_services: dict[str, RunningService],
    tokens: Tokens,
) -> None:
    referral = partner_services["referral"]
    async with (
        httpx.AsyncClient(timeout=30) as client,
        # A second process's worth of the same service, on the same database.
        referral_service(kafka, tokens, referral.database_url) as replica,
    ):
        police = Partner(client, referral, tokens, "police_force")
        submitted = await police.post("/v1/referrals", referral_body(synthetic_person()))
        path = f"/v1/referrals/{submitted['resource_id']}/identity"
        token = tokens.signer.mint(agency_id=SCA, scopes=["identity:read"])
        headers = {"Authorization": f"Bearer {token}"}

        first = await client.get(referral.url + path, headers=headers)
        assert first.status_code == 200 and first.json()["person"]["given_name"]
        assert first.headers["cache-control"] == "no-store"
        for service in (referral, replica):  # the same token again, here or elsewhere
            again = await client.get(service.url + path, headers=headers)
            problem = assert_problem(again, 401, "token-replayed")
            assert "only once" in problem["detail"]
            assert "person" not in again.json()
        # A fresh token reads again, on either.
        fresh = await client.get(replica.url + path, headers=tokens.headers(SCA))
        assert fresh.status_code == 200

    conn = await asyncpg.connect(referral.database_url)
    try:
        outcomes = await conn.fetch(
            "SELECT outcome FROM audit_log WHERE resource_id = $1 AND outcome = 'replayed'",
            submitted["resource_id"],
        )
    finally:
        await conn.close()
    assert len(outcomes) == 2
