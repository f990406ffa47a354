"""The published figures the cohort is drawn to, and the shares derived from them.

`calibration.json` beside this module holds every figure with its year and source, and
every assumption with the reason for its value. This module turns them into the
distributions the planner draws from; where a figure is conditioned on age (children are
mostly referred by councils, for criminal exploitation), the adult distribution is solved
so that the whole cohort still matches the published mix.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# The vocabulary's nationality groups of the published top five.
TOP_NATIONALITIES = ("uk", "albania", "vietnam", "eritrea", "sudan")


def _shares(counts: dict[str, float]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}


def _solve_adult(
    overall: dict[str, float], given_child: dict[str, float], child_share: float
) -> dict[str, float]:
    """The adult mix that, blended with the children's, gives the overall mix."""
    adult_share = 1 - child_share
    solved = {
        k: max(0.0, (overall[k] - child_share * given_child.get(k, 0.0)) / adult_share)
        for k in overall
    }
    return _shares(solved)


@dataclass(frozen=True)
class AcknowledgementHabit:
    """How an agency of one type acts on a flag it is told about (an assumption)."""

    share: float  # of the flags it is told about, the share it acknowledges
    median_hours: float
    spread: float  # sigma of the delay's logarithm
    action: str  # the coded action it records

    def delay_hours(self, rng: random.Random) -> float:
        return self.median_hours * math.exp(rng.gauss(0.0, self.spread))


@dataclass(frozen=True)
class Calibration:
    document: dict[str, Any]

    def figure(self, name: str) -> Any:
        return self.document["figures"][name]["value"]

    def assumption(self, name: str) -> Any:
        return self.document["assumptions"][name]["value"]

    @property
    def acknowledgement_habits(self) -> dict[str, AcknowledgementHabit]:
        """Per agency type: how it acts on the flags it is told about."""
        return {
            kind: AcknowledgementHabit(**habit)
            for kind, habit in self.assumption("flag_acknowledgement").items()
        }

    # -- who is referred --------------------------------------------------------------------

    @property
    def duty_to_notify_share(self) -> float:
        """Of everyone identified: the adults who declined and appear only as MS1 reports."""
        reports = self.figure("duty_to_notify_reports")
        return float(reports / (reports + self.figure("referrals")))

    @property
    def age_share(self) -> dict[str, float]:
        return dict(self.figure("age_at_exploitation_share"))

    @property
    def child_share(self) -> float:
        return float(self.age_share["child"])

    @property
    def ieca_share(self) -> float:
        return _shares(self.figure("competent_authority"))["ieca"]

    @property
    def ieca_share_of_non_children(self) -> float:
        return self.ieca_share / (1 - self.child_share)

    @property
    def nationality(self) -> dict[str, float]:
        top = {k: v / self.figure("referrals") for k, v in self.figure("nationality_top5").items()}
        rest_share = 1 - sum(top.values())
        rest = _shares(self.assumption("other_nationalities"))
        return {**top, **{k: rest_share * v for k, v in rest.items()}}

    @property
    def responder_overall(self) -> dict[str, float]:
        return _shares(self.figure("first_responder"))

    @property
    def responder_child(self) -> dict[str, float]:
        return dict(self.assumption("responder_given_child"))

    @property
    def responder_adult(self) -> dict[str, float]:
        return _solve_adult(self.responder_overall, self.responder_child, self.child_share)

    @property
    def exploitation_child(self) -> dict[str, float]:
        return dict(self.assumption("exploitation_given_child"))

    @property
    def exploitation_adult(self) -> dict[str, float]:
        overall = _shares(self.figure("exploitation_single_type"))
        return _solve_adult(overall, self.exploitation_child, self.child_share)

    @property
    def gender(self) -> dict[str, float]:
        other = self.figure("gender_other_or_unknown") / self.figure("referrals_2023")
        male = self.figure("male_share")
        return {"male": male, "female": 1 - male - other, "other": other / 2, "unknown": other / 2}

    @property
    def exploitation_location(self) -> dict[str, float]:
        known = {
            k: v / self.figure("referrals")
            for k, v in self.figure("exploited_location_count").items()
        }
        rest = self.assumption("exploited_location_rest")
        return _shares({**known, **rest})

    @property
    def region(self) -> dict[str, float]:
        return _shares(self.assumption("region"))

    @property
    def re_referral_published_share(self) -> float:
        return float(self.figure("repeat_referrals") / self.figure("referrals_2023"))

    # -- decisions and what follows ---------------------------------------------------------

    @property
    def rg_positive_share(self) -> float:
        return float(self.figure("rg_positive_share"))

    @property
    def cg_positive_share(self) -> float:
        return float(self.figure("cg_positive_share"))

    @property
    def median_days_referral_to_cg(self) -> float:
        return float(self.figure("median_days_referral_to_cg"))

    @property
    def conviction_share(self) -> float:
        return float(self.figure("cps_convicted") / self.figure("cps_prosecuted"))

    def marginal_targets(self) -> dict[str, dict[str, float]]:
        """The published shares the cohort's marginals are compared with."""
        return {
            "age_group": self.age_share,
            "competent_authority": {"sca": 1 - self.ieca_share, "ieca": self.ieca_share},
            "rg_positive": {"positive": self.rg_positive_share},
            "cg_positive": {"positive": self.cg_positive_share},
            "nationality_top5": {k: self.nationality[k] for k in TOP_NATIONALITIES},
            "first_responder": self.responder_overall,
        }


@cache
def load() -> Calibration:
    text = resources.files("journey_simulator").joinpath("calibration.json").read_text()
    return Calibration(json.loads(text))
