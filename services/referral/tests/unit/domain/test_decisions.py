"""The competent authority's decision rules, on hand-built referral histories."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from journey_api.agencies import Agency
from journey_api.auth import Principal
from journey_api.domain.errors import StateConflict
from journey_api.domain.records import Resource
from journey_api.testing import history
from nrm_domain.age import age_band
from nrm_domain.agencies import AgencyType
from referral.domain import decisions

SCA = Principal("c", Agency("sca", "SCA", AgencyType.COMPETENT_AUTHORITY_SCA), frozenset())
IECA = Principal("c", Agency("ieca", "IECA", AgencyType.COMPETENT_AUTHORITY_IECA), frozenset())


def _referral(*records: tuple[str, dict[str, Any]]) -> Resource:
    return history(("referral", {"competent_authority": "sca"}), *records)


RG_NEGATIVE = ("reasonable_grounds_decision", {"outcome": "negative"})
RG_POSITIVE = ("reasonable_grounds_decision", {"outcome": "positive"})


def test_a_fresh_referral_awaits_reasonable_grounds_from_its_own_authority() -> None:
    referral = _referral()
    decisions.check_reasonable_grounds(referral, {}, SCA)
    with pytest.raises(StateConflict, match="routed to the SCA"):
        decisions.check_reasonable_grounds(referral, {}, IECA)
    assert decisions.summary(referral)["status"] == "awaiting_reasonable_grounds"


def test_conclusive_grounds_needs_a_positive_reasonable_grounds_decision() -> None:
    with pytest.raises(StateConflict, match="positive Reasonable Grounds"):
        decisions.check_conclusive_grounds(_referral(RG_NEGATIVE), {}, SCA)
    decisions.check_conclusive_grounds(_referral(RG_POSITIVE), {}, SCA)


def test_a_second_decision_needs_a_reconsideration_that_overturns_the_first() -> None:
    decided = _referral(RG_NEGATIVE)
    with pytest.raises(StateConflict, match="decision stands"):
        decisions.check_reasonable_grounds(decided, {}, SCA)
    requested = _referral(
        RG_NEGATIVE, ("reconsideration_request", {"decision": "reasonable_grounds"})
    )
    assert decisions.summary(requested)["reconsideration_pending"] == ["reasonable_grounds"]
    upheld = _referral(
        RG_NEGATIVE,
        ("reconsideration_request", {"decision": "reasonable_grounds"}),
        (
            "reconsideration_decision",
            {"decision": "reasonable_grounds", "outcome": "upheld_original"},
        ),
    )
    with pytest.raises(StateConflict, match="decision stands"):
        decisions.check_reasonable_grounds(upheld, {}, SCA)
    overturned = _referral(
        RG_NEGATIVE,
        ("reconsideration_request", {"decision": "reasonable_grounds"}),
        ("reconsideration_decision", {"decision": "reasonable_grounds", "outcome": "overturned"}),
    )
    decisions.check_reasonable_grounds(overturned, {}, SCA)


def test_only_negative_decisions_can_be_reconsidered_once_at_a_time() -> None:
    with pytest.raises(StateConflict, match="Only a negative"):
        decisions.check_reconsideration_request(
            _referral(RG_POSITIVE), {"decision": "reasonable_grounds"}, SCA
        )
    pending = _referral(
        RG_NEGATIVE, ("reconsideration_request", {"decision": "reasonable_grounds"})
    )
    with pytest.raises(StateConflict, match="already pending"):
        decisions.check_reconsideration_request(pending, {"decision": "reasonable_grounds"}, SCA)
    with pytest.raises(StateConflict, match="No reconsideration"):
        decisions.check_reconsideration_decision(
            _referral(RG_NEGATIVE), {"decision": "reasonable_grounds"}, SCA
        )


def test_a_withdrawn_referral_takes_no_more_decisions() -> None:
    withdrawn = _referral(("referral_withdrawal", {"reason": "left_uk"}))
    with pytest.raises(StateConflict, match="withdrawn"):
        decisions.check_reasonable_grounds(withdrawn, {}, SCA)
    assert decisions.summary(withdrawn)["status"] == "withdrawn"


def test_the_recovery_period_is_open_between_its_start_and_end() -> None:
    started = _referral(RG_POSITIVE, ("recovery_period_start", {"minimum_days": 30}))
    assert decisions.recovery_period_open(started)
    ended = _referral(
        *[(r.kind, dict(r.attributes)) for r in started.records[1:]],
        ("recovery_period_end", {"reason": "conclusive_grounds_decided"}),
    )
    assert not decisions.recovery_period_open(ended)


@pytest.mark.parametrize(
    ("born", "on", "band"),
    [
        (date(2010, 6, 1), date(2025, 5, 31), "12-15"),
        (date(2010, 6, 1), date(2025, 6, 1), "12-15"),
        (date(2007, 6, 2), date(2025, 6, 1), "16-17"),
        (date(2007, 6, 1), date(2025, 6, 1), "18-24"),
        (date(1950, 1, 1), date(2025, 6, 1), "65+"),
        (date(2025, 1, 1), date(2025, 6, 1), "0-11"),
    ],
)
def test_age_bands_follow_birthdays(born: date, on: date, band: str) -> None:
    assert age_band(born, on) == band
