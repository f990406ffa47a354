"""Criminal case rules on hand-built histories."""

from __future__ import annotations

from typing import Any

import pytest

from journey_api.agencies import Agency
from journey_api.auth import Principal
from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Resource
from journey_api.testing import history
from nrm_domain.agencies import AgencyType
from prosecution.domain import cases

CPS = Principal("c", Agency("cps", "CPS", AgencyType.CPS), frozenset())


def _case(*records: tuple[str, dict[str, Any]]) -> Resource:
    return history("criminal_case", *records)


OPENED: tuple[str, dict[str, Any]] = ("investigation_opening", {})


def test_charge_needs_an_investigation_and_a_trial_needs_a_charge() -> None:
    with pytest.raises(StateConflict, match="needs an investigation"):
        cases.check_charge(_case(), {}, CPS)
    cases.check_charge(_case(OPENED), {}, CPS)
    not_charged = _case(OPENED, ("charge_decision", {"decision": "no_charge_evidential"}))
    with pytest.raises(StateConflict, match="decision to charge"):
        cases.check_trial(not_charged, {}, CPS)
    cases.check_trial(_case(OPENED, ("charge_decision", {"decision": "charged"})), {}, CPS)


def test_an_investigation_opens_once_and_closes_once() -> None:
    with pytest.raises(StateConflict, match="already open"):
        cases.check_open_investigation(_case(OPENED), {}, CPS)
    with pytest.raises(StateConflict, match="No investigation"):
        cases.check_close_investigation(_case(), {}, CPS)
    with pytest.raises(StateConflict, match="already closed"):
        cases.check_close_investigation(_case(OPENED, ("investigation_closure", {})), {}, CPS)


def test_the_summary_follows_the_victims_engagement() -> None:
    withdrew = _case(OPENED, ("engagement_change", {"status": "withdrew"}))
    assert cases.summary(withdrew)["victim_engagement"] == "withdrew"
    assert cases.summary(_case())["victim_engagement"] == "engaged"
