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
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from fastapi.responses import Response

from journey_api.problems import Problem
from journey_platform.db import Connection

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def answer_sql(first: int = 1) -> str:
    """The statement that stores a claim's response from parameters $first..
    (`Claim.answer_values`): a statement of its own, or a CTE of a write's single statement."""
    client_id, key, status, body = (f"${first + i}" for i in range(4))
    return f"""UPDATE idempotency_keys
               SET response_status = {status}::integer, response_body = {body}::jsonb
               WHERE client_id = {client_id}::text AND idempotency_key = {key}::text"""  # noqa: S608 (parameter numbers)


@dataclass
class Claim:
    """A request's hold on its Idempotency-Key, taken first in the request's transaction.
    Its response is stored in the same transaction: by the write itself (`answered`, one
    round trip less) or, failing that, by `run_once` once the work returns."""

    client_id: str
    key: str
    answered: bool = False

    def answer_values(self, status: int, body: dict[str, Any]) -> tuple[object, ...]:
        """The parameters of `answer_sql`, in order."""
        return (self.client_id, self.key, status, orjson.dumps(body, default=str).decode())


Work = Callable[[Connection, Claim], Awaitable[tuple[int, dict[str, Any]]]]

# The lock tells a duplicate in flight (409) from a replay; it is taken before the insert
# (the insert reads the lock's row), and both travel in one round trip.
_CLAIM = """WITH lock AS (
                SELECT pg_try_advisory_xact_lock(hashtextextended($1 || '/' || $2, 2)) AS free),
            claimed AS (
                INSERT INTO idempotency_keys (client_id, idempotency_key, request_hash)
                SELECT $1, $2, $3 FROM lock WHERE free
                ON CONFLICT DO NOTHING RETURNING true)
            SELECT free, EXISTS (SELECT FROM claimed) AS claimed FROM lock"""
_ANSWER = answer_sql()


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def checked_key(key: str | None) -> str:
    """The request's Idempotency-Key, or a 400 saying what it lacks."""
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
    return key


async def run_once(
    pool: asyncpg.Pool, *, client_id: str, key: str | None, fingerprint: str, work: Work
) -> tuple[int, dict[str, Any]]:
    """Run `work` in a transaction at most once per (client, key); return (status, body)."""
    key = checked_key(key)
    async with pool.acquire() as conn, conn.transaction():
        claim = await conn.fetchrow(_CLAIM, client_id, key, fingerprint)
        assert claim is not None
        if not claim["free"]:
            raise Problem(
                409,
                "Conflict",
                "A request with this Idempotency-Key is still being processed.",
                kind="idempotency-key-in-flight",
            )
        if not claim["claimed"]:
            return await _replay(conn, client_id, key, fingerprint)
        held = Claim(client_id, key)
        status, body = await work(conn, held)
        if not held.answered:
            await conn.execute(_ANSWER, *held.answer_values(status, body))
    return status, body


async def respond_once(
    pool: asyncpg.Pool, *, client_id: str, key: str | None, fingerprint: str, work: Work
) -> Response:
    """`run_once`, answered as the JSON response a route returns."""
    status, body = await run_once(
        pool, client_id=client_id, key=key, fingerprint=fingerprint, work=work
    )
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


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
        raise reused_key()
    return int(row["response_status"]), orjson.loads(row["response_body"])


def reused_key() -> Problem:
    return Problem(
        422,
        "Idempotency-Key reused",
        "This Idempotency-Key was used with a different request.",
        kind="idempotency-key-reused",
    )
