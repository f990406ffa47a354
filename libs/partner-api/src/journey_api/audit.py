"""The audit trail: who read or wrote which journey's personal data, when, and in which request.

UK GDPR and public-sector practice: an API serving personal data logs when it was
provided and to whom. Rows are append-only (a trigger refuses updates and deletes).
"""

from __future__ import annotations

from journey_api.auth import Principal
from journey_api.context import request_id
from journey_platform.db import Connection


def audit_sql(first: int = 1) -> str:
    """The insert of one audit row from parameters $first.. (`audit_values`): a statement
    of its own, or the body of a CTE in a write's single statement."""
    params = ", ".join(f"${first + i}" for i in range(7))
    return f"""INSERT INTO audit_log
                   (request_id, client_id, agency_id, action, journey_id, resource_id, outcome)
               VALUES ({params})"""  # noqa: S608 (parameter numbers)


def audit_values(
    principal: Principal,
    *,
    action: str,
    journey_id: str | None,
    resource_id: str | None = None,
    outcome: str = "ok",
) -> tuple[str | None, ...]:
    """The parameters of `audit_sql`, in order, for this request."""
    return (
        request_id(),
        principal.client_id,
        principal.agency_id,
        action,
        journey_id,
        resource_id,
        outcome,
    )


_AUDIT = audit_sql()


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
        _AUDIT,
        *audit_values(
            principal,
            action=action,
            journey_id=journey_id,
            resource_id=resource_id,
            outcome=outcome,
        ),
    )
