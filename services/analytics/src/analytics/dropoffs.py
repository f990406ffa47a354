"""Drop-offs by one dimension: where journeys break down, and for whom.

Per group: flags raised (retracted flags are not drop-offs and never count), still open,
resolved, journeys flagged, and the median days from a flag falling due to its
resolution (resolved flags only). A total row and the number of journeys in the period
(for rates) come with it. Every count passes disclosure control, with secondary
suppression wherever the table's totals would let a suppressed cell be recovered.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from analytics.disclosure import Relation, enough, protect, suppress
from analytics.period import Period
from journey_platform.db import Connection

PROFILE_DIMENSIONS = (
    "first_responder_type",
    "competent_authority",
    "region",
    "age_band",
    "nationality_group",
)
# A Literal, so that the API's OpenAPI lists the dimensions as an enum.
Dimension = Literal[
    "rule",
    "stage",
    "first_responder_type",
    "competent_authority",
    "region",
    "exploitation_type",
    "age_band",
    "nationality_group",
]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
# A flag falls in exactly one group of these, so the groups' flag counts add up to the total.
FLAG_EXCLUSIVE = frozenset(DIMENSIONS) - {"exploitation_type"}
# A journey falls in exactly one group of these (its profile has one value).
JOURNEY_EXCLUSIVE = frozenset(PROFILE_DIMENSIONS)
COUNTS = ("raised", "open", "resolved", "journeys")
TOTAL = "all"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class FlagFact:
    """One flag (not retracted) in one group; a flag may sit in several groups of a
    dimension that is not exclusive (a journey with several exploitation types)."""

    flag_id: str
    journey_id: str
    group: str
    status: str  # open | resolved
    days_to_resolution: float | None


def label(code: str) -> str:
    """A readable label for a coded value: "missing-episode" -> "Missing episode"."""
    words = code.replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def _tally(facts: Iterable[FlagFact]) -> tuple[dict[str, int], list[float]]:
    flags: dict[str, FlagFact] = {}
    for fact in facts:
        flags.setdefault(fact.flag_id, fact)
    days = [f.days_to_resolution for f in flags.values() if f.days_to_resolution is not None]
    return {
        "raised": len(flags),
        "open": sum(1 for f in flags.values() if f.status == "open"),
        "resolved": sum(1 for f in flags.values() if f.status != "open"),
        "journeys": len({f.journey_id for f in flags.values()}),
    }, days


def table(
    by: str,
    facts: Sequence[FlagFact],
    journeys_in_period: int,
    *,
    period: Period,
    threshold: int,
) -> dict[str, Any]:
    """The drop-offs JSON (disclosure-controlled here)."""
    grouped: dict[str, list[FlagFact]] = defaultdict(list)
    for fact in facts:
        grouped[fact.group].append(fact)
    tallies = {group: _tally(group_facts) for group, group_facts in grouped.items()}
    tallies[TOTAL] = _tally(facts)
    groups = sorted(g for g in tallies if g != TOTAL)

    cells = {(g, c): tallies[g][0][c] for g in tallies for c in COUNTS}
    relations = [Relation((g, "raised"), [(g, "open"), (g, "resolved")]) for g in tallies]
    if by in FLAG_EXCLUSIVE:
        relations += [
            Relation((TOTAL, c), [(g, c) for g in groups]) for c in ("raised", "open", "resolved")
        ]
    if by in JOURNEY_EXCLUSIVE:
        relations.append(Relation((TOTAL, "journeys"), [(g, "journeys") for g in groups]))
    shown = protect(cells, relations, threshold)

    def row(group: str) -> dict[str, Any]:
        days = tallies[group][1]
        resolved = shown[(group, "resolved")]
        median = (
            round(statistics.median(days), 2)
            if resolved is not None and enough(len(days), threshold)
            else None
        )
        return {
            "group": group,
            "label": "All" if group == TOTAL else label(group),
            **{c: shown[(group, c)] for c in COUNTS},
            "median_days_to_resolution": median,
        }

    rows = [row(g) for g in groups]
    # Suppressed rows last, in name order: ordering them by their true size would leak it.
    rows.sort(key=lambda r: (r["raised"] is None, -(r["raised"] or 0), r["group"]))
    return {
        "by": by,
        "period": period.json(),
        "threshold": threshold,
        "journeys_in_period": suppress(journeys_in_period, threshold),
        "rows": rows,
        "total": row(TOTAL),
    }


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


async def fetch(conn: Connection, by: str, period: Period) -> tuple[list[FlagFact], int]:
    where, parameters = period.where("o.referred_at", 1)
    rows = await conn.fetch(
        f"""SELECT f.flag_id::text AS flag_id, f.journey_id, f.status, g.grp,
                   extract(epoch FROM f.resolved_at - f.due_at) / 86400 AS days
            FROM dropoff_flags f
            LEFT JOIN journey_outcomes o USING (journey_id)
            CROSS JOIN LATERAL ({_group_sql(by)} AS grp) g
            WHERE f.status <> 'retracted' AND {where}""",  # noqa: S608 - fixed expressions
        *parameters,
    )
    facts = [
        FlagFact(
            flag_id=r["flag_id"],
            journey_id=r["journey_id"],
            group=r["grp"],
            status=r["status"],
            days_to_resolution=float(r["days"]) if r["status"] == "resolved" else None,
        )
        for r in rows
    ]
    journeys_where, journeys_parameters = period.where("referred_at", 1)
    journeys = await conn.fetchval(
        f"SELECT count(*) FROM journey_outcomes WHERE {journeys_where}",  # noqa: S608
        *journeys_parameters,
    )
    return facts, int(journeys)


async def get(conn: Connection, *, by: str, period: Period, threshold: int) -> dict[str, Any]:
    facts, journeys = await fetch(conn, by, period)
    return table(by, facts, journeys, period=period, threshold=threshold)
