"""The webhook outbox: deliveries enqueued in the flag's own transaction, claimed by
dispatchers, and their outcomes. All state is here, so a restart loses nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flags.domain.flags import FlagTransition
from flags.webhooks.notice import payload
from journey_api.cursors import decode_cursor, encode_cursor
from journey_platform.db import Connection


async def enqueue(conn: Connection, notice: FlagTransition) -> int:
    """One delivery per active subscription of each entitled agency that asked for this
    event type; returns how many. Runs in the caller's transaction."""
    timestamp = await conn.fetchval("SELECT now()")
    rows = await conn.fetch(
        """SELECT subscription_id FROM webhook_subscriptions
           WHERE agency_id = ANY($1::text[]) AND $2 = ANY(event_types) AND disabled_at IS NULL
           ORDER BY subscription_id""",
        sorted(notice.agencies),
        notice.event_type,
    )
    body = payload(notice, timestamp=timestamp)
    await conn.executemany(
        """INSERT INTO webhook_deliveries
               (webhook_id, subscription_id, journey_id, flag_id, event_type, payload)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [
            (
                f"msg_{uuid.uuid4().hex}",
                row["subscription_id"],
                notice.journey_id,
                notice.flag_id,
                notice.event_type,
                body,
            )
            for row in rows
        ],
    )
    return len(rows)


@dataclass(frozen=True)
class Claimed:
    position: int
    webhook_id: str
    subscription_id: uuid.UUID
    url: str
    payload: str
    attempts: int
    first_attempt_at: datetime
    created_at: datetime
    claimed_at: datetime


async def claim(conn: Connection, *, limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to `limit` due deliveries for one lease each.

    Only the earliest pending delivery of each (subscription, journey) is due, so a
    receiver hears about one journey's flags in the order they were raised. The lease is
    committed before any request is made: no lock is held across the HTTP call.
    """
    rows = await conn.fetch(
        """WITH due AS (
                SELECT d.position FROM webhook_deliveries d
                JOIN webhook_subscriptions s USING (subscription_id)
                WHERE d.delivered_at IS NULL AND d.failed_at IS NULL
                  AND d.next_attempt_at <= now()
                  AND s.disabled_at IS NULL
                  AND NOT EXISTS (
                      SELECT 1 FROM webhook_deliveries e
                      WHERE e.subscription_id = d.subscription_id
                        AND e.journey_id = d.journey_id AND e.position < d.position
                        AND e.delivered_at IS NULL AND e.failed_at IS NULL)
                ORDER BY d.next_attempt_at, d.position
                LIMIT $1
                FOR UPDATE OF d SKIP LOCKED)
            UPDATE webhook_deliveries w
            SET next_attempt_at = now() + $2::interval, attempts = w.attempts + 1,
                first_attempt_at = coalesce(w.first_attempt_at, now()), last_attempt_at = now()
            FROM due, webhook_subscriptions s
            WHERE w.position = due.position AND s.subscription_id = w.subscription_id
            RETURNING w.position, w.webhook_id, w.subscription_id, s.url, w.payload, w.attempts,
                      w.first_attempt_at, w.created_at, now() AS claimed_at""",
        limit,
        lease,
    )
    return [Claimed(**dict(row)) for row in rows]


async def delivered(conn: Connection, delivery: Claimed, *, status: int) -> None:
    await conn.execute(
        """UPDATE webhook_deliveries SET delivered_at = now(), last_status = $2, last_error = NULL
           WHERE position = $1""",
        delivery.position,
        status,
    )
    await conn.execute(
        """UPDATE webhook_subscriptions SET failure_streak = 0, failing_since = NULL
           WHERE subscription_id = $1""",
        delivery.subscription_id,
    )


async def attempt_failed(
    conn: Connection,
    delivery: Claimed,
    *,
    status: int | None,
    error: str,
    retry_at: datetime | None,
) -> tuple[int, datetime]:
    """Record a failed attempt (retry at `retry_at`, or None: give up); return the
    subscription's failure streak and since when it has been failing."""
    await conn.execute(
        """UPDATE webhook_deliveries
           SET last_status = $2, last_error = $3,
               next_attempt_at = coalesce($4, next_attempt_at),
               failed_at = CASE WHEN $4::timestamptz IS NULL THEN now() END
           WHERE position = $1""",
        delivery.position,
        status,
        error,
        retry_at,
    )
    row = await conn.fetchrow(
        """UPDATE webhook_subscriptions
           SET failure_streak = failure_streak + 1, failing_since = coalesce(failing_since, now())
           WHERE subscription_id = $1 RETURNING failure_streak, failing_since""",
        delivery.subscription_id,
    )
    return (0, delivery.claimed_at) if row is None else (row[0], row[1])


async def disable(conn: Connection, subscription_id: uuid.UUID, *, reason: str) -> None:
    await conn.execute(
        """UPDATE webhook_subscriptions SET disabled_at = now(), disabled_reason = $2
           WHERE subscription_id = $1 AND disabled_at IS NULL""",
        subscription_id,
        reason,
    )


async def backlog(conn: Connection) -> int:
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM webhook_deliveries
               WHERE delivered_at IS NULL AND failed_at IS NULL"""
        )
    )


async def page(
    conn: Connection, *, subscription_id: uuid.UUID, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The subscription's deliveries, newest first."""
    before = decode_cursor(cursor)
    rows = await conn.fetch(
        """SELECT position, webhook_id, event_type, flag_id, journey_id, attempts, created_at,
                  last_attempt_at, last_status, last_error, next_attempt_at, delivered_at,
                  failed_at
           FROM webhook_deliveries
           WHERE subscription_id = $1 AND ($2 = 0 OR position < $2)
           ORDER BY position DESC LIMIT $3""",
        subscription_id,
        before,
        limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_shown(row) for row in rows]
    return items, encode_cursor(rows[-1]["position"]) if more else None


def _shown(row: Any) -> dict[str, Any]:
    state = "delivered" if row["delivered_at"] else "failed" if row["failed_at"] else "pending"
    return {
        "webhook_id": row["webhook_id"],
        "event_type": row["event_type"],
        "flag_id": row["flag_id"],
        "journey_id": row["journey_id"],
        "state": state,
        "attempts": row["attempts"],
        "enqueued_at": row["created_at"],
        "last_attempt_at": row["last_attempt_at"],
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "next_attempt_at": row["next_attempt_at"] if state == "pending" else None,
        "delivered_at": row["delivered_at"],
        "failed_at": row["failed_at"],
    }
