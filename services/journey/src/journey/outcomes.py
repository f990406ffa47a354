"""A journey's outcome: where it stands, its milestones and, once it ends, how it ended.

A pure function of the journey's events (earliest or latest by time, ties broken by
event id), so it does not depend on the order events arrived in. The processor and the
oracle both summarise with it; what they test against each other is the flags and the
streaming machinery (nothing lost, nothing applied twice), not this arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from journey_platform.envelope import rfc3339

# The coded fields of an event an outcome reads (journey state keeps only fields in use).
PROFILE_FIELDS = (
    "first_responder_type",
    "competent_authority",
    "age_group",
    "age_band",
    "nationality_group",
    "exploitation_types",
    "region",
)
OUTCOME_FIELDS = frozenset({*PROFILE_FIELDS, "outcome", "decision"})

# milestone -> (event type, required field values): the first time each happened.
MILESTONES: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "duty_to_notify_reported": ("uk.nrm.duty-to-notify.reported", {}),
    "referred": ("uk.nrm.referral.submitted", {}),
    "reasonable_grounds_decided": ("uk.nrm.reasonable-grounds.decided", {}),
    "reasonable_grounds_positive": ("uk.nrm.reasonable-grounds.decided", {"outcome": "positive"}),
    "conclusive_grounds_decided": ("uk.nrm.conclusive-grounds.decided", {}),
    "conclusive_grounds_positive": ("uk.nrm.conclusive-grounds.decided", {"outcome": "positive"}),
    "reconsideration_requested": ("uk.nrm.reconsideration.requested", {}),
    "withdrawn": ("uk.nrm.referral.withdrawn", {}),
    "support_entered": ("uk.nrm.support.accepted", {}),
    "support_first_contact": ("uk.nrm.support.first-contact-made", {}),
    "police_referral": ("uk.nrm.police-referral.made", {}),
    "crime_recorded": ("uk.nrm.crime.recorded", {}),
    "investigation_opened": ("uk.nrm.investigation.opened", {}),
    "charged": ("uk.nrm.charge.decided", {"decision": "charged"}),
    "trial_concluded": ("uk.nrm.trial.concluded", {}),
    "convicted": ("uk.nrm.trial.concluded", {"outcome": "convicted"}),
}

CG = "uk.nrm.conclusive-grounds.decided"
RG = "uk.nrm.reasonable-grounds.decided"
# Criminal-justice steps from furthest on; the furthest reached is the journey's CJ stage.
CRIMINAL_JUSTICE_STAGES: tuple[tuple[str, str, Mapping[str, Any] | None], ...] = (
    ("trial_concluded", "uk.nrm.trial.concluded", None),
    ("charged", "uk.nrm.charge.decided", {"decision": "charged"}),
    ("no_further_action", "uk.nrm.charge.decided", None),
    (
        "referred_to_cps",
        "uk.nrm.investigation.closed",
        {"outcome": "referred_to_cps"},
    ),
    ("no_further_action", "uk.nrm.investigation.closed", None),
    ("investigation_open", "uk.nrm.investigation.opened", None),
    ("crime_recorded", "uk.nrm.crime.recorded", None),
    ("police_referral", "uk.nrm.police-referral.made", None),
)
# Events that can change an outcome record (besides flags).
OUTCOME_EVENT_TYPES = frozenset(
    {event_type for event_type, _ in MILESTONES.values()}
    | {event_type for _, event_type, _ in CRIMINAL_JUSTICE_STAGES}
    | {"uk.nrm.support.ended"}
)
CRIMINAL_JUSTICE_CLOSED = frozenset({"trial_concluded", "no_further_action", "none"})


@dataclass(frozen=True)
class Happened:
    """What an outcome needs to know of one event."""

    id: str
    type: str
    time: datetime
    data: Mapping[str, Any]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)


def _days(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 86400, 2)


def summarise(events: Iterable[Happened], open_flags: Iterable[str]) -> dict[str, Any]:
    """The journey's outcome record (the body of a uk.nrm.journey.outcome event)."""
    ordered = sorted(events, key=lambda e: (e.time, e.id))

    def first(event_type: str, where: Mapping[str, Any] | None = None) -> Happened | None:
        return next(
            (
                e
                for e in ordered
                if e.type == event_type
                and all(e.data.get(k) == v for k, v in (where or {}).items())
            ),
            None,
        )

    def last(event_type: str) -> Happened | None:
        return next((e for e in reversed(ordered) if e.type == event_type), None)

    milestones = {
        name: _iso(happened.time)
        for name, (event_type, where) in MILESTONES.items()
        if (happened := first(event_type, where)) is not None
    }
    accepted, ended = last("uk.nrm.support.accepted"), last("uk.nrm.support.ended")
    in_support = accepted is not None and (ended is None or ended.time < accepted.time)
    if ended is not None and not in_support:
        milestones["support_ended"] = _iso(ended.time)

    latest_rg, latest_cg = last(RG), last(CG)
    criminal_justice, closed_at = "none", None
    for stage, event_type, where in CRIMINAL_JUSTICE_STAGES:
        if (reached := first(event_type, where)) is not None:
            criminal_justice, closed_at = stage, reached.time
            break

    referral = first("uk.nrm.referral.submitted")
    notified = first("uk.nrm.duty-to-notify.reported")
    withdrawn = first("uk.nrm.referral.withdrawn")
    described_by = referral or notified
    profile = {
        f: described_by.data[f] for f in PROFILE_FIELDS if described_by and f in described_by.data
    }

    if withdrawn is not None:
        stage = "withdrawn"
    elif referral is None:
        stage = "not_referred" if notified else "unknown"
    elif latest_cg is not None:
        stage = f"conclusive_grounds_{latest_cg.data.get('outcome')}"
    elif latest_rg is not None:
        positive = latest_rg.data.get("outcome") == "positive"
        stage = "awaiting_conclusive_grounds" if positive else "reasonable_grounds_negative"
    else:
        stage = "awaiting_reasonable_grounds"

    final: dict[str, Any] | None = None
    if withdrawn is not None:
        final = {"outcome": "withdrawn", "ended_at": _iso(withdrawn.time)}
    elif referral is None and notified is not None:
        final = {"outcome": "not_referred", "ended_at": _iso(notified.time)}
    elif latest_cg is not None and not in_support and criminal_justice in CRIMINAL_JUSTICE_CLOSED:
        ends = [latest_cg.time]
        ends += [t for t in (ended.time if ended else None, closed_at) if t is not None]
        decided = f"conclusive_grounds_{latest_cg.data.get('outcome')}"
        final = {"outcome": decided, "ended_at": _iso(max(ends))}

    def time_of(happened: Happened | None) -> datetime | None:
        return None if happened is None else happened.time

    rg_time, cg_time = time_of(first(RG)), time_of(first(CG))
    entered = time_of(first("uk.nrm.support.accepted"))
    return {
        "stage": stage,
        "in_support": in_support,
        "criminal_justice_stage": criminal_justice,
        "reasonable_grounds_outcome": latest_rg.data.get("outcome") if latest_rg else None,
        "conclusive_grounds_outcome": latest_cg.data.get("outcome") if latest_cg else None,
        "profile": profile,
        "milestones": milestones,
        "durations_days": {
            name: value
            for name, value in {
                "referral_to_reasonable_grounds": _days(time_of(referral), rg_time),
                "reasonable_grounds_to_conclusive_grounds": _days(rg_time, cg_time),
                "in_support": _days(entered, ended.time if ended and not in_support else None),
            }.items()
            if value is not None
        },
        "open_flags": sorted(open_flags),
        "final": final,
    }
