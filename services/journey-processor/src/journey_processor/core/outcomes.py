"""A journey's outcome: where it stands, its milestones and, once it ends, how it ended.

A pure function of the journey's events (earliest or latest by time, ties broken by
event id), so it does not depend on the order events arrived in. An outcome reads only a
few facts of the events (`Facts`: when each milestone first happened, the latest
decisions, who the referral describes); `record` turns those facts into the outcome.
`summarise` finds the facts declaratively over the whole event set: it is the reference
the stream processor's incremental fold (core/outcome_fold.py) is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
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
SUPPORT_ACCEPTED = "uk.nrm.support.accepted"
SUPPORT_ENDED = "uk.nrm.support.ended"
REFERRAL = "uk.nrm.referral.submitted"
DUTY_TO_NOTIFY = "uk.nrm.duty-to-notify.reported"
WITHDRAWN = "uk.nrm.referral.withdrawn"

# Every "first time this happened" an outcome reads (milestones and criminal-justice
# steps), each once: (event type, required field values).
Firsts = tuple[tuple[str, Mapping[str, Any]], ...]


def _firsts() -> Firsts:
    found: list[tuple[str, Mapping[str, Any]]] = []
    wanted = [*MILESTONES.values()] + [(t, w or {}) for _, t, w in CRIMINAL_JUSTICE_STAGES]
    for event_type, where in wanted:
        if (event_type, where) not in found:
            found.append((event_type, where))
    return tuple(found)


FIRSTS = _firsts()


def first_index(event_type: str, where: Mapping[str, Any] | None = None) -> int:
    return FIRSTS.index((event_type, where or {}))


_MILESTONE_INDEX = [(name, first_index(*spec)) for name, spec in MILESTONES.items()]
_STAGE_INDEX = [(stage, first_index(t, where)) for stage, t, where in CRIMINAL_JUSTICE_STAGES]
_REFERRED, _NOTIFIED, _WITHDRAWN = map(first_index, (REFERRAL, DUTY_TO_NOTIFY, WITHDRAWN))
_RG, _CG, _ACCEPTED = map(first_index, (RG, CG, SUPPORT_ACCEPTED))


@dataclass(frozen=True)
class Happened:
    """What an outcome needs to know of one event."""

    id: str
    type: str
    time: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Facts:
    """All an outcome record reads of a journey's events."""

    firsts: Sequence[datetime | None]  # by FIRSTS: when each first happened
    last_accepted: datetime | None  # the latest support.accepted
    last_ended: datetime | None  # the latest support.ended
    # event type (RG, CG) -> the time and outcome field of its latest decision, by (time, id)
    latest: Mapping[str, tuple[datetime, Any]]
    referral: Mapping[str, Any] | None  # the profile fields of the first referral
    notified: Mapping[str, Any] | None  # and of the first Duty to Notify report


def profile_of(data: Mapping[str, Any]) -> dict[str, Any]:
    return {f: data[f] for f in PROFILE_FIELDS if f in data}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else _rfc3339(moment)


@lru_cache(maxsize=1 << 16)
def _rfc3339(moment: datetime) -> str:
    # A journey's outcome is rendered again whenever it may change, with mostly the same
    # milestone times: formatting them once is worth a cache.
    return rfc3339(moment)


def _days(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 86400, 2)


def summarise(events: Iterable[Happened], open_flags: Iterable[str]) -> dict[str, Any]:
    """The journey's outcome record (the body of a uk.nrm.journey.outcome event)."""
    ordered = sorted(events, key=lambda e: (e.time, e.id))

    def first(event_type: str, where: Mapping[str, Any]) -> Happened | None:
        return next(
            (
                e
                for e in ordered
                if e.type == event_type and all(e.data.get(k) == v for k, v in where.items())
            ),
            None,
        )

    def last(event_type: str) -> Happened | None:
        return next((e for e in reversed(ordered) if e.type == event_type), None)

    def time_of(happened: Happened | None) -> datetime | None:
        return None if happened is None else happened.time

    referral, notified = first(REFERRAL, {}), first(DUTY_TO_NOTIFY, {})
    facts = Facts(
        firsts=[time_of(first(event_type, where)) for event_type, where in FIRSTS],
        last_accepted=time_of(last(SUPPORT_ACCEPTED)),
        last_ended=time_of(last(SUPPORT_ENDED)),
        latest={t: (e.time, e.data.get("outcome")) for t in (RG, CG) if (e := last(t))},
        referral=None if referral is None else profile_of(referral.data),
        notified=None if notified is None else profile_of(notified.data),
    )
    return record(facts, open_flags)


