"""The port every partner service's journey records go through, inside one transaction.

`adapters/postgres.py` is the one the services run on; `adapters/memory.py` holds the
same facts in dictionaries, for fast tests. One abstract suite
(`journey_api.testing.record_store`) runs against both, so the two cannot drift.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from journey_api.domain.records import Recorded

if TYPE_CHECKING:
    from journey_api.auth import Principal
    from journey_api.idempotency import Claim
    from journey_platform.outbox import Staged


@dataclass(frozen=True)
class RecordQuery:
    """Records of `kind` after position `after`, on journeys `agency_id` takes part in."""

    agency_id: str
    kind: str
    after: int
    limit: int
    journey_id: str | None = None
    occurred_from: datetime | None = None  # inclusive
    occurred_to: datetime | None = None  # exclusive


@dataclass(frozen=True)
class RecordWrite:
    """One record as the write pipeline hands it to the store."""

    recorded: Recorded
    staged: Staged  # its event, validated and encoded for the outbox
    by: Principal  # who, for the audit row
    participants: Iterable[str] = ()  # agencies that join the journey besides the writer
    answers: Claim | None = None  # the request's Idempotency-Key, answered by this record


class RecordStore(Protocol):
    async def add_journey(self, journey_id: str) -> None:
        """A journey this service starts itself (an anonymous Duty to Notify report)."""

    async def learn_journey(self, journey_id: str, facts: dict[str, Any], agency_id: str) -> None:
        """A journey another service told of (learning.py): known here, with `facts` added
        to what is known of it, and `agency_id` (who recorded the event) taking part."""

    async def journey_is_known(self, journey_id: str) -> bool: ...

    async def takes_part(self, journey_id: str, agency_id: str) -> bool: ...

    async def lock(self, resource_id: uuid.UUID) -> None:
        """One writer per resource until the transaction ends, so a rule checked on its
        history still holds at commit."""

    async def records_of(self, resource_id: uuid.UUID) -> list[Recorded]:
        """The resource's records in the order they were recorded."""

    async def timeline(self, journey_id: str) -> list[Recorded]:
        """The journey's records by when they happened, then by recording order."""

    async def page(self, query: RecordQuery) -> tuple[list[Recorded], int | None]:
        """Up to `query.limit` records that answer it, in recording order; and the position
        to go on from, if any is left."""

    async def write(self, write: RecordWrite) -> None:
        """The record, its agency and the named participants as the journey's participants,
        its event in the outbox and its audit row, all or nothing; and, with an unanswered
        claim, the record as the request's stored 201."""

    async def audit(
        self,
        by: Principal,
        *,
        action: str,
        journey_id: str | None,
        resource_id: str | None = None,
        outcome: str = "ok",
    ) -> None:
        """An audit row for a read or a refusal (a write's row comes with `write`)."""

    async def spend_token(self, by: Principal) -> bool:
        """Mark the caller's token (its `token_id`) spent until it expires; False if it
        was spent already (replay.py)."""
