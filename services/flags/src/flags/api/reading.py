"""Shared by the flags routes: who may see a flag, and how a flag is shown.

An agency sees a flag when it takes part in the flag's journey and the flag's rule is
relevant to its type; anything else is 404, never 403, so existence does not leak.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from flags.adapters import queries
from flags.adapters.catalogue import RuleText
from flags.adapters.queries import After
from flags.domain.actions import PARTNERS
from flags.domain.relevance import concerns
from journey_api.adapters.postgres import PostgresRecordStore
from journey_api.auth import Principal, allow
from journey_api.cursors import opaque, opened
from journey_api.reads import visible
from journey_platform.db import Connection

# Which partner API holds the records a rule of each stage watches: a flag links there.
SERVICE_OF_STAGE = {
    "identification": "referral",
    "prevention": "referral",  # re-referrals and immigration detention
    "support": "support",
    "criminal_justice": "prosecution",
}


def may(principal: Principal, scope: str, action: str) -> None:
    """The scope, and a partner type: analysts never see a flag one by one (403)."""
    allow(principal, scope=scope, agency_types=PARTNERS, action=action)


async def visible_flag(
    conn: Connection, principal: Principal, flag_id: uuid.UUID, *, action: str
) -> asyncpg.Record:
    """The flag's row, audited; 404 unless the caller may see it."""
    row = await queries.one(conn, flag_id)
    shown = row is not None and concerns(principal.agency_type, row["rule_id"])
    journey = row["journey_id"] if row is not None and shown else None
    await visible(
        PostgresRecordStore(conn), principal, journey, action=action, resource_id=str(flag_id)
    )
    assert row is not None
    return row


@dataclass(frozen=True)
class Shown:
    rules: dict[str, RuleText]
    api_urls: dict[str, str]  # service name -> base URL

    def flag(self, row: asyncpg.Record) -> dict[str, Any]:
        rule = self.rules.get(row["rule_id"])
        return {
            **dict(row),
            "flag_id": str(row["flag_id"]),
            # A rule newer than this deployment's catalogue: shown by its id alone.
            "title": rule.title if rule else row["rule_id"],
            "rationale": rule.rationale if rule else "",
        }

    def links(self, row: asyncpg.Record) -> dict[str, Any]:
        service = SERVICE_OF_STAGE.get(row["stage"], "referral")
        href = f"{self.api_urls[service]}/v1/journeys/{row['journey_id']}/timeline"
        return {"timeline": {"service": service, "href": href}}


def encode_cursor(due_at: datetime, flag_id: uuid.UUID) -> str:
    return opaque(f"{due_at.isoformat()}|{flag_id}")


def _after(text: str) -> After:
    due_at, flag_id = text.split("|")
    after = After(datetime.fromisoformat(due_at), uuid.UUID(flag_id))
    if after.due_at.tzinfo is None:
        raise ValueError(text)
    return after


def decode_cursor(cursor: str | None) -> After | None:
    return opened(cursor, _after) if cursor else None
