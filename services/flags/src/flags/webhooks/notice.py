"""The thin payload a flag transition (flags.domain.flags.FlagTransition) becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal, get_args

from flags.domain.flags import FlagTransition

EventType = Literal["flag.raised", "flag.resolved"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


def payload(notice: FlagTransition, *, timestamp: datetime) -> str:
    """The delivery body, fixed once so that every retry sends the same bytes.

    Thin on purpose (Standard Webhooks: type, timestamp, data): ids and the rule only.
    Journey ids are pseudonymous; nothing here says anything about the person.
    """
    data: dict[str, str] = {
        "flag_id": notice.flag_id,
        "journey_id": notice.journey_id,
        "rule_id": notice.rule_id,
        "occurred_at": _iso(notice.occurred_at),
        "recorded_at": _iso(notice.recorded_at),
    }
    if notice.resolution is not None:
        data["resolution"] = notice.resolution
    body = {"type": notice.event_type, "timestamp": _iso(timestamp), "data": data}
    return json.dumps(body, separators=(",", ":"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
