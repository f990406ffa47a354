"""What the database says for a period, before disclosure control: the funnel's steps,
every flag in its groups, the journeys referred and the waits (analytics.domain.served
publishes them as one).

Every answer is read from one snapshot (see analytics.api.deps.snapshot), so the numbers
of two answers agree.
"""

from __future__ import annotations

from datetime import datetime

from analytics.adapters.sql import within
from analytics.domain import served
from analytics.domain.dropoffs import DIMENSIONS, PROFILE_DIMENSIONS, UNKNOWN, FlagFact, tabulate
from analytics.domain.funnel import STEPS
from analytics.domain.period import Period
from analytics.domain.structure import RuleStructure
from analytics.domain.survival import MEASURES, Fitted, Measure, kaplan_meier, observations
from journey_platform.db import Connection


async def count_steps(conn: Connection, period: Period) -> dict[str, int]:
    """Journeys referred in the period that reached each step of the funnel."""
    where, parameters = within(period, "referred_at", 1)
    columns = ", ".join(f"count({step}_at) AS {step}" for step, _, _ in STEPS)
    row = await conn.fetchrow(
        f"SELECT {columns} FROM journey_outcomes WHERE {where}",  # noqa: S608 - fixed names
        *parameters,
    )
    assert row is not None
    return {step: int(row[step]) for step, _, _ in STEPS}


def _group_sql(by: str) -> str:
    if by == "rule":
        return "SELECT f.rule_id"
    if by == "stage":
        return "SELECT f.stage"
    if by == "exploitation_type":
        return (
            "SELECT unnest(CASE WHEN cardinality(o.exploitation_types) > 0"
            f" THEN o.exploitation_types ELSE ARRAY['{UNKNOWN}'] END)"
        )
    if by in PROFILE_DIMENSIONS:
        return f"SELECT coalesce(o.{by}, '{UNKNOWN}')"
    raise ValueError(f"unknown dimension {by!r}; one of {', '.join(DIMENSIONS)}")


async def flag_facts(conn: Connection, by: str, period: Period) -> list[FlagFact]:
    """Every flag (not retracted) of the journeys referred in the period, in its groups."""
    where, parameters = within(period, "o.referred_at", 1)
    rows = await conn.fetch(
        f"""SELECT f.flag_id::text AS flag_id, f.journey_id, f.status, g.grp,
                   extract(epoch FROM f.resolved_at - f.due_at) / 86400 AS days
            FROM dropoff_flags f
            LEFT JOIN journey_outcomes o USING (journey_id)
            CROSS JOIN LATERAL ({_group_sql(by)} AS grp) g
            WHERE f.status <> 'retracted' AND {where}""",  # noqa: S608 - fixed expressions
        *parameters,
    )
    return [
        FlagFact(
            flag_id=r["flag_id"],
            journey_id=r["journey_id"],
            group=r["grp"],
            status=r["status"],
            days_to_resolution=float(r["days"]) if r["status"] == "resolved" else None,
        )
        for r in rows
    ]


async def journeys_in(conn: Connection, period: Period) -> int:
    """Journeys referred in the period (without one: every journey, reported or referred)."""
    where, parameters = within(period, "referred_at", 1)
    journeys = await conn.fetchval(
        f"SELECT count(*) FROM journey_outcomes WHERE {where}",  # noqa: S608
        *parameters,
    )
    return int(journeys)


async def as_of(conn: Connection) -> datetime | None:
    """The latest time the data has reached (see analytics.domain.survival)."""
    latest: datetime | None = await conn.fetchval("SELECT max(as_of) FROM journey_outcomes")
    return latest


async def fit(conn: Connection, measure: Measure, period: Period) -> Fitted:
    """The Kaplan-Meier fit of one wait for the journeys referred in the period."""
    where, parameters = within(period, "referred_at", 1)
    rows = await conn.fetch(
        f"""SELECT {measure.start}_at AS start, {measure.end}_at AS finish, final_at
            FROM journey_outcomes
            WHERE {measure.start}_at IS NOT NULL AND {where}""",  # noqa: S608 - fixed names
        *parameters,
    )
    latest = await as_of(conn)
    if latest is None or not rows:
        return Fitted(0, 0, None, [])
    return kaplan_meier(
        *observations([(r["start"], r["finish"], r["final_at"]) for r in rows], latest)
    )


async def measure(conn: Connection, period: Period) -> served.Measured:
    facts = {by: await flag_facts(conn, by, period) for by in DIMENSIONS}
    stages = {f.flag_id: f.group for f in facts["stage"]}
    rule_stages = {f.group: stages[f.flag_id] for f in facts["rule"]}
    return served.Measured(
        steps=await count_steps(conn, period),
        tallies={by: tabulate(by_facts) for by, by_facts in facts.items()},
        journeys_in_period=await journeys_in(conn, period),
        rule_stages=rule_stages,
        waits={name: await fit(conn, m, period) for name, m in MEASURES.items()},
    )


async def get(
    conn: Connection, *, period: Period, threshold: int, structure: RuleStructure
) -> served.Answers:
    """Every answer the API serves for the period, disclosure-controlled as one."""
    return served.publish(
        await measure(conn, period), structure=structure, period=period, threshold=threshold
    )
