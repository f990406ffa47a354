"""Events for tests, built from the contracts' own examples: generated, never real people."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event
from journey_platform.pseudonyms import Pseudonymiser

_pseudonyms = Pseudonymiser(b"integration-tests-only-pseudonym-key-0123456789")


def new_journey_id() -> str:
    return _pseudonyms.journey_id(f"synthetic-person-{secrets.token_hex(8)}")


def example_event(
    contracts: Contracts, event_type: str, *, journey_id: str | None = None, **data: Any
) -> Event:
    body = {**contracts.schema(event_type, 1).document["examples"][0], **data}
    return Event(
        type=event_type,
        subject=journey_id or new_journey_id(),
        time=datetime.now(UTC) - timedelta(days=3),  # backdated, as partner records often are
        data=body,
        source="integration-tests",
        recorded_by="test-agency",
    )
