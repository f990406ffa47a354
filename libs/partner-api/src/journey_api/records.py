"""The write pipeline of journey records, once for every partner service.

`JourneyRecords.record` checks the record's times, stages its event against the
contract and hands the record, its event, its participants and its audit row to the
store (`RecordStore`), which writes them in the caller's transaction: the record, its
event and its audit entry exist together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from journey_api.auth import Principal
from journey_api.cursors import decode_cursor, encode_cursor
from journey_api.domain.records import Action, Recorded, Resource
from journey_api.idempotency import Claim
from journey_api.models import CLOCK_SKEW
from journey_api.problems import Problem
from journey_api.store import RecordQuery, RecordStore, RecordWrite
from journey_platform.contracts import ContractViolation
from journey_platform.envelope import Event
from journey_platform.outbox import Outbox


class JourneyRecords:
    """Reads and writes of journey records for one service."""

    def __init__(self, *, outbox: Outbox, source: str) -> None:
        self.outbox = outbox
        self.source = source

    async def record(
        self,
        store: RecordStore,
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
        """Store the record, its participants, its event and its audit row together.
        `answers`: the request's Idempotency-Key claim, whose response is this record
        (201); it is stored with them, unless already answered."""
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
        await store.write(RecordWrite(recorded, staged, principal, participants, answers))
        return recorded

    async def page(
        self,
        store: RecordStore,
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
        query = RecordQuery(
            principal.agency_id,
            kind,
            after=decode_cursor(cursor),
            limit=limit,
            journey_id=journey_id,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
        )
        records, last = await store.page(query)
        return records, (None if last is None else encode_cursor(last))

    async def resource(
        self, store: RecordStore, resource_id: uuid.UUID, kind: str
    ) -> Resource | None:
        """The resource's history, if its first record is of `kind`."""
        records = await store.records_of(resource_id)
        if not records or records[0].kind != kind:
            return None
        return Resource(resource_id, records[0].journey_id, records)
