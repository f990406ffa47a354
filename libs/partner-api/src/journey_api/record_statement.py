"""A journey record's whole write as one SQL statement: one round trip to PostgreSQL.

The record, the agencies that join its journey, its event in the outbox (after the
journey's lock, as `Outbox.add` would), its audit row and, for the request's first
record, the Idempotency-Key's stored response. `JourneyRecords.record` runs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import orjson

from journey_api.audit import audit_sql, audit_values
from journey_api.auth import Principal
from journey_api.idempotency import answer_sql
from journey_platform.outbox import Staged, staging_sql

if TYPE_CHECKING:
    from journey_api.domain.records import Recorded


def _write_sql(*, answer: bool) -> str:
    """A record's whole write as one statement: the record, its participants, the outbox
    row (after the journey's lock), the audit row and, with `answer`, the request's
    idempotent response. Each part is a CTE; PostgreSQL runs every data-modifying CTE to
    completion, and the transaction is the caller's."""
    first_event, first_audit = 11, 18
    parts = [
        """record AS (
            INSERT INTO journey_records
                (record_id, journey_id, resource_id, kind, attributes, occurred_at,
                 agency_id, event_id, recorded_at)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9))""",
        """participants AS (
            INSERT INTO journey_participants (journey_id, agency_id)
            SELECT $2, unnest($10::text[]) ON CONFLICT DO NOTHING)""",
        f"event AS ({staging_sql(first_event)})",
        f"audit AS ({audit_sql(first_audit)})",
    ]
    if answer:
        parts.append(f"answer AS ({answer_sql(first_audit + 7)})")
    return "WITH " + ",\n".join(parts) + "\nSELECT"


def parameters(
    recorded: Recorded, staged: Staged, principal: Principal, participants: Iterable[str]
) -> tuple[object, ...]:
    """The parameters of `_write_sql`, in order."""
    return (
        recorded.record_id,
        recorded.journey_id,
        recorded.resource_id,
        recorded.kind,
        orjson.dumps(recorded.attributes).decode(),
        recorded.occurred_at,
        recorded.agency_id,
        staged.event_id,
        recorded.recorded_at,
        sorted({recorded.agency_id, *participants}),
        *staged.values(),
        *audit_values(
            principal,
            action=f"write:{recorded.kind}",
            journey_id=recorded.journey_id,
            resource_id=str(recorded.resource_id),
        ),
    )


WRITE = _write_sql(answer=False)
WRITE_AND_ANSWER = _write_sql(answer=True)
