"""Journeys for the dashboard test, written straight into the analytics tables.

The sink's own test covers the way from the topics to these rows; here they are only a
filled database. 80 generated journeys, shaped so every answer the dashboard shows has
both published cells and suppressed ones (counts under 10): the late criminal-justice
steps, rare rules and stages, a wait with too few events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

JOURNEYS = 80
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AS_OF = START + timedelta(days=150)  # the data's as-of time: the latest outcome seen
DAY = timedelta(days=1)


def journey_id(index: int) -> str:
    return f"dashboard-{index:03d}"


def _milestones(i: int) -> dict[str, datetime | None]:
    """Each journey's milestones; which journeys reach which step sets the funnel."""
    referred = START + timedelta(hours=7 * i)
    rg_decided = referred + (5 + i % 23) * DAY if i < 70 else None
    rg_positive = rg_decided if i < 60 else None
    support = rg_positive + DAY if rg_positive and i < 50 else None

    def only(condition: bool, moment: datetime | None) -> datetime | None:
        return moment if condition else None

    return {
        "referred_at": referred,
        "reasonable_grounds_decided_at": rg_decided,
        "reasonable_grounds_positive_at": rg_positive,
        "support_entered_at": support,
        "support_ended_at": only(support is not None and i < 24, referred + (40 + i) * DAY),
        # Six decisions: a Conclusive Grounds wait too sparse to publish its events.
        "conclusive_grounds_decided_at": only(i < 6, referred + (90 + i) * DAY),
        "conclusive_grounds_positive_at": only(i < 4, referred + (90 + i) * DAY),
        "police_referral_at": only(i < 30, referred + 2 * DAY),
        "crime_recorded_at": only(i < 15, referred + 9 * DAY),
        "charged_at": only(i < 5, referred + 60 * DAY),
        "convicted_at": only(i < 2, referred + 120 * DAY),
    }


@dataclass(frozen=True)
class Rule:
    rule_id: str
    stage: str
    journeys: range


# Flags on these journeys: some groups large enough to publish, some not.
RULES = (
    Rule("reasonable-grounds-overdue", "identification", range(0, 25)),
    Rule("no-support-contact", "support", range(30, 45)),
    Rule("move-on-cliff-edge", "support", range(45, 49)),
    Rule("no-legal-representation", "criminal_justice", range(10, 13)),
)


async def fill(database_url: str) -> None:
    """Write the journeys' outcomes and drop-off flags (the service has migrated)."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await _outcomes(conn)
            await _flags(conn)
    finally:
        await conn.close()


async def _outcomes(conn: asyncpg.Connection) -> None:
    columns = list(_milestones(0))
    names = ", ".join(columns)
    values = ", ".join(f"${n}" for n in range(9, 9 + len(columns)))
    await conn.executemany(
        f"""INSERT INTO journey_outcomes (journey_id, event_id, as_of, recorded_at,
                source_partition, source_offset, stage, in_support, criminal_justice_stage,
                {names})
            VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, {values})""",
        [
            (
                journey_id(i),
                uuid.uuid4(),
                AS_OF,
                i % 6,
                i,
                "conclusive_grounds" if i < 60 else "reasonable_grounds",
                i < 50,
                "none" if i >= 30 else "referred",
                *_milestones(i).values(),
            )
            for i in range(JOURNEYS)
        ],
    )


async def _flags(conn: asyncpg.Connection) -> None:
    rows = []
    for rule in RULES:
        for i in rule.journeys:
            due = START + timedelta(hours=7 * i) + 20 * DAY
            # Nothing resolves a move-on cliff edge (the rules catalogue): its resolved
            # count is a structural zero, published as 0.
            resolved = i % 2 == 1 and rule.rule_id != "move-on-cliff-edge"
            rows.append(
                (
                    uuid.uuid4(),
                    journey_id(i),
                    rule.rule_id,
                    rule.stage,
                    due,
                    "resolved" if resolved else "open",
                    due + (3 + i % 11) * DAY if resolved else None,
                )
            )
    # A retracted flag never counts: it must not reach any number on the page.
    rows.append(
        (uuid.uuid4(), journey_id(70), "move-on-cliff-edge", "support", AS_OF, "retracted", None)
    )
    await conn.executemany(
        """INSERT INTO dropoff_flags (flag_id, journey_id, rule_id, stage, severity, started_by,
                due_at, raised_at, status, resolution, resolved_at, resolved_by,
                last_event_id, last_recorded_at, last_time)
            VALUES ($1, $2, $3, $4, 'warning', 'referred', $5, $5, $6,
                    CASE WHEN $6 = 'resolved' THEN 'arrived_late' END, $7,
                    CASE WHEN $6 = 'resolved' THEN 'uk.nrm.test' END,
                    gen_random_uuid(), $5, $5)""",
        rows,
    )
