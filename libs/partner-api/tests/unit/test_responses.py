"""Record responses declare each kind's attributes, minted ids included, from the contract."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from journey_api.agencies import AgencyType
from journey_api.records import Action
from journey_api.responses import RecordKind, any_record, record_model
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir

CONTRACTS = Contracts.load(find_schemas_dir())
PROVIDERS = frozenset({AgencyType.SUPPORT_PROVIDER})
STAY = RecordKind(
    Action("accommodation_entry", "uk.nrm.accommodation.entered", "support:write", PROVIDERS, "x"),
    "support_case_id",
)
END = RecordKind(
    Action("support_end", "uk.nrm.support.ended", "support:write", PROVIDERS, "x"),
    "support_case_id",
)


def _record(kind: str, attributes: dict[str, object]) -> dict[str, object]:
    return {
        "record_id": "5f0c6c52-0d7a-4a3e-9a57-2b8f1c1e9a10",
        "journey_id": "jny_abcdefghijklmnopqrstuvwxyz",
        "resource_id": "0b8a1c9e-8f5e-4a49-8d0e-6f1f3c2b7d44",
        "kind": kind,
        "attributes": attributes,
        "occurred_at": "2025-03-04T10:15:00Z",
        "recorded_at": "2025-03-04T10:16:00Z",
        "recorded_by": "haven-support",
    }


def test_the_id_the_server_mints_is_a_declared_required_attribute() -> None:
    schema = record_model(CONTRACTS, STAY).model_json_schema()
    attributes = schema["$defs"]["AccommodationEntryAttributes"]
    assert attributes["properties"]["stay_id"]["format"] == "uuid"
    assert "stay_id" in attributes["required"]
    assert "support_case_id" not in attributes["properties"]  # the path names the resource
    assert schema["properties"]["kind"]["const"] == "accommodation_entry"


def test_a_record_of_several_kinds_is_told_apart_by_kind() -> None:
    record = any_record(CONTRACTS, [STAY, END])
    records: TypeAdapter[list[Any]] = TypeAdapter(list[record])  # type: ignore[valid-type]
    stay = _record("accommodation_entry", {"stay_id": "7e1f0c1a-3b9e-4c55-a0d1-93c1d1b2e0f4"})
    stay["attributes"]["accommodation_type"] = "safe_house"  # type: ignore[index]
    end = _record("support_end", {"reason": "disengaged"})
    assert [type(r).__name__ for r in records.validate_python([stay, end])] == [
        "AccommodationEntryRecord",
        "SupportEndRecord",
    ]
    with pytest.raises(ValidationError):
        records.validate_python([_record("support_end", {"reason": "not a reason"})])


def test_one_model_per_kind_however_often_asked() -> None:
    assert record_model(CONTRACTS, STAY) is record_model(CONTRACTS, STAY)
