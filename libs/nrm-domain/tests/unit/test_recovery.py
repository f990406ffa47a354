"""Which nation's recovery period a referral gets, and how long it is at least."""

from __future__ import annotations

from nrm_domain.recovery import MINIMUM_DAYS, nation_of


def test_regions_of_england_and_unknown_ones_get_england_s_thirty_days() -> None:
    for region in ("london", "north_east", "unknown", None):
        assert nation_of(region) == "england"
    assert MINIMUM_DAYS["england"] == 30


def test_the_devolved_nations_get_their_own_minimum() -> None:
    assert {r: MINIMUM_DAYS[nation_of(r)] for r in ("wales", "scotland", "northern_ireland")} == {
        "wales": 30,
        "scotland": 90,
        "northern_ireland": 45,
    }
