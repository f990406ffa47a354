"""What the referral service learns from the support service's events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from journey_platform.envelope import Event
from referral.main import provider_facts, provider_joins


def _event(event_type: str, **data: Any) -> Event:
    return Event(event_type, "jny_1", datetime(2025, 1, 1, tzinfo=UTC), data, "support", "met")


def test_a_support_request_brings_its_provider_in_not_its_requester() -> None:
    request = _event("uk.nrm.support.requested", provider_agency_id="haven-support")
    assert provider_facts(request) == {}
    assert provider_joins(request) == ["haven-support"]


@pytest.mark.parametrize(
    "event",
    [
        _event("uk.nrm.support.requested"),  # an older event that named no provider
        _event("uk.nrm.support.offered", provider_agency_id="haven-support"),
    ],
)
def test_anything_else_on_nrm_support_is_ignored(event: Event) -> None:
    assert provider_facts(event) is None
