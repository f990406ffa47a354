"""Journey records: what partners recorded, each with the event it published.

Every write goes through `JourneyRecords.record`, which in the caller's transaction
stores the record, makes the agency a participant of the journey, stages the event in
the outbox and appends the audit row: the record, its event and its audit entry exist
together or not at all.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from journey_api.agencies import AgencyType
from journey_api.auth import Principal
from journey_api.idempotency import Claim
from journey_api.models import CLOCK_SKEW
from journey_api.problems import Problem
from journey_api.record_statement import WRITE, WRITE_AND_ANSWER, parameters
from journey_platform.contracts import ContractViolation
from journey_platform.db import Connection
from journey_platform.envelope import Event
from journey_platform.outbox import NotInTransaction, Outbox


@dataclass(frozen=True)
class Action:
    """One thing a partner may record: its record kind, event, scope and permitted agencies."""

    kind: str
    event_type: str
    scope: str
    agency_types: frozenset[AgencyType]
    description: str  # completes "A <agency type> may not ...", e.g. "record a referral"


@dataclass(frozen=True)
class Recorded:
    record_id: uuid.UUID
    journey_id: str
    resource_id: uuid.UUID
    kind: str
    attributes: Mapping[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    agency_id: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Recorded:
        return cls(
            record_id=row["record_id"],
            journey_id=row["journey_id"],
            resource_id=row["resource_id"],
            kind=row["kind"],
            attributes=json.loads(row["attributes"]),
            occurred_at=row["occurred_at"],
            recorded_at=row["recorded_at"],
            agency_id=row["agency_id"],
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "record_id": str(self.record_id),
            "journey_id": self.journey_id,
            "resource_id": str(self.resource_id),
            "kind": self.kind,
            "attributes": dict(self.attributes),
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "recorded_by": self.agency_id,
        }


@dataclass
class Resource:
    resource_id: uuid.UUID
    journey_id: str
    records: list[Recorded] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.records[0].kind if self.records else ""

    def all(self, kind: str) -> list[Recorded]:
        return [r for r in self.records if r.kind == kind]

    def latest(self, kind: str) -> Recorded | None:
        found = self.all(kind)
        return found[-1] if found else None

    def attribute(self, kind: str, name: str) -> Any:
        record = self.latest(kind)
        return None if record is None else record.attributes.get(name)

    def as_json(self) -> dict[str, Any]:
        return {
            "resource_id": str(self.resource_id),
            "journey_id": self.journey_id,
            "kind": self.kind,
            "records": [r.as_json() for r in self.records],
        }


def conflict(detail: str) -> Problem:
    """The journey's state does not allow this record (yet); nothing was written."""
    return Problem(409, "Conflict with the journey's state", detail, kind="state-conflict")


_COLUMNS = (
    "record_id, journey_id, resource_id, kind, attributes, occurred_at, recorded_at, agency_id"
)


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position = int(raw[1:]) if raw.startswith("p") else -1
        if not 0 <= position < 2**63:  # a bigint, as the position column is
            raise ValueError(cursor)
        return position
    except (ValueError, UnicodeDecodeError):
        raise Problem(
            400, "Bad request", "The cursor is not one this API issued.", kind="invalid-cursor"
        ) from None


