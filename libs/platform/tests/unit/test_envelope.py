from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from journey_platform.contracts import Contracts, ContractViolation
from journey_platform.envelope import Event, KafkaRecord, decode, encode
from journey_platform.pseudonyms import Pseudonymiser

JOURNEY = Pseudonymiser(b"k" * 32).journey_id("synthetic person 1")
SUPPORT_ENDED = "uk.nrm.support.ended"


def _event(contracts: Contracts, **data: Any) -> Event:
    body = {**contracts.schema(SUPPORT_ENDED, 1).document["examples"][0], **data}
    return Event(
        type=SUPPORT_ENDED,
        subject=JOURNEY,
        time=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        data=body,
        source="support",
        recorded_by="salvation-army",
        traceparent=None,
    )


def _decode(record: KafkaRecord, contracts: Contracts, **changes: Any) -> Event:
    fields: dict[str, Any] = {
        "topic": record.topic,
        "key": record.key,
        "value": record.value,
        "headers": record.headers,
        **changes,
    }
    return decode(contracts=contracts, **fields)


def test_round_trip_keeps_every_attribute_and_routes_to_the_catalogued_topic(
    contracts: Contracts,
) -> None:
    event = _event(contracts)
    record = encode(event, contracts)
    assert record.topic == "nrm.support"
    assert record.key == JOURNEY.encode()
    headers = dict(record.headers)
    assert headers["ce_type"] == SUPPORT_ENDED.encode()
    assert headers["ce_time"] == b"2025-03-01T09:30:00Z"
    assert headers["ce_dataschema"].endswith(b":uk.nrm.support.ended:v1")
    assert _decode(record, contracts) == event


def test_backdated_time_and_recorded_time_travel_separately(contracts: Contracts) -> None:
    event = _event(contracts)
    decoded = _decode(encode(event, contracts), contracts)
    assert decoded.recorded_time - decoded.time > timedelta(days=1)


def test_invalid_data_is_refused_without_echoing_values(contracts: Contracts) -> None:
    with pytest.raises(ContractViolation) as refused:
        encode(_event(contracts, reason="ran away with Zebedee", name="Zebedee"), contracts)
    message = str(refused.value)
    assert "$.reason: must satisfy enum" in message
    assert "unexpected properties ['name']" in message
    assert "Zebedee" not in message


def test_naive_times_are_refused(contracts: Contracts) -> None:
    event = _event(contracts)
    naive = Event(**{**event.__dict__, "time": datetime(2025, 3, 1)})
    with pytest.raises(ContractViolation, match="time zone"):
        encode(naive, contracts)


def test_consumers_ignore_fields_a_later_minor_revision_added(contracts: Contracts) -> None:
    record = encode(_event(contracts), contracts)
    newer = json.dumps({**json.loads(record.value), "added_in_v1_1": 3}).encode()
    assert "added_in_v1_1" not in _decode(record, contracts, value=newer).data


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"value": b"\xff\x00"}, "not valid JSON"),
        ({"key": b"jny_someoneelse"}, "record key is not the event subject"),
        ({"topic": "nrm.identification"}, "does not belong on topic"),
        ({"headers": []}, "envelope"),
    ],
)
def test_records_that_are_not_valid_events_are_refused_with_a_reason(
    contracts: Contracts, change: dict[str, Any], reason: str
) -> None:
    record = encode(_event(contracts), contracts)
    with pytest.raises(ContractViolation, match=reason):
        _decode(record, contracts, **change)


def test_dataschema_must_name_the_event_type(contracts: Contracts) -> None:
    record = encode(_event(contracts), contracts)
    headers = [
        (k, b"urn:victim-journey:schema:event:uk.nrm.support.offered:v1")
        if k == "ce_dataschema"
        else (k, v)
        for k, v in record.headers
    ]
    with pytest.raises(ContractViolation, match="dataschema"):
        _decode(record, contracts, headers=headers)
