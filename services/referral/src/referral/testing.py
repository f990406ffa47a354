"""Test aids (never loaded by the service): a generated person and a referral of them, as
the integration tests and the benchmarks submit them; and the identity vault in memory."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from journey_api.adapters.memory import MemoryRecordStore
from journey_platform.db import Connection
from journey_platform.pseudonyms import anonymous_journey_id
from referral.adapters.identity import Erased


def synthetic_person(tag: str, *, given: str = "Testgiven") -> dict[str, Any]:
    """Obviously synthetic, and unique by `tag`, so a scan for it cannot match by chance;
    the birth date falls before the NRM began, which no event's date can (the APIs refuse
    such an `occurred_at`; a fuzz test once sent one equal to a test person's birth date)."""
    born = f"19{secrets.randbelow(50) + 50}-0{secrets.randbelow(9) + 1}-1{secrets.randbelow(9)}"
    return {
        "given_name": f"{given}{tag}",
        "family_name": f"Synthfamily{tag}",
        "date_of_birth": born,
        "nationality": "ALB",
        "other_names": [f"Aliasname{tag}"],
    }


def referral_body(person: dict[str, Any], occurred_at: str, **overrides: Any) -> dict[str, Any]:
    """An adult's consented referral to the SCA, from London."""
    return {
        "occurred_at": occurred_at,
        "person": person,
        "competent_authority": "sca",
        "age_group": "adult",
        "gender": "female",
        "nationality_group": "albania",
        "exploitation_types": ["sexual"],
        "exploitation_location": "uk_only",
        "region": "london",
        "consent": "given",
        **overrides,
    }


@dataclass
class MemoryVault:
    """`Vault` in dictionaries, beside a `MemoryRecordStore`: details kept in clear (no
    sealing, which tests/integration and test_sealing.py hold to account)."""

    store: MemoryRecordStore
    journeys: dict[str, str] = field(default_factory=dict)  # match key -> journey
    details: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)  # by referral
    erased: set[str] = field(default_factory=set)

    async def journey_for(
        self, conn: Connection, *, match_key: str, referral_id: uuid.UUID, details: dict[str, Any]
    ) -> tuple[str, int]:
        journey_id = self.journeys.get(match_key)
        if journey_id is None:
            journey_id = self.journeys[match_key] = anonymous_journey_id()
            await self.store.add_journey(journey_id)
        self.details[referral_id] = details
        timeline = await self.store.timeline(journey_id)
        return journey_id, sum(r.kind == "referral" for r in timeline)

    async def read(
        self, conn: Connection, *, journey_id: str, referral_id: uuid.UUID
    ) -> dict[str, Any]:
        if journey_id in self.erased or referral_id not in self.details:
            raise Erased(journey_id)
        return self.details[referral_id]

    async def shred(self, conn: Connection, *, journey_id: str, agency_id: str) -> bool:
        self.journeys = {k: j for k, j in self.journeys.items() if j != journey_id}
        erased_now = journey_id not in self.erased
        self.erased.add(journey_id)
        return erased_now
