"""The criminal case table: a case referred to the CPS brings the CPS into the journey."""

from __future__ import annotations

import pytest

from journey_api.agencies import Agency, AgencyRegistry
from journey_api.domain.records import Action
from journey_api.specs import RecordSpec
from journey_api.testing import history
from nrm_domain.agencies import AgencyType
from prosecution.api.cases import criminal_cases
from prosecution.domain import actions

REGISTRY = AgencyRegistry(
    [
        Agency("met", "Metropolitan Police", AgencyType.POLICE_FORCE),
        Agency("cps-london", "CPS London", AgencyType.CPS),
        Agency("cps-wales", "CPS Cymru-Wales", AgencyType.CPS),
    ]
)


def _closure() -> RecordSpec:
    specs = criminal_cases(REGISTRY).specs
    (spec,) = [s for s in specs if s.action is actions.CLOSE_INVESTIGATION]
    return spec


def test_an_investigation_referred_to_the_cps_brings_every_prosecutor_in() -> None:
    closure = _closure()
    assert closure.participants is not None
    joining = closure.participants(history(), {"outcome": "referred_to_cps"})
    assert sorted(joining) == ["cps-london", "cps-wales"]


@pytest.mark.parametrize(
    "outcome", ["no_further_action_evidential", "no_further_action_victim_withdrew"]
)
def test_an_investigation_closed_otherwise_brings_nobody_in(outcome: str) -> None:
    closure = _closure()
    assert closure.participants is not None
    assert list(closure.participants(history(), {"outcome": outcome})) == []


def test_every_action_of_the_service_has_one_route() -> None:
    specs = criminal_cases(REGISTRY).specs
    declared = {v for v in vars(actions).values() if isinstance(v, Action)}
    assert {s.action for s in specs} == declared
    assert len({s.path for s in specs}) == len(specs)
    (creating,) = [s for s in specs if s.creates]
    assert creating.action is actions.RECORD_CRIME
