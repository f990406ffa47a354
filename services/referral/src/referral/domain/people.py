"""Coarse attributes that may leave the referral service in place of identifying ones."""

from __future__ import annotations

from datetime import date

from nrm_domain.age import age_on
from nrm_domain.agencies import AgencyType

FIRST_RESPONDER_TYPE = {
    AgencyType.POLICE_FORCE: "police",
    AgencyType.LOCAL_AUTHORITY: "local_authority",
    AgencyType.NGO_FIRST_RESPONDER: "ngo",
    AgencyType.HOME_OFFICE_FIRST_RESPONDER: "home_office_ukvi",
}


# Older than anyone alive: a date of birth further back is a typing error (the year 693
# was sent), as is one in the future.
MAX_AGE_YEARS = 120


def plausible_birth(born: date, today: date) -> bool:
    return born <= today and age_on(born, today) < MAX_AGE_YEARS
