"""The event log read for export: two passes over one snapshot, each a server-side cursor
read in batches, by journey, so one journey's trace is in hand at a time (the cut and the
pseudonyms are analytics.domain.eventlog's)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

from analytics.adapters.sql import within
from analytics.domain.eventlog import Prefixes, Trace, case_rows
from analytics.domain.period import Period
from journey_platform.db import Connection

BATCH = 5000  # rows per fetch from the cursor and per chunk written


def _query(period: Period, *, salted: bool) -> tuple[str, list[Any]]:
    """The period's events by journey; salted: the journeys in a random order, by the hash
    of their id with a salt given as the last parameter."""
    where, parameters = within(period, "o.referred_at", 1)
    order = f"md5(${len(parameters) + 1} || e.journey_id), " if salted else ""
    join = "" if where == "true" else "JOIN journey_outcomes o USING (journey_id)"
    return (
        f"""SELECT e.journey_id, e.activity, e.occurred_at FROM journey_events e {join}
            WHERE {where} ORDER BY {order}e.journey_id, e.occurred_at, e.event_id""",  # noqa: S608
        parameters,
    )


async def _traces(
    conn: Connection, query: str, parameters: Sequence[Any]
) -> AsyncIterator[tuple[str, Trace]]:
    """One journey's trace at a time, from a server-side cursor (inside a transaction)."""
    journey_id: str | None = None
    trace: Trace = []
    async for row in conn.cursor(query, *parameters, prefetch=BATCH):
        if row["journey_id"] != journey_id:
            if journey_id is not None:
                yield journey_id, trace
            journey_id, trace = row["journey_id"], []
        trace.append((row["activity"], row["occurred_at"]))
    if journey_id is not None:
        yield journey_id, trace


async def count(conn: Connection, period: Period) -> Prefixes:
    """The first pass: how many journeys begin with each path."""
    prefixes = Prefixes()
    query, parameters = _query(period, salted=False)
    async for _, trace in _traces(conn, query, parameters):
        prefixes.add(activity for activity, _ in trace)
    return prefixes


async def rows(
    conn: Connection, period: Period, prefixes: Prefixes, *, threshold: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """The second pass, on the snapshot the first counted: the rows in batches, by case in
    a random order, with case ids keyed afresh (the key is never kept)."""
    key, salt = secrets.token_bytes(32), secrets.token_hex(16)
    query, parameters = _query(period, salted=True)
    batch: list[dict[str, Any]] = []
    async for journey_id, trace in _traces(conn, query, [*parameters, salt]):
        batch += case_rows(journey_id, trace, prefixes, threshold=threshold, key=key)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
