"""The audit trail: who read or wrote which journey's personal data, when, and in which request.

UK GDPR and public-sector practice: an API serving personal data logs when it was
provided and to whom. Rows are append-only (a trigger refuses updates and deletes).
"""

from __future__ import annotations

from journey_api.auth import Principal
from journey_api.context import request_id
from journey_platform.db import Connection


async def audit(
    conn: Connection,
    principal: Principal,
    *,
    action: str,
    journey_id: str | None,
    resource_id: str | None = None,
    outcome: str = "ok",
) -> None:
    await conn.execute(
        """INSERT INTO audit_log
               (request_id, client_id, agency_id, action, journey_id, resource_id, outcome)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        request_id(),
        principal.client_id,
        principal.agency_id,
        action,
        journey_id,
        resource_id,
        outcome,
    )
