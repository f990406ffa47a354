"""What the core reads: one journey event, already decoded and checked against its contract.

Every engine turns a Kafka record into a JourneyEvent (or a clock tick) before the core
sees it, so the core knows nothing of envelopes, headers or clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journey_processor.core.rules.catalogue import Match


@dataclass(frozen=True)
class JourneyEvent:
    id: str
    type: str
    time: datetime  # when it happened
    recorded_time: datetime  # when an agency recorded it
    data: Mapping[str, Any]

    def matches(self, match: Match) -> bool:
        return match.matches(self.type, self.data)
