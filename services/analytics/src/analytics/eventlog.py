"""The event log for process-mining tools: one row per journey event (case, activity, time).

It is record-level, so it is made safer before it leaves:

- case ids are re-pseudonymised with a random key made for this export and then thrown
  away (HMAC-SHA256), so they link neither to the stream's journey ids nor to another
  export's case ids;
- timestamps are cut to the day;
- a rare path is as good as a name, so each journey's trace (its sequence of activities)
  is cut to its longest beginning that at least `threshold` journeys share: a common
  path goes out whole, a rare one up to where it becomes rare, and a journey whose very
  first activity is rare not at all. (Dropping every rare trace whole, the simpler rule,
  left out half the journeys of a simulated cohort and every long one: most full traces
  are unique.) How many journeys were cut short or left out, and how many events that
  cost, is said with the export.

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
    cases: int  # journeys exported (whole or cut short)
    truncated_cases: int  # journeys whose rare remainder was cut
    dropped_cases: int  # journeys left out altogether (a rare first activity)
    dropped_events: int


def build(
    events: Sequence[tuple[str, str, datetime]], *, threshold: int, key: bytes | None = None
) -> EventLog:
    """(journey id, activity, occurred at), ordered by journey then time -> the export."""
    key = key or secrets.token_bytes(32)
    traces: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for journey_id, activity, occurred_at in events:
        traces[journey_id].append((activity, occurred_at))
    # How many journeys begin with each path: a trie of activities, one count per node.
    nodes: dict[tuple[int, str], int] = {}
    shared: list[int] = []
    paths: dict[str, list[int]] = {}
    for journey_id, trace in traces.items():
        node, path = -1, []
        for activity, _ in trace:
            node = nodes.setdefault((node, activity), len(nodes))
            if node == len(shared):
                shared.append(0)
            shared[node] += 1
            path.append(node)
        paths[journey_id] = path
    rows, truncated, dropped = [], 0, 0
    for journey_id, trace in traces.items():
        keep = sum(1 for node in paths[journey_id] if shared[node] >= threshold)
        truncated += 0 < keep < len(trace)
        dropped += keep == 0
        case_id = hmac.new(key, journey_id.encode(), hashlib.sha256).hexdigest()[:20]
        for activity, occurred_at in trace[:keep]:
            day = occurred_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            rows.append({"case_id": case_id, "activity": activity, "timestamp": day})
    # Sorted by case id (random per export) so row order says nothing about the journeys.
    rows.sort(key=lambda r: str(r["case_id"]))
    return EventLog(
        rows=rows,
        cases=len(traces) - dropped,
        truncated_cases=truncated,
        dropped_cases=dropped,
        dropped_events=len(events) - len(rows),
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
