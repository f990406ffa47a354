"""Run the event-log export of a whole database into nothing and print what it cost:
`python -m tests.integration.eventlog_memory DATABASE_URL csv|parquet` prints JSON with
the rows and bytes written and the process's peak resident memory (ru_maxrss). Run in a
subprocess by test_eventlog_scale, so the peak is the export's alone."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from collections.abc import AsyncIterator

import asyncpg

from analytics.adapters import eventlog
from analytics.api import files
from analytics.domain.period import Period


async def export(database_url: str, fmt: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    written = rows = 0
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            prefixes = await eventlog.count(conn, Period())
            summary = prefixes.summary(10)

            async def counted() -> AsyncIterator[list[dict[str, object]]]:
                nonlocal rows
                async for batch in eventlog.rows(conn, Period(), prefixes, threshold=10):
                    rows += len(batch)
                    yield batch

            async for chunk in files.stream(counted(), files.event_log_schema(), fmt):
                written += len(chunk)
    finally:
        await conn.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"rows": rows, "bytes": written, "peak_rss_kib": peak_kib, "cases": summary.cases}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(export(sys.argv[1], sys.argv[2]))))
