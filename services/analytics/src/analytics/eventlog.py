"""The event log for process-mining tools: one row per journey event (case, activity, time).

It is record-level, so it is made safer before it leaves:

- case ids are re-pseudonymised with a random key made for this export and then thrown
  away (HMAC-SHA256), so they link neither to the stream's journey ids nor to another
  export's case ids;
- timestamps are cut to the day;
- a journey whose trace variant (its sequence of activities) fewer than `threshold`
  journeys share is left out: a rare path is as good as a name. How many variants and
  journeys were left out is said with the export.

Export needs the `analytics:export` scope, and every export is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics.period import Period
from journey_platform.db import Connection

COLUMNS = ("case_id", "activity", "timestamp")


@dataclass(frozen=True)
class EventLog:
    rows: list[dict[str, Any]]  # case_id, activity, timestamp (a UTC midnight)
    cases: int
    variants: int
    dropped_cases: int
    dropped_variants: int


def build(
    events: Sequence[tuple[str, str, datetime]], *, threshold: int, key: bytes | None = None
) -> EventLog:
    """(journey id, activity, occurred at), ordered by journey then time -> the export."""
    key = key or secrets.token_bytes(32)
    traces: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for journey_id, activity, occurred_at in events:
        traces[journey_id].append((activity, occurred_at))
    by_variant: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for journey_id, trace in traces.items():
        by_variant[tuple(activity for activity, _ in trace)].append(journey_id)
    kept = {
        variant: journeys for variant, journeys in by_variant.items() if len(journeys) >= threshold
    }
    rows = []
    for journeys in kept.values():
        for journey_id in journeys:
            case_id = hmac.new(key, journey_id.encode(), hashlib.sha256).hexdigest()[:20]
            for activity, occurred_at in traces[journey_id]:
                day = occurred_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                rows.append({"case_id": case_id, "activity": activity, "timestamp": day})
    # Sorted by case id (random per export) so row order says nothing about the journeys.
    rows.sort(key=lambda r: str(r["case_id"]))
    kept_cases = sum(len(j) for j in kept.values())
    return EventLog(
        rows=rows,
        cases=kept_cases,
        variants=len(kept),
        dropped_cases=len(traces) - kept_cases,
        dropped_variants=len(by_variant) - len(kept),
    )


async def fetch(conn: Connection, period: Period) -> list[tuple[str, str, datetime]]:
    where, parameters = period.where("o.referred_at", 1)
    join = "" if where == "true" else "JOIN journey_outcomes o USING (journey_id)"
    rows = await conn.fetch(
        f"""SELECT e.journey_id, e.activity, e.occurred_at FROM journey_events e {join}
            WHERE {where} ORDER BY e.journey_id, e.occurred_at, e.event_id""",  # noqa: S608
        *parameters,
    )
    return [(r["journey_id"], r["activity"], r["occurred_at"]) for r in rows]


async def get(conn: Connection, *, period: Period, threshold: int) -> EventLog:
    return build(await fetch(conn, period), threshold=threshold)
