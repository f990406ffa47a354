"""The journey funnel: how many journeys reached each step, and how many went on.

Steps are milestones of the outcome record, from referral through the NRM decisions
(Reasonable Grounds: is there reason to believe this is a victim; Conclusive Grounds: on
the balance of probabilities, is it) and support, to the criminal-justice steps. Counts
are of journeys that reached the step, whatever they reached before; a conversion is a
step's count over the previous step's, null when either count is suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics.disclosure import ratio, suppress
from analytics.period import Period
from journey_platform.db import Connection

STEPS: tuple[tuple[str, str], ...] = (
    ("referred", "Referral"),
    ("reasonable_grounds_decided", "Reasonable Grounds decision"),
    ("reasonable_grounds_positive", "Positive Reasonable Grounds"),
    ("support_entered", "Support entered"),
    ("conclusive_grounds_decided", "Conclusive Grounds decision"),
    ("conclusive_grounds_positive", "Positive Conclusive Grounds"),
    ("police_referral", "Police referral"),
    ("crime_recorded", "Crime recorded"),
    ("charged", "Charged"),
    ("convicted", "Convicted"),
)


def funnel(counts: Mapping[str, int], *, period: Period, threshold: int) -> dict[str, Any]:
    """The funnel JSON from raw counts per step (disclosure-controlled here)."""
    steps, previous = [], None
    for index, (step, label) in enumerate(STEPS):
        count = suppress(counts.get(step, 0), threshold)
        steps.append(
            {
                "step": step,
                "label": label,
                "count": count,
                "conversion": None if index == 0 else ratio(count, previous),
            }
        )
        previous = count
    return {"period": period.json(), "threshold": threshold, "steps": steps}


async def count_steps(conn: Connection, period: Period) -> dict[str, int]:
    where, parameters = period.where("referred_at", 1)
    columns = ", ".join(f"count({step}_at) AS {step}" for step, _ in STEPS)
    row = await conn.fetchrow(
        f"SELECT {columns} FROM journey_outcomes WHERE {where}",  # noqa: S608 - fixed names
        *parameters,
    )
    assert row is not None
    return {step: int(row[step]) for step, _ in STEPS}


async def get(conn: Connection, *, period: Period, threshold: int) -> dict[str, Any]:
    return funnel(await count_steps(conn, period), period=period, threshold=threshold)
