"""Helpers for the services' rule tests: resource histories built by hand, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from journey_api.domain.records import Recorded, Resource


def history(*records: str | tuple[str, dict[str, Any]]) -> Resource:
    """A resource whose records are these kinds (or (kind, attributes) pairs), in order."""
    resource_id, at = uuid.uuid4(), datetime(2025, 1, 1, tzinfo=UTC)
    pairs = [(r, {}) if isinstance(r, str) else r for r in records]
    return Resource(
        resource_id,
        "jny_test",
        [
            Recorded(uuid.uuid4(), "jny_test", resource_id, kind, attributes, at, at, "agency")
            for kind, attributes in pairs
        ],
    )
