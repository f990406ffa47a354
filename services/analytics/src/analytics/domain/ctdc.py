"""A journey dataset others can use: one row per journey, k-anonymised as CTDC publishes.

Counter-trafficking researchers use the Counter-Trafficking Data Collaborative's global
victim dataset, published only k-anonymised (k = 11). This export follows it: one row per
journey referred in the period, its profile coded, its milestones as whole months after
the referral, its outcome and its drop-off flags by stage; the quasi-identifiers
generalised and suppressed until every combination of them is shared by at least k rows
(analytics.domain.kanonymity), with the information lost reported.

Field names are CTDC's where it has the field (camelCase, as CTDC writes them), our own
in the same style where it has none:
- CTDC Data Codebook v6 (IOM and Polaris, November 2017; ctdatacollaborative.org):
  yearOfRegistration, gender, ageBroad, majorityStatus, citizenship,
  typeOfExploitConcatenated (";"-joined, as CTDC joins them).
- HTCDS v2.0 (IOM, Human Trafficking Case Data Standard), its trafficking status picklist
  (possible victim, actual victim, not a victim): traffickingStatus, read from the NRM
  decisions (a positive Conclusive Grounds decision: actual; a negative one, or a
  negative Reasonable Grounds decision: not a victim; otherwise possible).
- Ours (NRM, not in CTDC): firstResponderType, region, nrmStage, criminalJusticeStage,
  monthsTo<milestone>, flags<Stage>.

No journey id, no date (the year of referral only, and month offsets), no free text: every
value is a code from the event contracts' vocabulary, a year, or a count.
Quasi-identifiers (what someone might know of a person): the profile and the year. The
month offsets, outcome and flags are what the dataset is for; they are not generalised,
so a reader who knew when a person's decisions came could look for them among the k.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from analytics.domain.kanonymity import Anonymised, QuasiIdentifier, anonymise

DAYS_PER_MONTH = 30.4375  # a Gregorian month on average
CONTINENTS = {
    **dict.fromkeys(["albania", "romania", "poland", "other_europe"], "europe"),
    **dict.fromkeys(
        ["vietnam", "india", "china", "afghanistan", "iran", "iraq", "other_asia"], "asia"
    ),
    **dict.fromkeys(["eritrea", "sudan", "nigeria", "other_africa"], "africa"),
    "other_americas": "americas",
    "other_oceania": "oceania",
    "uk": "uk",
}
RESPONDER_KINDS = {
    **dict.fromkeys(["police", "national_crime_agency", "glaa"], "law_enforcement"),
    **dict.fromkeys(
        ["home_office_ukvi", "home_office_border_force", "home_office_immigration_enforcement"],
        "home_office",
    ),
    **dict.fromkeys(["local_authority", "health_and_social_care_trust"], "public_body"),
    "ngo": "ngo",
}
MAJORITY = {"0-11": "minor", "12-15": "minor", "16-17": "minor", "unknown": "unknown"}

# Least telling first: on a tie, the greedy search coarsens the earlier one.
QUASI_IDENTIFIERS = (
    QuasiIdentifier("region"),
    QuasiIdentifier("firstResponderType", (lambda v: RESPONDER_KINDS.get(v, "other"),)),
    QuasiIdentifier("gender"),
    QuasiIdentifier("yearOfRegistration", (lambda v: f"{int(v) // 2 * 2}-{int(v) // 2 * 2 + 1}",)),
    QuasiIdentifier("typeOfExploitConcatenated", (lambda v: "multiple" if ";" in v else v,)),
    QuasiIdentifier("citizenship", (lambda v: CONTINENTS.get(v, "unknown"),)),
    QuasiIdentifier("ageBroad", (lambda v: MAJORITY.get(v, "adult"),)),
    QuasiIdentifier("majorityStatus"),
)
MILESTONES = {
    "monthsToReasonableGroundsDecision": "reasonable_grounds_decided_at",
    "monthsToConclusiveGroundsDecision": "conclusive_grounds_decided_at",
    "monthsToSupportEntered": "support_entered_at",
    "monthsToSupportEnded": "support_ended_at",
    "monthsToPoliceReferral": "police_referral_at",
    "monthsToCharged": "charged_at",
    "monthsToConvicted": "convicted_at",
    "monthsToWithdrawn": "withdrawn_at",
}
# Drop-off flags by the catalogue's stages (counted in analytics.adapters.ctdc.JOURNEYS).
STAGES = ("flagsIdentification", "flagsSupport", "flagsCriminalJustice", "flagsPrevention")
COLUMNS = (
    *(q.name for q in QUASI_IDENTIFIERS),
    "traffickingStatus",
    "nrmStage",
    "criminalJusticeStage",
    *MILESTONES,
    *STAGES,
)

SCHEMA = {  # the Parquet types (CSV: the same columns in this order)
    **{name: pa.string() for name in COLUMNS},
    **{name: pa.int64() for name in (*MILESTONES, *STAGES)},
}


def months(start: datetime, then: datetime | None) -> int | None:
    return None if then is None else int((then - start).days // DAYS_PER_MONTH)


def status(journey: Mapping[str, Any]) -> str:
    """HTCDS's trafficking status, from the NRM decisions."""
    if journey["conclusive_grounds_outcome"] == "positive":
        return "actual_victim"
    negative = "negative" in (
        journey["conclusive_grounds_outcome"],
        journey["reasonable_grounds_outcome"],
    )
    return "not_a_victim" if negative else "possible_victim"


def record(journey: Mapping[str, Any]) -> dict[str, Any]:
    """One journey as a row, before anonymisation (no id, no date)."""
    referred: datetime = journey["referred_at"]
    return {
        "region": journey["region"] or "unknown",
        "firstResponderType": journey["first_responder_type"] or "unknown",
        "gender": journey["gender"],
        "yearOfRegistration": str(referred.year),
        "typeOfExploitConcatenated": ";".join(sorted(journey["exploitation_types"])) or "unknown",
        "citizenship": journey["nationality_group"] or "unknown",
        "ageBroad": journey["age_band"] or "unknown",
        "majorityStatus": journey["age_group"] or "unknown",
        "traffickingStatus": status(journey),
        "nrmStage": journey["stage"],
        "criminalJusticeStage": journey["criminal_justice_stage"],
        **{name: months(referred, journey[column]) for name, column in MILESTONES.items()},
        **{name: journey[name] for name in STAGES},
    }


@dataclass(frozen=True)
class Export:
    k: int
    anonymised: Anonymised
    journeys: int  # in the period, before suppression

    def summary(self) -> dict[str, Any]:
        """The information lost, for the response headers and the CLI."""
        return {
            "k": self.k,
            "rows": len(self.anonymised.rows),
            "rows_suppressed": self.anonymised.rows_suppressed,
            "cells_generalised": self.anonymised.cells_generalised,
            "levels": self.anonymised.levels,
        }


def export(records: list[dict[str, Any]], *, k: int) -> Export:
    return Export(k, anonymise(records, QUASI_IDENTIFIERS, k=k), len(records))
