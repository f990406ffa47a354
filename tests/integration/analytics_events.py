"""The journey processor's outputs and a few journey events, generated for the analytics
tests: pseudonymous journey ids and coded fields only, never real people."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from journey_platform.contracts import Contracts
from journey_platform.envelope import Event, encode, rfc3339

PROCESSOR = "journey-processor"


def outcome(
    journey_id: str,
    *,
    referred: datetime,
    region: str,
    milestones: dict[str, datetime],
    time: datetime | None = None,
    stage: str = "awaiting_reasonable_grounds",
) -> Event:
    moments = {"referred": referred, **milestones}
    latest = time or max(moments.values())
    data: dict[str, Any] = {
        "stage": stage,
        "in_support": "support_entered" in milestones and "support_ended" not in milestones,
        "criminal_justice_stage": "none",
        "reasonable_grounds_outcome": (
            "positive" if "reasonable_grounds_positive" in milestones else None
        ),
        "conclusive_grounds_outcome": None,
        "profile": {
            "first_responder_type": "police",
            "competent_authority": "sca",
            "age_group": "adult",
            "age_band": "25-34",
            "nationality_group": "albania",
            "exploitation_types": ["labour"],
            "region": region,
        },
        "milestones": {name: rfc3339(moment) for name, moment in moments.items()},
        "durations_days": {},
        "open_flags": [],
        "flags_raised": 0,
        "final": None,
    }
    return Event(
        type="uk.nrm.journey.outcome",
        subject=journey_id,
        time=latest,
        data=data,
        source=PROCESSOR,
        recorded_by=PROCESSOR,
        recorded_time=latest,
    )


def dropoff(
    journey_id: str,
    flag_id: str,
    *,
    rule_id: str,
    due: datetime,
    resolved: datetime | None = None,
    resolution: str | None = None,
) -> Event:
    data: dict[str, Any] = {
        "flag_id": flag_id,
        "rule_id": rule_id,
        "stage": "support",
        "severity": "high",
        "started_by": str(uuid.uuid4()),
        "due_at": rfc3339(due),
    }
    if resolution is not None:
        assert resolved is not None
        data |= {
            "resolved_at": rfc3339(resolved),
            "resolution": resolution,
            "resolved_by": None if resolution == "retracted" else str(uuid.uuid4()),
        }
    moment = resolved or due
    return Event(
        type=f"uk.nrm.dropoff.{'raised' if resolution is None else 'resolved'}",
        subject=journey_id,
        time=moment,
        data=data,
        source=PROCESSOR,
        recorded_by=PROCESSOR,
        recorded_time=moment,
    )


def journey_event(
    contracts: Contracts, event_type: str, journey_id: str, time: datetime, **data: Any
) -> Event:
    body = {**contracts.schema(event_type, 1).document["examples"][0], **data}
    return Event(
        type=event_type,
        subject=journey_id,
        time=time,
        data=body,
        source="integration-tests",
        recorded_by="test-agency",
        recorded_time=time + timedelta(hours=1),
    )


async def publish(producer: AIOKafkaProducer, contracts: Contracts, events: list[Event]) -> None:
    """Send the events in order and wait until every one is acknowledged."""
    futures = []
    for event in events:
        record = encode(event, contracts)
        futures.append(
            await producer.send(
                record.topic, value=record.value, key=record.key, headers=record.headers
            )
        )
    for future in futures:
        await future
