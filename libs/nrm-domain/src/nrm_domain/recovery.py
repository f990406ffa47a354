"""The recovery period: after a positive Reasonable Grounds decision, a minimum time of
support and protection from removal, which differs between the UK's nations."""

from __future__ import annotations

# Regions whose nation's law differs from England's; every other region is in England.
_NATION_OF_REGION = {
    "wales": "wales",
    "scotland": "scotland",
    "northern_ireland": "northern_ireland",
}
# Minimum recovery period by nation: 30 days in England and Wales (Nationality and Borders
# Act 2022 s.60), 45 in Northern Ireland, 90 days' support in Scotland (see the schemas'
# recovery-period event).
MINIMUM_DAYS = {"england": 30, "wales": 30, "northern_ireland": 45, "scotland": 90}


def nation_of(region: str | None) -> str:
    """The nation whose recovery period applies to a referral from `region`."""
    return _NATION_OF_REGION.get(str(region), "england")
