"""The support case table: the request's checks, who it brings in, what the service adds."""

from __future__ import annotations

import pytest

from journey_api.agencies import Agency, AgencyRegistry
from journey_api.auth import Principal
from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Action
from journey_api.specs import RecordSpec
from journey_api.testing import history
from nrm_domain.agencies import AgencyType
from support.api.cases import support_cases
from support.domain import actions

REGISTRY = AgencyRegistry(
    [
        Agency("haven", "Haven", AgencyType.SUPPORT_PROVIDER),
        Agency("leeds-cc", "Leeds City Council", AgencyType.LOCAL_AUTHORITY),
        Agency("met", "Metropolitan Police", AgencyType.POLICE_FORCE),
    ]
)
SCA = Principal("c", Agency("sca", "SCA", AgencyType.COMPETENT_AUTHORITY_SCA), frozenset())
POLICE = Principal("c", Agency("met", "Met", AgencyType.POLICE_FORCE), frozenset())


def _spec(action: object) -> RecordSpec:
    (spec,) = [s for s in support_cases(REGISTRY).specs if s.action is action]
    return spec


@pytest.mark.parametrize("provider", ["haven", "leeds-cc"])
def test_a_request_names_a_provider_who_then_takes_part(provider: str) -> None:
    request = _spec(actions.REQUEST)
    assert request.rule is not None and request.participants is not None
    attributes = {"provider_agency_id": provider}
    request.rule(history(), attributes, SCA)  # allowed: no StateConflict
    assert list(request.participants(history(), attributes)) == [provider]


@pytest.mark.parametrize("provider", ["met", "nobody-registered"])
def test_a_request_naming_no_provider_is_a_conflict(provider: str) -> None:
    request = _spec(actions.REQUEST)
    assert request.rule is not None
    with pytest.raises(StateConflict, match="support provider or local authority"):
        request.rule(history(), {"provider_agency_id": provider}, SCA)


def test_the_service_adds_who_requested_and_who_reported_missing() -> None:
    request, missing = _spec(actions.REQUEST), _spec(actions.REPORT_MISSING)
    assert request.derive is not None and missing.derive is not None
    assert request.derive(history(), {}, SCA) == {"requested_by": "competent_authority_sca"}
    assert missing.derive(history(), {}, POLICE) == {"reported_by": "police_force"}
    assert request.derived == ("requested_by",) and missing.derived == ("reported_by",)


def test_every_action_of_the_service_has_one_route() -> None:
    specs = support_cases(REGISTRY).specs
    declared = {v for v in vars(actions).values() if isinstance(v, Action)}
    assert {s.action for s in specs} == declared
    assert len({s.path for s in specs}) == len(specs)
