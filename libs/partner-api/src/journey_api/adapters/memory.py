"""The record store in dictionaries, for fast tests: the same facts as the PostgreSQL
store, checked by the same abstract suite. Not transactional: a test's store is its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from journey_api.domain.records import Recorded
from journey_api.store import RecordQuery, RecordWrite

if TYPE_CHECKING:
    from journey_api.auth import Principal
    from journey_platform.outbox import Staged


@dataclass
class MemoryRecordStore:
    journeys: dict[str, dict[str, Any]] = field(default_factory=dict)  # journey -> its facts
    records: list[Recorded] = field(default_factory=list)  # position = index + 1
    participants: set[tuple[str, str]] = field(default_factory=set)  # (journey, agency)
    outbox: list[Staged] = field(default_factory=list)
    # (agency, action, journey, outcome)
    audited: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    answers: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    spent: set[tuple[str, str]] = field(default_factory=set)  # (client, token id)

    async def add_journey(self, journey_id: str) -> None:
        if journey_id in self.journeys:
            raise ValueError(f"journey {journey_id} exists")  # as the primary key refuses it
        self.journeys[journey_id] = {}

    async def learn_journey(self, journey_id: str, facts: dict[str, Any], agency_id: str) -> None:
        self.journeys[journey_id] = {**self.journeys.get(journey_id, {}), **facts}
        self.participants.add((journey_id, agency_id))

    async def journey_is_known(self, journey_id: str) -> bool:
        return journey_id in self.journeys

    async def takes_part(self, journey_id: str, agency_id: str) -> bool:
        return (journey_id, agency_id) in self.participants

    async def lock(self, resource_id: uuid.UUID) -> None:
        return None  # one test, one writer

    async def records_of(self, resource_id: uuid.UUID) -> list[Recorded]:
        return [r for r in self.records if r.resource_id == resource_id]

    async def timeline(self, journey_id: str) -> list[Recorded]:
        # sorted() is stable: records that happened together stay in recording order.
        return sorted(
            (r for r in self.records if r.journey_id == journey_id), key=lambda r: r.occurred_at
        )

    async def page(self, query: RecordQuery) -> tuple[list[Recorded], int | None]:
        found = [
            (position, r)
            for position, r in enumerate(self.records, start=1)
            if position > query.after
            and r.kind == query.kind
            and query.journey_id in (None, r.journey_id)
            and (query.occurred_from is None or r.occurred_at >= query.occurred_from)
            and (query.occurred_to is None or r.occurred_at < query.occurred_to)
            and (r.journey_id, query.agency_id) in self.participants
        ]
        shown = found[: query.limit]
        return [r for _, r in shown], (shown[-1][0] if len(found) > query.limit else None)

    async def write(self, write: RecordWrite) -> None:
        recorded, answers = write.recorded, write.answers
        self.records.append(recorded)
        for agency in {recorded.agency_id, *write.participants}:
            self.participants.add((recorded.journey_id, agency))
        self.outbox.append(write.staged)
        self.audited.append(
            (write.by.agency_id, f"write:{recorded.kind}", recorded.journey_id, "ok")
        )
        if answers is not None and not answers.answered:
            self.answers[(answers.client_id, answers.key)] = (201, recorded.as_json())
            answers.answered = True

    async def audit(
        self,
        by: Principal,
        *,
        action: str,
        journey_id: str | None,
        resource_id: str | None = None,
        outcome: str = "ok",
    ) -> None:
        self.audited.append((by.agency_id, action, journey_id, outcome))

    async def spend_token(self, by: Principal) -> bool:
        # Expired tokens are never forgotten here: a test's store lives less than an hour.
        spent = (by.client_id, str(by.token_id))
        if spent in self.spent:
            return False
        self.spent.add(spent)
        return True
