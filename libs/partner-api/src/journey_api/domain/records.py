"""Journey records: what partners recorded about a resource of a journey (a referral, a
support case, a criminal case), and the actions that record them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nrm_domain.agencies import AgencyType


class Actor(Protocol):
    """Who records: the agency a rule may ask about (an API's `Principal` is one)."""

    @property
    def agency_id(self) -> str: ...

    @property
    def agency_type(self) -> AgencyType: ...


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
