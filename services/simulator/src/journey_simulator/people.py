"""Who the simulated people are, and the development agencies that record their journeys.

Every person is generated: names say so ("Synth...", "Testperson...") and dates of birth
fall on the first of a month. Only the referral service ever sees them; events carry coded
attributes only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from journey_simulator.calibration import Calibration
from journey_simulator.vocabulary import ADULT_AGE_BANDS, DECLINED_REFERRAL, pick
from nrm_domain.age import age_band

# The registry's agencies (deploy/local/agencies.yaml), by the part they play.
RESPONDER_AGENCIES = {
    "police": ("northshire-police", "southmoor-police"),
    "local_authority": ("eastvale-council", "westbrook-council"),
    "government_agency": ("home-office-ukvi",),  # UKVI: the largest group of first responders
    "ngo": ("harbour-trust",),
}
POLICE_FORCES = RESPONDER_AGENCIES["police"]
COUNCILS = RESPONDER_AGENCIES["local_authority"]
SUPPORT_PROVIDERS = ("haven-support", "lighthouse-support")
CPS = "cps"
# What the referral service records as `first_responder_type` for each kind of responder
# (it derives it from the recording agency's registry type).
FIRST_RESPONDER_TYPE = {
    "police": "police",
    "local_authority": "local_authority",
    "government_agency": "home_office_ukvi",
    "ngo": "ngo",
}
RESPONDER_OF_AGENCY = {
    agency: kind for kind, agencies in RESPONDER_AGENCIES.items() for agency in agencies
}
IECA = "ieca"  # the agency id of each competent authority is its code
AGENCIES = tuple(
    sorted({*sum(RESPONDER_AGENCIES.values(), ()), *SUPPORT_PROVIDERS, CPS, "sca", IECA})
)

# ISO 3166-1 alpha-3 for each nationality group (a representative country for "other_*";
# XXA is the ICAO code for a stateless person, XXX unspecified).
ISO3 = {
    "uk": "GBR",
    "albania": "ALB",
    "vietnam": "VNM",
    "eritrea": "ERI",
    "sudan": "SDN",
    "romania": "ROU",
    "india": "IND",
    "china": "CHN",
    "nigeria": "NGA",
    "poland": "POL",
    "afghanistan": "AFG",
    "iran": "IRN",
    "iraq": "IRQ",
    "other_europe": "BGR",
    "other_africa": "GHA",
    "other_asia": "PAK",
    "other_americas": "BRA",
    "other_oceania": "PNG",
    "stateless": "XXA",
    "unknown": "XXX",
}


@dataclass(frozen=True)
class Person:
    """A generated person's coded profile and (synthetic) identifying details."""

    age_group: str
    gender: str
    nationality_group: str
    competent_authority: str
    responder_type: str  # police, local_authority, government_agency, ngo
    region: str
    exploitation_types: tuple[str, ...]
    exploitation_location: str
    identity: dict[str, Any]

    @property
    def is_child(self) -> bool:
        return self.age_group == "child"

    def age_band(self, on: date) -> str:
        # As the referral service derives it from the date of birth.
        return age_band(date.fromisoformat(self.identity["date_of_birth"]), on)

    def profile(self) -> dict[str, Any]:
        return {
            "age_group": self.age_group,
            "gender": self.gender,
            "nationality_group": self.nationality_group,
            "competent_authority": self.competent_authority,
            "first_responder": self.responder_type,
            "region": self.region,
            "exploitation_types": list(self.exploitation_types),
        }

    def referral_body(self) -> dict[str, Any]:
        return {
            "person": self.identity,
            "competent_authority": self.competent_authority,
            "age_group": self.age_group,
            "gender": self.gender,
            "nationality_group": self.nationality_group,
            "exploitation_types": list(self.exploitation_types),
            "exploitation_location": self.exploitation_location,
            "region": self.region,
            # A child needs no consent; an adult (or age unknown) is referred with it.
            "consent": "not_required_child" if self.is_child else "given",
        }


def draw_person(
    rng: random.Random, cal: Calibration, *, key: str, run_tag: str, referred: datetime
) -> Person:
    age_group = pick(rng, cal.age_share)
    child = age_group == "child"
    ieca = not child and rng.random() < cal.ieca_share_of_non_children
    nationality = pick(rng, cal.nationality)
    age = rng.randint(12, 17) if child else rng.randint(18, 60)
    # Between `age` and `age + 1` years old on the day of referral, born on the 1st.
    born = (referred.date() - timedelta(days=int(age * 365.25) + rng.randint(31, 320))).replace(
        day=1
    )
    return Person(
        age_group=age_group,
        gender=pick(rng, cal.gender),
        nationality_group=nationality,
        competent_authority="ieca" if ieca else "sca",
        responder_type=pick(rng, cal.responder_child if child else cal.responder_adult),
        region=pick(rng, cal.region),
        exploitation_types=(
            pick(rng, cal.exploitation_child if child else cal.exploitation_adult),
        ),
        exploitation_location=pick(rng, cal.exploitation_location),
        identity={
            "given_name": f"Synth{key}",
            "family_name": f"Testperson{run_tag}",
            "date_of_birth": born.isoformat(),
            "nationality": ISO3[nationality],
            "other_names": [],
        },
    )


def duty_to_notify_body(rng: random.Random, cal: Calibration) -> tuple[str, dict[str, Any]]:
    """(reporting agency, body) of an MS1 report: an adult who declined referral."""
    reporter = pick(rng, cal.assumption("duty_to_notify_reporter"))
    # The duty applies in England and Wales only.
    regions = {k: v for k, v in cal.region.items() if k not in ("scotland", "northern_ireland")}
    body = {
        "region": pick(rng, regions),
        "exploitation_types": [pick(rng, cal.exploitation_adult)],
        "gender": pick(rng, cal.gender),
        "nationality_group": pick(rng, cal.nationality),
        "age_band": pick(rng, ADULT_AGE_BANDS),
        "reason_declined": pick(rng, DECLINED_REFERRAL),
    }
    return rng.choice(RESPONDER_AGENCIES[reporter]), body
