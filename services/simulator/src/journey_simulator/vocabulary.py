"""The coded values simulated journeys carry, with the relative weights they are drawn with.

One home for every weight table that no published figure fixes: the cohort planner (which
drives the partner APIs) and the offline event log (`eventlog`) both draw from these.
Distributions that are calibrated to published figures (age, nationality, gender, region,
exploitation, first responders) come from `calibration` instead. Every value is a member
of the contracts' vocabulary (`schemas/common/vocabulary.v1.schema.json` or the event's
own schema); the weights are rough, chosen for variety, not published.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Mapping


class Weighted:
    """Coded values with relative weights, the running totals worked out once."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = dict(weights)
        self.values = list(weights)
        self.cumulative: list[float] = []
        total = 0.0
        for weight in weights.values():
            total += weight
            self.cumulative.append(total)

    def draw(self, rng: random.Random) -> str:
        at = bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])
        return self.values[min(at, len(self.values) - 1)]


def pick(rng: random.Random, weights: Weighted | Mapping[str, float]) -> str:
    """A value drawn with the given relative weights."""
    table = weights if isinstance(weights, Weighted) else Weighted(weights)
    return table.draw(rng)


# -- identification ---------------------------------------------------------------------------

ADULT_AGE_BANDS = Weighted(
    {"18-24": 25, "25-34": 32, "35-44": 22, "45-54": 11, "55-64": 4, "65+": 1, "unknown": 5}
)
DECLINED_REFERRAL = Weighted(
    {
        "does_not_identify_as_victim": 25,
        "fear_of_reprisal": 15,
        "distrust_of_authorities": 15,
        "immigration_concerns": 15,
        "does_not_want_support": 15,
        "wants_to_return_home": 5,
        "other": 5,
        "unknown": 5,
    }
)
WITHDRAWAL_REASONS = Weighted(
    {
        "consent_withdrawn": 40,
        "referred_in_error": 15,
        "duplicate_referral": 15,
        "left_uk": 15,
        "deceased": 1,
        "other": 9,
        "unknown": 5,
    }
)
RECONSIDERATION_REQUESTERS = Weighted(  # agency types, as the referral service derives them
    {"support_provider": 40, "ngo_first_responder": 30, "local_authority": 20, "police_force": 10}
)
DETENTION_REASONS = Weighted(
    {
        "pending_removal": 35,
        "foreign_national_offender": 25,
        "asylum_inadmissibility": 25,
        "identity_establishment": 5,
        "other": 5,
        "unknown": 5,
    }
)
DETENTION_ENDINGS = Weighted({"released": 70, "removed": 15, "transferred": 10, "other": 5})

# -- support ----------------------------------------------------------------------------------

SUPPORT_DECLINED_REASONS = Weighted(
    {
        "own_arrangements": 20,
        "distrust_of_provider": 15,
        "fear_of_reprisal": 10,
        "immigration_concerns": 15,
        "wants_to_return_home": 5,
        "location_unsuitable": 15,
        "no_longer_needed": 10,
        "other": 5,
        "unknown": 5,
    }
)
EARLY_SUPPORT_ENDINGS = Weighted(  # support ending before the Conclusive Grounds decision
    {
        "disengaged": 40,
        "declined_further_support": 20,
        "left_uk": 10,
        "missing": 5,
        "transferred_to_local_authority": 5,
        "removed_from_uk": 3,
        "detained": 3,
        "disqualified_public_order": 2,
        "deceased": 0.5,
        "other": 10,
    }
)
CLIFF_EDGE_ENDINGS = Weighted(
    {"move_on_completed": 50, "declined_further_support": 30, "other": 20}
)
ADULT_ACCOMMODATION = Weighted(
    {"safe_house": 55, "outreach": 25, "dispersal_accommodation": 15, "other": 5}
)
MOVED_TO = Weighted({"safe_house": 30, "dispersal_accommodation": 50, "other": 20})
CONTACT_MODES = Weighted({"in_person": 45, "phone": 40, "video": 10, "other": 5})
CONTACT_INITIATORS = Weighted({"support_worker": 80, "person": 17, "other": 3})
NEED_AREAS = (
    "accommodation",
    "medical",
    "mental_health",
    "legal",
    "financial",
    "interpreting",
    "education",
    "employment",
    "safety",
    "family",
)
PRIORITIES = Weighted({"low": 20, "medium": 50, "high": 30})
LEGAL_MATTERS = Weighted(
    {"immigration": 70, "compensation": 10, "criminal": 10, "public_law": 5, "other": 5}
)
MISSING_REPORTERS = Weighted(  # agency types, as the support service derives them
    {"support_provider": 60, "police_force": 25, "local_authority": 15}
)
RISK_LEVELS = Weighted({"low": 15, "medium": 45, "high": 40})
MISSING_OUTCOMES = Weighted(
    {"returned": 55, "found_by_police": 25, "found_elsewhere": 10, "re_trafficked": 5, "other": 5}
)
MOVE_ON_DESTINATIONS = Weighted(
    {"mainstream_housing": 45, "local_authority_support": 30, "returned_home": 5, "other": 20}
)

# -- criminal justice -------------------------------------------------------------------------

POLICE_REFERRAL_BASES = Weighted({"with_consent": 70, "third_party_without_personal_details": 30})
OFFENCES = Weighted(
    {
        "modern_slavery_act_s1_slavery_servitude_forced_labour": 35,
        "modern_slavery_act_s2_human_trafficking": 45,
        "other": 20,
    }
)
VICTIM_CONTACT_INITIATORS = Weighted({"police": 70, "victim": 15, "intermediary": 15})
STATEMENT_TYPES = Weighted({"witness_statement": 40, "achieving_best_evidence_interview": 60})
ENGAGEMENT_REASONS = Weighted(
    {
        "fear_of_reprisal": 30,
        "distrust_of_authorities": 15,
        "immigration_concerns": 10,
        "trauma": 20,
        "lack_of_support": 8,
        "relocated": 5,
        "no_contact_from_police": 5,
        "other": 4,
        "unknown": 3,
    }
)
NO_FURTHER_ACTION = Weighted({"no_further_action_evidential": 75, "no_further_action_other": 25})
NOT_CHARGED = Weighted(
    {"no_charge_evidential": 70, "no_charge_public_interest": 10, "out_of_court_disposal": 20}
)
NOT_CONVICTED = Weighted({"acquitted": 70, "discontinued": 25, "other": 5})
SECTION_45_OFFENCES = Weighted(  # offences a victim was compelled to commit
    {
        "drugs": 60,
        "immigration_and_documents": 10,
        "theft_and_dishonesty": 10,
        "weapons": 5,
        "violence": 5,
        "other": 5,
        "unknown": 5,
    }
)
