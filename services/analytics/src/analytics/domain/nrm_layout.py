"""The Home Office's quarterly NRM tables: their layout, and the published figures.

"Modern Slavery: National Referral Mechanism and Duty to Notify statistics" (Home Office,
quarterly, with end-of-year summaries) counts, for a period: referrals by first
responder type, by age at exploitation, by competent authority, by exploitation type,
by nationality and by gender; Reasonable and Conclusive Grounds decisions made, positive
and negative; Duty to Notify reports; and the median days from referral to a Conclusive
Grounds decision, for decisions made in the period. Referrals are counted by referral
date, decisions by decision date, reports by report date.

The published figures (`nrm-statistics.json`, from the project's domain brief, with its
sources) are for calendar years; a quarter is compared with its year (or the nearest year
published before it) by shares, since a simulated cohort is not the country's size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

PUBLISHED = Path(__file__).with_name("nrm-statistics.json")
# The simulator's calibration test holds its cohort's marginals within two points of the
# published shares (services/simulator/tests/unit/test_planner.py); the same tolerance here.
# But that test draws a large cohort: a quarter of a simulated cohort is a few hundred
# referrals, whose shares wander by more than two points by chance alone. So a share
# differs only when it is outside both the tolerance and its sampling error (1.96
# standard errors of the published share, for the table's measured total).
TOLERANCE = 0.02
Z = 1.96

# Why a table's shares are not like for like, where they are not.
NOTES = {
    "referrals_by_exploitation_type": "published counts are of referrals with a single type "
    "recorded (14,765 of 19,125 in 2024), as shares of all referrals; the simulator draws "
    "types from those counts alone, so each single type reads higher here",
    "referrals_by_first_responder": "published for 2023 only",
    "referrals_by_gender": "2024: only the male share is published",
    "referrals_by_nationality": "only the top five are published",
}
MEDIAN_NOTE = (
    "over the decisions made in the quarter: a cohort younger than the published waits has "
    "only had time for its quicker decisions, so for a recently started (simulated) cohort "
    "it reads low"
)

# The vocabulary's first responder types, in the published groups.
FIRST_RESPONDER_GROUPS = {
    "police": "police",
    "local_authority": "local_authority",
    "ngo": "ngo_and_other",
    "other": "ngo_and_other",
    "home_office_ukvi": "government_agency",
    "home_office_border_force": "government_agency",
    "home_office_immigration_enforcement": "government_agency",
    "national_crime_agency": "government_agency",
    "glaa": "government_agency",
    "health_and_social_care_trust": "government_agency",
}
# Ten nationalities by name, as the published tables name the most referred, the rest
# together. A fixed list: choosing them by this period's counts would rank hidden rows.
NAMED_NATIONALITIES = (
    "uk", "albania", "vietnam", "eritrea", "sudan",
    "romania", "india", "china", "nigeria", "poland",
)  # fmt: skip
PUBLISHED_NATIONALITY = {
    "UK": "uk", "Albanian": "albania", "Vietnamese": "vietnam",
    "Eritrean": "eritrea", "Sudanese": "sudan",
}  # fmt: skip


# Labels the published tables use where the words are not the code's.
LABELS = {
    "uk": "UK",
    "sca": "SCA (Single Competent Authority)",
    "ieca": "IECA (Immigration Enforcement Competent Authority)",
    "ngo_and_other": "NGOs and others",
    "government_agency": "Government agencies",
    "multiple": "More than one type",
}


@dataclass(frozen=True)
class Table:
    """One published table: rows (groups) that add up to its total."""

    name: str
    title: str
    unit: str  # what it counts, for the hidden-cell label
    groups: tuple[str, ...]


REFERRALS = "referrals"
TABLES = (
    Table(
        "referrals_by_first_responder",
        "Referrals by first responder type",
        "referrals",
        ("government_agency", "police", "local_authority", "ngo_and_other"),
    ),
    Table("referrals_by_age", "Referrals by age at exploitation", "referrals",
          ("adult", "child", "unknown")),
    Table("referrals_by_competent_authority", "Referrals by competent authority", "referrals",
          ("sca", "ieca")),
    Table(
        "referrals_by_exploitation_type",
        "Referrals by exploitation type (a single type recorded, or several)",
        "referrals",
        ("labour", "criminal", "sexual", "domestic_servitude", "organ_harvesting",
         "forced_marriage", "unknown", "multiple"),
    ),
    Table("referrals_by_nationality", "Referrals by nationality (ten named, the rest other)",
          "referrals", (*NAMED_NATIONALITIES, "other")),
    Table("referrals_by_gender", "Referrals by gender", "referrals",
          ("male", "female", "other_or_unknown")),
    Table("reasonable_grounds_decisions", "Reasonable Grounds decisions (first decisions)",
          "decisions", ("positive", "negative")),
    Table("conclusive_grounds_decisions", "Conclusive Grounds decisions (first decisions)",
          "decisions", ("positive", "negative")),
    Table("duty_to_notify_reports", "Duty to Notify reports", "reports", ()),
)  # fmt: skip
REFERRAL_TABLES = tuple(t.name for t in TABLES if t.name.startswith("referrals_by_"))
# None of these tables has a zero by construction: every group can be empty in a quarter
# (a Duty to Notify report is about an adult by law, but the tables do not split reports
# by age), so every small count, zeros included, is suppressed.
STRUCTURAL_ZEROS: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """ "2024Q4" -> Quarter(2024, 4); ValueError if it is not a quarter."""
        year, separator, number = text.strip().upper().partition("Q")
        if not separator or not year.isdigit() or number not in ("1", "2", "3", "4"):
            raise ValueError("the quarter must be a calendar quarter such as 2024Q4")
        return cls(int(year), int(number))

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        if self.number == 4:
            return date(self.year, 12, 31)
        return date.fromordinal(date(self.year, 3 * self.number + 1, 1).toordinal() - 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


@cache
def published() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(PUBLISHED.read_text())
    return document


def _year_with(figure: str, year: int) -> tuple[int, Any] | None:
    """The figure for `year`, else the nearest year published before it, else after."""
    years = {int(y): v for y, v in published()["years"].items() if v.get(figure) is not None}
    if not years:
        return None
    chosen = min(years, key=lambda found: _distance(found, year))
    return chosen, years[chosen][figure]


def published_shares(table: str, year: int) -> tuple[int, dict[str, float]] | None:
    """(year, group -> share of the year's referrals or decisions), as far as published:
    of the figures that hold it, the one nearest the year (see `_year_with`)."""
    if table in ("reasonable_grounds_decisions", "conclusive_grounds_decisions"):
        prefix = "rg" if table.startswith("reasonable") else "cg"
        found = _year_with(f"{prefix}_positive_share", year)
        if found is None:
            return None
        return found[0], {"positive": found[1], "negative": round(1 - found[1], 4)}
    candidates = [
        (found, rename)
        for figure, rename in _FIGURES.get(table, ())
        if (found := _year_with(figure, year)) is not None
    ]
    if not candidates:
        return None
    (chosen, values), rename = min(candidates, key=lambda c: _distance(c[0][0], year))
    if not isinstance(values, Mapping):  # a single share: the male share
        return chosen, {"male": float(values)}
    total = sum(values.values())
    is_share = total <= 1.0001
    referrals = 1 if is_share else published()["years"][str(chosen)]["referrals"]
    return chosen, {rename.get(k, k): round(v / referrals, 4) for k, v in values.items()}


def _distance(found: int, year: int) -> tuple[int, int]:
    # The year itself, then the nearest before it, then after it.
    return (0, year - found) if found <= year else (1, found - year)


def published_figure(figure: str, year: int) -> tuple[int, Any] | None:
    return _year_with(figure, year)


_FIGURES: dict[str, tuple[tuple[str, Mapping[str, str]], ...]] = {
    "referrals_by_first_responder": (("first_responder", {}),),
    "referrals_by_age": (("age_at_exploitation", {}), ("age_at_exploitation_share", {})),
    "referrals_by_competent_authority": (("competent_authority", {"SCA": "sca", "IECA": "ieca"}),),
    "referrals_by_nationality": (("nationality_top5", PUBLISHED_NATIONALITY),),
    "referrals_by_exploitation_type": (("exploitation_single_type", {}),),
    "referrals_by_gender": (("gender", {}), ("male_share", {})),
}
