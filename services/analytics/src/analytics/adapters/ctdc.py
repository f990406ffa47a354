"""The journey dataset's rows as the database holds them: each journey referred in the
period, its gender and its drop-off flags counted by stage (analytics.domain.ctdc makes
them rows and k-anonymises them)."""

from __future__ import annotations

from analytics.adapters.sql import within
from analytics.domain.ctdc import Export, export, record
from analytics.domain.period import Period
from journey_platform.db import Connection

JOURNEYS = """
SELECT o.*, coalesce(g.gender, 'unknown') AS gender,
       coalesce(f.identification, 0) AS "flagsIdentification",
       coalesce(f.support, 0) AS "flagsSupport",
       coalesce(f.criminal_justice, 0) AS "flagsCriminalJustice",
       coalesce(f.prevention, 0) AS "flagsPrevention"
FROM journey_outcomes o
LEFT JOIN journey_gender g USING (journey_id)
LEFT JOIN (
    SELECT journey_id,
           count(*) FILTER (WHERE stage = 'identification') AS identification,
           count(*) FILTER (WHERE stage = 'support') AS support,
           count(*) FILTER (WHERE stage = 'criminal_justice') AS criminal_justice,
           count(*) FILTER (WHERE stage = 'prevention') AS prevention
    FROM dropoff_flags WHERE status <> 'retracted' GROUP BY journey_id
) f USING (journey_id)
WHERE o.referred_at IS NOT NULL AND {period}
ORDER BY o.referred_at, o.journey_id
"""


async def get(conn: Connection, *, period: Period, k: int) -> Export:
    where, parameters = within(period, "o.referred_at", 1)
    journeys = await conn.fetch(JOURNEYS.format(period=where), *parameters)
    return export([record(journey) for journey in journeys], k=k)
