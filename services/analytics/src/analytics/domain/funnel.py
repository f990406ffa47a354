"""The journey funnel: how many journeys reached each step, and how many went on.

Steps are milestones of the outcome record, from referral through the NRM decisions
(Reasonable Grounds: is there reason to believe this is a victim; Conclusive Grounds: on
the balance of probabilities, is it) and support, to the criminal-justice steps. Counts
are of journeys that reached the step, whatever they reached before. The steps are two
branches, not one chain: the NRM decisions and support, and, from the referral, the
police referral on to a conviction. So each step converts from the step it follows in its
branch (`conversion_from`), not from the line above it: a police referral is not a
subset of positive Conclusive Grounds decisions. A conversion is null when either count
is suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics.domain.disclosure import hidden_count, protect, ratio
from analytics.domain.period import Period

# (step, label, the step it converts from)
STEPS: tuple[tuple[str, str, str | None], ...] = (
    ("referred", "Referral", None),
    ("reasonable_grounds_decided", "Reasonable Grounds decision", "referred"),
    ("reasonable_grounds_positive", "Positive Reasonable Grounds", "reasonable_grounds_decided"),
    ("support_entered", "Support entered", "reasonable_grounds_positive"),
    ("conclusive_grounds_decided", "Conclusive Grounds decision", "reasonable_grounds_positive"),
    ("conclusive_grounds_positive", "Positive Conclusive Grounds", "conclusive_grounds_decided"),
    ("police_referral", "Police referral", "referred"),
    ("crime_recorded", "Crime recorded", "police_referral"),
    ("charged", "Charged", "crime_recorded"),
    ("convicted", "Convicted", "charged"),
)


# No step of the funnel is zero by construction: any of them can be reached by nobody in
# a period, and that is a small count like any other.
STRUCTURAL_ZEROS: frozenset[str] = frozenset()
CONVERSION_HIDDEN = "not published (a count it is worked out from is suppressed)"

Key = tuple[str, str, str]


def key(step: str) -> Key:
    return ("funnel", step, "journeys")


def declare(counts: Mapping[str, int]) -> dict[Key, int]:
    """The funnel's cells (no total-and-parts relation: the steps are nested, not parts)."""
    return {key(step): counts.get(step, 0) for step, _, _ in STEPS}


def render(shown: Mapping[Key, int | None], *, period: Period, threshold: int) -> dict[str, Any]:
    """The funnel JSON from the published cells."""
    steps = [
        {
            "step": step,
            "label": label,
            "count": shown[key(step)],
            "conversion": None if source is None else ratio(shown[key(step)], shown[key(source)]),
            "conversion_from": source,
        }
        for step, label, source in STEPS
    ]
    return {
        "period": period.json(),
        "threshold": threshold,
        "steps": steps,
        "labels": {"count": hidden_count(threshold, "journeys"), "conversion": CONVERSION_HIDDEN},
    }


def funnel(counts: Mapping[str, int], *, period: Period, threshold: int) -> dict[str, Any]:
    """The funnel on its own, from raw counts per step (disclosure-controlled here)."""
    structural = {key(step) for step in STRUCTURAL_ZEROS}
    shown = protect(declare(counts), [], threshold, structural)
    return render(shown, period=period, threshold=threshold)
