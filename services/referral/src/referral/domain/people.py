"""Coarse attributes that may leave the referral service in place of identifying ones."""

from __future__ import annotations

from datetime import date

from nrm_domain.agencies import AgencyType

# The event vocabulary's age bands: fine enough for analysis, too coarse to identify.
_BANDS = (
    (0, 11, "0-11"),
    (12, 15, "12-15"),
    (16, 17, "16-17"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
)

FIRST_RESPONDER_TYPE = {
    AgencyType.POLICE_FORCE: "police",
    AgencyType.LOCAL_AUTHORITY: "local_authority",
    AgencyType.NGO_FIRST_RESPONDER: "ngo",
    AgencyType.HOME_OFFICE_FIRST_RESPONDER: "home_office_ukvi",
}


# Older than anyone alive: a date of birth further back is a typing error (the year 693
# was sent), as is one in the future.
MAX_AGE_YEARS = 120


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band(born: date, on: date) -> str:
    age = age_on(born, on)
    for low, high, band in _BANDS:
        if low <= age <= high:
            return band
    return "65+" if age >= 65 else "unknown"


def plausible_birth(born: date, today: date) -> bool:
    return born <= today and age_on(born, today) < MAX_AGE_YEARS
