from __future__ import annotations

import pytest
from pydantic import ValidationError

from journey_api.commands import command_model
from journey_platform.contracts import Contracts
from journey_platform.settings import find_schemas_dir

CONTRACTS = Contracts.load(find_schemas_dir())


def test_a_request_model_carries_the_event_fields_less_the_server_assigned_ones() -> None:
    model = command_model(
        CONTRACTS, "uk.nrm.support.ended", name="EndSupport", omit=["support_case_id"]
    )
    assert set(model.model_fields) == {"occurred_at", "reason"}
    parsed = model.model_validate({"occurred_at": "2025-01-01T00:00:00Z", "reason": "disengaged"})
    assert parsed.model_dump()["reason"] == "disengaged"


def test_vocabulary_enums_and_unknown_fields_are_enforced() -> None:
    model = command_model(
        CONTRACTS,
        "uk.nrm.duty-to-notify.reported",
        name="Dtn",
        omit=["notification_id", "first_responder_type"],
    )
    body = {
        **CONTRACTS.schema("uk.nrm.duty-to-notify.reported", 1).document["examples"][0],
        "occurred_at": "2025-01-01T00:00:00Z",
    }
    for server_field in ("notification_id", "first_responder_type"):
        body.pop(server_field)
    model.model_validate(body)
    with pytest.raises(ValidationError, match="region"):
        model.model_validate({**body, "region": "scotland"})  # the duty is England and Wales only
    with pytest.raises(ValidationError, match="extra"):
        model.model_validate({**body, "name": "x"})
    with pytest.raises(ValidationError, match="future"):
        model.model_validate({**body, "occurred_at": "2999-01-01T00:00:00Z"})
    with pytest.raises(ValidationError, match="before the NRM began"):
        model.model_validate({**body, "occurred_at": "2009-03-31T23:59:59Z"})
    model.model_validate({**body, "occurred_at": "2009-04-01T00:00:00Z"})
