"""PostgreSQL types shared by the platform's helpers."""

from __future__ import annotations

import contextlib
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A plain connection or one borrowed from a pool: the helpers accept either.
Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

# The database is down, restarting or unreachable: refused or reset connections (OSError,
# timeouts included), a connection lost mid-transaction, a server shutting down or
# starting up (operator intervention, SQLSTATE class 57), and asyncpg's InterfaceError,
# which is what ending a transaction on a connection the server closed raises (seen when
# PostgreSQL stopped under the fault suite's load), and its InternalClientError, which
# the pool raises when it resets, on release, a connection the server closed mid-operation
# ("cannot switch to state 15; another operation (2) is in progress": seen the same way,
# ending a consumer's task; the pool has terminated that connection). What failed was not
# committed; the same work may be tried again once the server answers.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


async def ensure_database(url: str) -> None:
    """Create the database `url` names if it does not exist (each service owns one)."""
    base, _, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        exists = await admin.fetchval("SELECT true FROM pg_database WHERE datname = $1", name)
        if not exists:
            # A sibling process may create it meanwhile.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