class JourneyRecords:
    """Reads and writes of journey records for one service."""

    def __init__(self, *, outbox: Outbox, source: str) -> None:
        self.outbox = outbox
        self.source = source

    async def record(
        self,
        conn: Connection,
        principal: Principal,
        action: Action,
        *,
        journey_id: str,
        resource_id: uuid.UUID,
        attributes: Mapping[str, Any],
        event_data: Mapping[str, Any],
        occurred_at: datetime,
        recorded_at: datetime,
        participants: Iterable[str] = (),
        answers: Claim | None = None,
    ) -> Recorded:
        """Store the record, its participants, its event and its audit row in one round
        trip. `answers`: the request's Idempotency-Key claim, whose response is this
        record (201); it is stored in the same statement, unless already answered."""
        if occurred_at > recorded_at + CLOCK_SKEW:
            raise Problem(
                422,
                "Invalid request",
                "occurred_at is after the time of recording.",
                kind="validation",
            )
        event = Event(
            type=action.event_type,
            subject=journey_id,
            time=occurred_at,
            data=dict(event_data),
            source=self.source,
            recorded_by=principal.agency_id,
            recorded_time=recorded_at,
        )
        if not conn.is_in_transaction():  # the record and its event commit together
            raise NotInTransaction("JourneyRecords.record must run in the request's transaction")
        try:
            staged = self.outbox.stage(event)
        except ContractViolation as violation:  # a cross-field rule of the contract, say
            raise Problem(422, "Invalid request", str(violation), kind="contract") from None
        # The row as PostgreSQL returns it (timestamps in UTC), made here rather than read
        # back: the response is known before the statement, so it can store it too.
        recorded = Recorded(
            record_id=uuid.uuid4(),
            journey_id=journey_id,
            resource_id=resource_id,
            kind=action.kind,
            attributes=dict(attributes),
            occurred_at=occurred_at.astimezone(UTC),
            recorded_at=recorded_at.astimezone(UTC),
            agency_id=principal.agency_id,
        )
        values = parameters(recorded, staged, principal, participants)
        if answers is None or answers.answered:
            await conn.execute(WRITE, *values)
        else:
            answer = answers.answer_values(201, recorded.as_json())
            await conn.execute(WRITE_AND_ANSWER, *values, *answer)
            answers.answered = True
        return recorded

    async def of_resource(self, conn: Connection, resource_id: uuid.UUID) -> list[Recorded]:
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM journey_records WHERE resource_id = $1 ORDER BY position",
            resource_id,
        )
        return [Recorded.from_row(r) for r in rows]

    async def timeline(self, conn: Connection, journey_id: str) -> list[Recorded]:
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM journey_records WHERE journey_id = $1
                ORDER BY occurred_at, position""",
            journey_id,
        )
        return [Recorded.from_row(r) for r in rows]

    async def page(
        self,
        conn: Connection,
        principal: Principal,
        *,
        kind: str,
        journey_id: str | None,
        occurred_from: datetime | None,
        occurred_to: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Recorded], str | None]:
        """Records of `kind` on journeys the caller takes part in, in recording order."""
        after = decode_cursor(cursor)
        rows = await conn.fetch(
            f"""SELECT position, {_COLUMNS} FROM journey_records r
                WHERE kind = $1 AND position > $2
                  AND ($3::text IS NULL OR r.journey_id = $3)
                  AND ($4::timestamptz IS NULL OR r.occurred_at >= $4)
                  AND ($5::timestamptz IS NULL OR r.occurred_at < $5)
                  AND EXISTS (SELECT 1 FROM journey_participants p
                              WHERE p.journey_id = r.journey_id AND p.agency_id = $6)
                ORDER BY position LIMIT $7""",
            kind,
            after,
            journey_id,
            occurred_from,
            occurred_to,
            principal.agency_id,
            limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return [Recorded.from_row(r) for r in rows], (
            encode_cursor(rows[-1]["position"]) if more else None
        )

    async def resource(
        self, conn: Connection, resource_id: uuid.UUID, kind: str
    ) -> Resource | None:
        """The resource's history, if its first record is of `kind`."""
        records = await self.of_resource(conn, resource_id)
        if not records or records[0].kind != kind:
            return None
        return Resource(resource_id, records[0].journey_id, records)

    async def takes_part(self, conn: Connection, journey_id: str, agency_id: str) -> bool:
        return bool(
            await conn.fetchval(
                "SELECT true FROM journey_participants WHERE journey_id = $1 AND agency_id = $2",
                journey_id,
                agency_id,
            )
        )
