"""The port every partner service's journey records go through, inside one transaction.

`adapters/postgres.py` is the one the services run on; `adapters/memory.py` holds the
same facts in dictionaries, for fast tests. One abstract suite
(`journey_api.testing.record_store`) runs against both, so the two cannot drift.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from journey_api.domain.records import Recorded

if TYPE_CHECKING:
    from journey_api.auth import Principal
    from journey_api.idempotency import Claim
    from journey_platform.outbox import Staged


class RecordStore(Protocol):
    async def add_journey(self, journey_id: str) -> None:
        """A journey this service starts itself (an anonymous Duty to Notify report)."""

    async def journey_is_known(self, journey_id: str) -> bool: ...

    async def takes_part(self, journey_id: str, agency_id: str) -> bool: ...

    async def lock(self, resource_id: uuid.UUID) -> None:
        """One writer per resource until the transaction ends, so a rule checked on its
        history still holds at commit."""

    async def records_of(self, resource_id: uuid.UUID) -> list[Recorded]:
        """The resource's records in the order they were recorded."""

    async def timeline(self, journey_id: str) -> list[Recorded]:
        """The journey's records by when they happened, then by recording order."""

    async def page(
        self,
        agency_id: str,
        *,
        kind: str,
        journey_id: str | None,
        occurred_from: datetime | None,
        occurred_to: datetime | None,
        after: int,
        limit: int,
    ) -> tuple[list[Recorded], int | None]:
        """Up to `limit` records of `kind` after position `after`, on journeys the agency
        takes part in, in recording order; and the position to go on from, if any is left."""

    async def write(
        self,
        recorded: Recorded,
        *,
        staged: Staged,
        by: Principal,
        participants: Iterable[str],
        answers: Claim | None,
    ) -> None:
        """The record, its agency and `participants` as the journey's participants, its
        event in the outbox and its audit row, all or nothing; and, with an unanswered
        `answers`, the record as the request's stored 201."""
