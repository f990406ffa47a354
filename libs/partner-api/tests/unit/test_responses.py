"""Record responses declare each kind's attributes, minted ids included, from the contract."""

from __future__ import annotations

from journey_api.domain.records import Action
from journey_api.responses import RecordKind, record_model
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir
from nrm_domain.agencies import AgencyType

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


def test_one_model_per_kind_however_often_asked() -> None:
    assert record_model(CONTRACTS, STAY) is record_model(CONTRACTS, STAY)