def record(facts: Facts, open_flags: Iterable[str]) -> dict[str, Any]:
    """The outcome record a journey's facts give."""
    firsts = facts.firsts
    milestones = {
        name: _iso(moment)
        for name, index in _MILESTONE_INDEX
        if (moment := firsts[index]) is not None
    }
    accepted, ended = facts.last_accepted, facts.last_ended
    in_support = accepted is not None and (ended is None or ended < accepted)
    if ended is not None and not in_support:
        milestones["support_ended"] = _iso(ended)

    criminal_justice, closed_at = "none", None
    for stage, index in _STAGE_INDEX:
        if (reached := firsts[index]) is not None:
            criminal_justice, closed_at = stage, reached
            break

    referred, withdrawn = firsts[_REFERRED], firsts[_WITHDRAWN]
    described_by = facts.referral if facts.referral is not None else facts.notified
    stage = _stage(facts, withdrawn is not None)
    final = _final(facts, withdrawn, in_support, criminal_justice, closed_at)
    rg_time, cg_time = firsts[_RG], firsts[_CG]
    outcomes = {event_type: outcome for event_type, (_, outcome) in facts.latest.items()}
    return {
        "stage": stage,
        "in_support": in_support,
        "criminal_justice_stage": criminal_justice,
        "reasonable_grounds_outcome": outcomes.get(RG),
        "conclusive_grounds_outcome": outcomes.get(CG),
        "profile": dict(described_by or {}),
        "milestones": milestones,
        "durations_days": {
            name: value
            for name, value in {
                "referral_to_reasonable_grounds": _days(referred, rg_time),
                "reasonable_grounds_to_conclusive_grounds": _days(rg_time, cg_time),
                "in_support": _days(firsts[_ACCEPTED], ended if not in_support else None),
            }.items()
            if value is not None
        },
        "open_flags": sorted(open_flags),
        "final": final,
    }


def _stage(facts: Facts, withdrawn: bool) -> str:
    outcomes = {event_type: outcome for event_type, (_, outcome) in facts.latest.items()}
    if withdrawn:
        return "withdrawn"
    if facts.referral is None:
        return "not_referred" if facts.notified is not None else "unknown"
    if CG in outcomes:
        return f"conclusive_grounds_{outcomes[CG]}"
    if RG in outcomes:
        positive = outcomes[RG] == "positive"
        return "awaiting_conclusive_grounds" if positive else "reasonable_grounds_negative"
    return "awaiting_reasonable_grounds"


def _final(
    facts: Facts,
    withdrawn: datetime | None,
    in_support: bool,
    criminal_justice: str,
    closed_at: datetime | None,
) -> dict[str, Any] | None:
    if withdrawn is not None:
        return {"outcome": "withdrawn", "ended_at": _iso(withdrawn)}
    if facts.referral is None and facts.notified is not None:
        return {"outcome": "not_referred", "ended_at": _iso(facts.firsts[_NOTIFIED])}
    latest_cg = facts.latest.get(CG)
    if latest_cg is not None and not in_support and criminal_justice in CRIMINAL_JUSTICE_CLOSED:
        decided_at, outcome = latest_cg
        ends = [t for t in (decided_at, facts.last_ended, closed_at) if t is not None]
        return {"outcome": f"conclusive_grounds_{outcome}", "ended_at": _iso(max(ends))}
    return None
