"""The event-log export streams: a million events cost no more memory than a hundred
thousand. The export runs in a subprocess (tests.integration.eventlog_memory) on the real
PostgreSQL, once over 100,000 events and once over 1,000,000, and its peak resident memory
is compared: growing with the rows (the export as it was, every row in memory, would need
some 500 MB more for the million) fails the test."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.integration.analytics_service import analytics_service
from tests.integration.conftest import Servers
from tests.integration.services import RunningService, Tokens

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# Each journey's five events drawn from four activities: about a thousand distinct path
# beginnings, each shared by many journeys (so nearly everything is exported).
INSERT = """
INSERT INTO journey_events (event_id, journey_id, activity, occurred_at, recorded_at)
SELECT gen_random_uuid(), 'journey-' || i,
       (ARRAY['uk.nrm.referral.submitted', 'uk.nrm.reasonable-grounds.decided',
              'uk.nrm.support.accepted', 'uk.nrm.support.contact-recorded'])
           [1 + (i / (4 ^ step)::bigint) % 4],
       at, at
FROM generate_series($1::bigint, $2::bigint) AS i,
     generate_series(0, 4) AS step,
     LATERAL (SELECT timestamptz '2025-01-01' + i * interval '1 second'
                     + step * interval '1 day' AS at) AS moment
"""
MIB = 1024


@pytest.fixture(scope="module")
async def analytics(servers: Servers, kafka: str, tokens: Tokens) -> AsyncIterator[RunningService]:
    async with analytics_service(servers, kafka, tokens, "analytics_scale") as service:
        yield service


def exported(database_url: str, fmt: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.eventlog_memory", database_url, fmt],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    result: dict[str, int] = json.loads(done.stdout)
    return result


async def test_a_million_events_stream_in_the_memory_of_a_hundred_thousand(
    analytics: RunningService,
) -> None:
    conn = await asyncpg.connect(analytics.database_url)
    try:
        await conn.execute(INSERT, 0, 19_999)  # 20,000 journeys: 100,000 events
        small = exported(analytics.database_url, "csv")
        await conn.execute(INSERT, 20_000, 199_999)  # 200,000 journeys: 1,000,000
        large = exported(analytics.database_url, "csv")
        large_parquet = exported(analytics.database_url, "parquet")
    finally:
        await conn.close()

    assert (small["rows"], large["rows"], large_parquet["rows"]) == (100_000, 1_000_000, 1_000_000)
    assert large["bytes"] > 9 * small["bytes"]
    growth_mib = (large["peak_rss_kib"] - small["peak_rss_kib"]) / MIB
    print(f"peak RSS: {small['peak_rss_kib'] / MIB:.0f} MiB over 100,000 events, "
          f"{large['peak_rss_kib'] / MIB:.0f} MiB (CSV) and "
          f"{large_parquet['peak_rss_kib'] / MIB:.0f} MiB (Parquet) over 1,000,000")  # fmt: skip
    assert growth_mib < 40, f"the export grew by {growth_mib:.0f} MiB for 900,000 more events"
    assert (large_parquet["peak_rss_kib"] - small["peak_rss_kib"]) / MIB < 60
