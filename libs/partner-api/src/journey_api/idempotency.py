"""Idempotency-Key on every POST, scoped per client.

- missing key: 400;
- same key, same request: the first response replayed, and only one row written;
- same key, different request: 422;
- same key while the first request is still in flight: 409.

The key, the business writes and the response are one transaction, so a replayed
response always matches what was written, and a request that failed or whose process died
(SIGKILL, a lost node, a database that went away) leaves nothing behind: the client may
retry with the same key. While it runs, the request holds a transaction-scoped advisory
lock on its key, which a concurrent duplicate sees (409); the server releases it when the
transaction ends, however it ends, so no claim can outlive the request that made it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi.responses import JSONResponse

from journey_api.problems import Problem
from journey_platform.db import Connection

Work = Callable[[Connection], Awaitable[tuple[int, dict[str, Any]]]]
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_once(
    pool: asyncpg.Pool, *, client_id: str, key: str | None, fingerprint: str, work: Work
) -> tuple[int, dict[str, Any]]:
    """Run `work` in a transaction at most once per (client, key); return (status, body)."""
    if not key:
        raise Problem(
            400,
            "Idempotency-Key required",
            "Send an Idempotency-Key header (a UUID is ideal) with every POST.",
            kind="idempotency-key-missing",
        )
    if len(key) > MAX_KEY_LENGTH:
        raise Problem(
            400,
            "Bad request",
            f"The Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.",
            kind="idempotency-key-invalid",
        )
    async with pool.acquire() as conn, conn.transaction():
        in_flight = not await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || '/' || $2, 2))",
            client_id,
            key,
        )
        if in_flight:
            raise Problem(
                409,
                "Conflict",
                "A request with this Idempotency-Key is still being processed.",
                kind="idempotency-key-in-flight",
            )
        claimed = await conn.fetchval(
            """INSERT INTO idempotency_keys (client_id, idempotency_key, request_hash)
               VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true""",
            client_id,
            key,
            fingerprint,
        )
        if not claimed:
            return await _replay(conn, client_id, key, fingerprint)
        status, body = await work(conn)
        await conn.execute(
            """UPDATE idempotency_keys SET response_status = $3, response_body = $4::jsonb
               WHERE client_id = $1 AND idempotency_key = $2""",
            client_id,
            key,
            status,
            json.dumps(body, default=str),
        )
    return status, body


async def respond_once(
    pool: asyncpg.Pool, *, client_id: str, key: str | None, fingerprint: str, work: Work
) -> JSONResponse:
    """`run_once`, answered as the JSON response a route returns."""
    status, body = await run_once(
        pool, client_id=client_id, key=key, fingerprint=fingerprint, work=work
    )
    return JSONResponse(body, status_code=status)


async def _replay(
    conn: Connection, client_id: str, key: str, fingerprint: str
) -> tuple[int, dict[str, Any]]:
    row = await conn.fetchrow(
        """SELECT request_hash, response_status, response_body FROM idempotency_keys
           WHERE client_id = $1 AND idempotency_key = $2""",
        client_id,
        key,
    )
    assert row is not None, "a key that conflicted on insert exists"
    if row["request_hash"] != fingerprint:
        raise Problem(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was used with a different request.",
            kind="idempotency-key-reused",
        )
    return int(row["response_status"]), json.loads(row["response_body"])
