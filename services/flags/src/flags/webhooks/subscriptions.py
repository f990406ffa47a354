"""Subscriptions and their secrets in PostgreSQL. Every function is scoped to one agency:
another agency's subscription is simply not there."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flags.webhooks.signing import SecretBox, new_secret
from journey_platform.db import Connection

_COLUMNS = """subscription_id, url, event_types, created_at, disabled_at, disabled_reason,
              failure_streak"""


def shown(row: Any) -> dict[str, Any]:
    """A subscription as the API shows it (never a secret)."""
    return {
        "id": str(row["subscription_id"]),
        "url": row["url"],
        "event_types": list(row["event_types"]),
        "created_at": row["created_at"],
        "status": "disabled" if row["disabled_at"] else "active",
        "disabled_at": row["disabled_at"],
        "disabled_reason": row["disabled_reason"],
        "consecutive_failures": row["failure_streak"],
    }


async def create(
    conn: Connection, box: SecretBox, *, agency_id: str, url: str, event_types: list[str]
) -> tuple[dict[str, Any], str]:
    """A new subscription and its first secret (returned in the clear this once)."""
    subscription_id = uuid.uuid4()
    row = await conn.fetchrow(
        f"""INSERT INTO webhook_subscriptions (subscription_id, agency_id, url, event_types)
            VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}""",  # noqa: S608 (constant columns)
        subscription_id,
        agency_id,
        url,
        sorted(set(event_types)),
    )
    secret = await _add_secret(conn, box, subscription_id)
    return shown(row), secret


async def listed(conn: Connection, *, agency_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM webhook_subscriptions WHERE agency_id = $1
            ORDER BY created_at, subscription_id""",  # noqa: S608 (constant columns)
        agency_id,
    )
    return [shown(row) for row in rows]


async def get(conn: Connection, *, agency_id: str, subscription_id: uuid.UUID) -> Any:
    """The subscription's row, or None if this agency has no such subscription."""
    return await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM webhook_subscriptions
            WHERE subscription_id = $1 AND agency_id = $2""",  # noqa: S608 (constant columns)
        subscription_id,
        agency_id,
    )


async def delete(conn: Connection, *, agency_id: str, subscription_id: uuid.UUID) -> bool:
    """Remove it with its secrets and any deliveries not yet made."""
    deleted = await conn.fetchval(
        """DELETE FROM webhook_subscriptions WHERE subscription_id = $1 AND agency_id = $2
           RETURNING true""",
        subscription_id,
        agency_id,
    )
    return bool(deleted)


async def rotate(
    conn: Connection, box: SecretBox, *, subscription_id: uuid.UUID, overlap: timedelta
) -> tuple[str, datetime]:
    """A new primary secret; the previous one signs too until the overlap ends, and any
    older one stops now, so at most two are ever active."""
    await conn.execute(
        """DELETE FROM webhook_secrets
           WHERE subscription_id = $1 AND expires_at IS NOT NULL""",
        subscription_id,
    )
    previous_until = await conn.fetchval(
        """UPDATE webhook_secrets SET expires_at = now() + $2::interval
           WHERE subscription_id = $1 AND expires_at IS NULL RETURNING expires_at""",
        subscription_id,
        overlap,
    )
    return await _add_secret(conn, box, subscription_id), previous_until


async def enable(conn: Connection, *, subscription_id: uuid.UUID) -> None:
    """Active again, with its pending deliveries due now and given a fresh retry window."""
    await conn.execute(
        """UPDATE webhook_subscriptions
           SET disabled_at = NULL, disabled_reason = NULL, failure_streak = 0,
               failing_since = NULL
           WHERE subscription_id = $1""",
        subscription_id,
    )
    await conn.execute(
        """UPDATE webhook_deliveries SET next_attempt_at = now(), first_attempt_at = NULL
           WHERE subscription_id = $1 AND delivered_at IS NULL AND failed_at IS NULL""",
        subscription_id,
    )


async def active_secrets(conn: Connection, box: SecretBox, subscription_id: uuid.UUID) -> list[str]:
    """The secrets that sign a delivery now: the primary first."""
    rows = await conn.fetch(
        """SELECT sealed FROM webhook_secrets
           WHERE subscription_id = $1 AND (expires_at IS NULL OR expires_at > now())
           ORDER BY expires_at DESC NULLS FIRST""",
        subscription_id,
    )
    key = str(subscription_id)
    return [box.open(row["sealed"], subscription_id=key) for row in rows]


async def _add_secret(conn: Connection, box: SecretBox, subscription_id: uuid.UUID) -> str:
    secret = new_secret()
    await conn.execute(
        """INSERT INTO webhook_secrets (subscription_id, secret_id, sealed) VALUES ($1, $2, $3)""",
        subscription_id,
        uuid.uuid4(),
        box.seal(secret, subscription_id=str(subscription_id)),
    )
    return secret
