"""Database statements in traces and metrics (`journey_platform.db.StatementObserver`), on a
real PostgreSQL: the slow and the failed get a span under the work that ran them, with the
statement's placeholders but never a bound value nor the server's message; every statement
is timed in `journey_db_statement_duration_seconds`."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import REGISTRY

from journey_platform.db import create_pool
from journey_platform.tracing import tracer

pytestmark = pytest.mark.integration

SLOW = "SELECT pg_sleep(0.05), $1::text"
FAILING = "SELECT $1::int / 0"


def statements_timed(operation: str) -> float:
    count = REGISTRY.get_sample_value(
        "journey_db_statement_duration_seconds_count", {"operation": operation}
    )
    return count or 0.0


async def children_of(
    spans: InMemorySpanExporter, parent: ReadableSpan, expected: int
) -> list[ReadableSpan]:
    """The spans under `parent`, once `expected` of them have ended (asyncpg reports a
    statement just after it, on the event loop)."""
    deadline = time.monotonic() + 10
    while True:
        found = [
            s
            for s in spans.get_finished_spans()
            if s.parent is not None and s.parent.span_id == parent.context.span_id
        ]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.02)


async def test_slow_and_failed_statements_get_spans_and_every_statement_is_timed(
    database: str, spans: InMemorySpanExporter
) -> None:
    identifying = f"Testperson-{uuid.uuid4().hex}"  # stands for a value bound to a statement
    timed_before = statements_timed("SELECT")
    pool = await create_pool(database, statement_span_ms=20, min_size=1, max_size=1)
    try:
        with tracer("test").start_as_current_span("request") as request:
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT $1::text", identifying) == identifying
                await conn.execute(SLOW, identifying)
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await conn.fetchval(FAILING, 860731)
                await asyncio.sleep(0)  # asyncpg reports each statement with call_soon
                timed = statements_timed("SELECT") - timed_before
    finally:
        await pool.close()

    found = await children_of(spans, request, expected=2)  # type: ignore[arg-type]
    by_text = {s.attributes["db.query.text"]: s for s in found if s.attributes}
    assert set(by_text) == {SLOW, FAILING}, "a fast statement that succeeded has no span"
    slow, failed = by_text[SLOW], by_text[FAILING]
    assert slow.name == failed.name == "SELECT"
    assert slow.end_time is not None and slow.start_time is not None
    assert slow.end_time - slow.start_time >= 50_000_000  # its own duration, in ns
    assert slow.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["error.type"] == "22012"
    assert slow.attributes is not None
    assert {k: slow.attributes[k] for k in ("db.system.name", "db.namespace")} == {
        "db.system.name": "postgresql",
        "db.namespace": database.rpartition("/")[2],
    }
    said = " ".join(f"{s.attributes} {s.status.description}" for s in found)
    assert identifying not in said and "860731" not in said
    assert "division by zero" not in said, "the server's message can quote a value"
    assert timed == 3  # the fast one too


async def test_a_threshold_of_zero_gives_every_statement_a_span(
    database: str, spans: InMemorySpanExporter
) -> None:
    pool = await create_pool(database, statement_span_ms=0, min_size=1, max_size=1)
    try:
        with tracer("test").start_as_current_span("request") as request:
            async with pool.acquire() as conn, conn.transaction():
                await conn.fetchval("SELECT 1")
    finally:
        await pool.close()
    found = await children_of(spans, request, expected=4)  # type: ignore[arg-type]
    # The fourth is asyncpg's reset of the connection given back to the pool.
    assert sorted(s.name for s in found) == ["BEGIN", "COMMIT", "SELECT", "SELECT"]
