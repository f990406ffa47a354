"""The Home Office's quarterly NRM tables: what the database says for one quarter (referrals
by referral date, first decisions by decision date, reports by report date), for
analytics.domain.nrm_statistics to lay out beside the published figures."""

from __future__ import annotations

from typing import Any

from analytics.domain.nrm_layout import Quarter
from analytics.domain.nrm_statistics import Measured, Referral, render
from analytics.domain.period import Period
from journey_platform.db import Connection


async def measure(conn: Connection, quarter: Quarter) -> Measured:
    start, end = Period(quarter.first_day, quarter.last_day).bounds()
    rows = await conn.fetch(
        """SELECT o.first_responder_type, o.age_group, o.competent_authority,
                  o.exploitation_types, o.nationality_group, g.gender
           FROM journey_outcomes o LEFT JOIN journey_gender g USING (journey_id)
           WHERE o.referred_at >= $1 AND o.referred_at < $2""",
        start,
        end,
    )
    decisions = {}
    for table, step in (
        ("reasonable_grounds_decisions", "reasonable_grounds"),
        ("conclusive_grounds_decisions", "conclusive_grounds"),
    ):
        row = await conn.fetchrow(
            f"""SELECT count(*) FILTER (WHERE {step}_positive_at = {step}_decided_at) AS positive,
                       count(*) AS decided
                FROM journey_outcomes
                WHERE {step}_decided_at >= $1 AND {step}_decided_at < $2""",  # noqa: S608
            start,
            end,
        )
        assert row is not None
        decisions[table] = (int(row["positive"]), int(row["decided"]) - int(row["positive"]))
    reports = await conn.fetchval(
        """SELECT count(*) FROM journey_outcomes
           WHERE duty_to_notify_reported_at >= $1 AND duty_to_notify_reported_at < $2""",
        start,
        end,
    )
    waits = await conn.fetch(
        """SELECT extract(epoch FROM conclusive_grounds_decided_at - referred_at) / 86400 AS days
           FROM journey_outcomes
           WHERE conclusive_grounds_decided_at >= $1 AND conclusive_grounds_decided_at < $2""",
        start,
        end,
    )
    return Measured(
        referrals=[Referral(**dict(r)) for r in rows],
        decisions=decisions,
        duty_to_notify_reports=int(reports),
        days_to_conclusive_grounds=[
            max(0.0, float(w["days"])) for w in waits if w["days"] is not None
        ],
    )


async def get(conn: Connection, *, quarter: Quarter, threshold: int) -> dict[str, Any]:
    return render(await measure(conn, quarter), quarter, threshold=threshold)
