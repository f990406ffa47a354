"""Support case rules on hand-built histories."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from journey_api.agencies import Agency
from journey_api.auth import Principal
from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Resource
from journey_api.testing import history
from nrm_domain.agencies import AgencyType
from support.domain import cases

PROVIDER = Principal("c", Agency("haven", "Haven", AgencyType.SUPPORT_PROVIDER), frozenset())


def _case(*records: str | tuple[str, dict[str, Any]]) -> Resource:
    return history("support_case", *records)


def test_support_runs_request_offer_acceptance_then_contact() -> None:
    with pytest.raises(StateConflict, match="No support has been offered"):
        cases.check_answer(_case(), {}, PROVIDER)
    with pytest.raises(StateConflict, match="not been accepted"):
        cases.check_in_support(_case("support_offer"), {}, PROVIDER)
    cases.check_in_support(_case("support_offer", "support_acceptance"), {}, PROVIDER)
    assert cases.summary(_case("support_offer", "support_acceptance"))["status"] == "accepted"


def test_a_declined_offer_can_be_offered_again_and_answered_again() -> None:
    declined = _case("support_offer", "support_decline")
    with pytest.raises(StateConflict, match="already been answered"):
        cases.check_answer(declined, {}, PROVIDER)
    cases.check_answer(_case("support_offer", "support_decline", "support_offer"), {}, PROVIDER)


def test_stays_and_missing_episodes_close_only_if_open() -> None:
    stay = str(uuid.uuid4())
    in_house = _case(
        "support_offer", "support_acceptance", ("accommodation_entry", {"stay_id": stay})
    )
    cases.check_leave_accommodation(in_house, {"stay_id": stay}, PROVIDER)
    with pytest.raises(StateConflict, match="No open accommodation stay"):
        cases.check_leave_accommodation(in_house, {"stay_id": str(uuid.uuid4())}, PROVIDER)
    episode = str(uuid.uuid4())
    found = _case(
        ("missing_episode", {"episode_id": episode}),
        ("missing_episode_end", {"episode_id": episode}),
    )
    with pytest.raises(StateConflict, match="No open missing episode"):
        cases.check_end_missing(found, {"episode_id": episode}, PROVIDER)


def test_nothing_is_recorded_after_support_ended() -> None:
    ended = _case("support_offer", "support_acceptance", "support_end")
    for check in (cases.check_in_support, cases.check_end, cases.check_offer):
        with pytest.raises(StateConflict, match="ended"):
            check(ended, {}, PROVIDER)
    assert cases.summary(ended)["status"] == "ended"
