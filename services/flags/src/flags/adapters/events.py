"""From an acknowledgement to its wire contract, in one place: uk.nrm.flag.acknowledged.

Coded values only: the note never goes on an event."""

from __future__ import annotations

import asyncpg

from flags.adapters.notes import Acknowledgement
from journey_platform.envelope import Event, rfc3339
from nrm_domain.agencies import AgencyType

ACKNOWLEDGED = "uk.nrm.flag.acknowledged"


def acknowledged(
    ack: Acknowledgement, flag: asyncpg.Record, agency_type: AgencyType, *, source: str
) -> Event:
    return Event(
        type=ACKNOWLEDGED,
        subject=ack.journey_id,
        time=ack.acknowledged_at,
        data={
            "acknowledgement_id": str(ack.acknowledgement_id),
            "flag_id": str(ack.flag_id),
            "rule_id": flag["rule_id"],
            "stage": flag["stage"],
            "severity": flag["severity"],
            "action": ack.action,
            "acknowledged_by": agency_type.value,
            "raised_at": rfc3339(flag["raised_at"]),
            "due_at": rfc3339(flag["due_at"]),
        },
        source=source,
        recorded_by=ack.agency_id,
        recorded_time=ack.acknowledged_at,
    )
