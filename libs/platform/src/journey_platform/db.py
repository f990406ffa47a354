"""PostgreSQL: the connection pool every service opens, what a failure to reach the
database looks like, and each statement in the metrics and, when slow, in the trace."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import asyncpg
from asyncpg.connection import LoggedQuery
from asyncpg.pool import PoolConnectionProxy
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode

from journey_platform.metrics import DB_STATEMENT_DURATION
from journey_platform.tracing import tracer

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


async def create_pool(
    url: str,
    *,
    statement_span_ms: float,
    min_size: int,
    max_size: int,
    reset: Callable[[asyncpg.Connection[Any]], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    """A pool whose every connection reports its statements to a `StatementObserver`."""
    observer = StatementObserver(statement_span_ms / 1000, database=url.rpartition("/")[2])

    async def observed(conn: asyncpg.Connection[Any]) -> None:
        conn.add_query_logger(observer)

    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=observed, reset=reset
    )
    return pool


# Statement kinds, the bounded vocabulary of the metric's label and the span's name.
OPERATIONS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK"}
)


class StatementObserver:
    """Times every statement into `journey_db_statement_duration_seconds`, and gives a
    statement a span of its own, under the request or batch that ran it, when it took at
    least `span_threshold_s` or failed.

    Why not a span for every statement, as opentelemetry-instrumentation-asyncpg makes: a
    referral write runs five statements, mostly under a millisecond, and their five spans
    cost about a fifth of its CPU, made and exported (py-spy under bench/referral_writes.py).
    The statements a trace is opened to find, the slow and the failed, keep theirs; the
    histogram has them all.

    asyncpg calls this after each statement, soon, in the context of the task that ran it
    (so the request's span is the parent). The span has the statement's text, with its
    placeholders ($1), never the values bound to them, and for a failure the SQLSTATE or
    the error's class, never the server's message (which can quote a value).
    """

    def __init__(self, span_threshold_s: float, *, database: str) -> None:
        self.span_threshold_s = span_threshold_s
        self.database = database.split("?", 1)[0]
        self._tracer = tracer(__name__)

    def __call__(self, statement: LoggedQuery) -> None:
        words = statement.query.lstrip().split(None, 1)
        operation = words[0].rstrip(";").upper() if words else ""
        if operation not in OPERATIONS:
            operation = "OTHER"
        DB_STATEMENT_DURATION.labels(operation).observe(statement.elapsed)
        failed = statement.exception is not None
        if (statement.elapsed < self.span_threshold_s and not failed) or not (
            is_instrumentation_enabled()
        ):
            return
        end = time.time_ns()
        attributes: dict[str, str | int] = {
            "db.system.name": "postgresql",
            "db.namespace": self.database,
            "db.operation.name": operation,
            "db.query.text": statement.query,
        }
        if isinstance(statement.conn_addr, tuple):
            attributes["server.address"], attributes["server.port"] = statement.conn_addr[:2]
        span = self._tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            start_time=end - int(statement.elapsed * 1e9),
            attributes=attributes,
        )
        if failed:
            error = (
                getattr(statement.exception, "sqlstate", None) or type(statement.exception).__name__
            )
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end)
