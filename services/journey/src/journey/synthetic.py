"""A seeded, synthetic event log of many NRM journeys, for tests and benchmarks.

`generate` draws journeys through the National Referral Mechanism the way the stream
processor meets them: Duty to Notify reports, referrals, Reasonable and Conclusive
Grounds decisions (late, negative, reconsidered), support with its contacts, stays,
missing episodes and cliff edges, criminal investigations the victim withdraws from,
immigration detention, withdrawals, backdated recordings and events delivered twice.
Nobody in it is real: events carry only coded fields and random ids.

Everything comes from one `random.Random(seed)`, ids included, so the same seed gives
the same log. The shares and delays below are rough figures in the spirit of the NRM
statistics, chosen so that every drop-off rule in the catalogue fires now and then;
they are not a model of the real system. `ticks` gives the clock ticks to replay with it.
"""

from __future__ import annotations

import bisect
import math
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from journey.rules.calendar import add_working_days, nation_of
from journey_platform.contracts import Contracts, ContractViolation
from journey_platform.envelope import Event

SOURCE = "synthetic"  # the envelope's `source`: where these events came from
JOURNEY_TOPICS = frozenset({"nrm.identification", "nrm.support", "nrm.criminal-justice"})
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"

STARTS_OVER = timedelta(days=365)  # journeys begin within a year of `start`
OBSERVED_FOR = timedelta(days=730)  # the log ends two years after `start`
TICKS_AFTER_LAST_RECORDING = timedelta(days=400)  # long enough for every deadline to pass

DUTY_TO_NOTIFY_SHARE = 0.08
RE_REFERRAL_SHARE = 0.04
WITHDRAWN_SHARE = 0.03
IECA_SHARE = 0.08
POLICE_REFERRAL_SHARE = 0.27  # of referrals, so about a quarter of all journeys
DETENTION_SHARE = {"sca": 0.03, "ieca": 0.4}
RG_POSITIVE_SHARE = 0.87
CG_POSITIVE_SHARE = 0.85
RECONSIDERATION_SHARE = 0.45
OVERTURNED_SHARE = 0.7
SUPPORT_DECLINED_SHARE = 0.08
SUPPORT_ENDS_EARLY_SHARE = 0.12
CLIFF_EDGE_SHARE = 0.2
BACKDATED_SHARE = 0.05
DUPLICATE_SHARE = 0.005

# The registry's agencies (deploy/local/agencies.yaml), by what they do in a journey.
POLICE_FORCES = ("northshire-police", "southmoor-police")
COUNCILS = ("eastvale-council", "westbrook-council")
SUPPORT_PROVIDERS = ("haven-support", "lighthouse-support")
AGENCIES_OF_RESPONDER = {
    "police": POLICE_FORCES,
    "local_authority": COUNCILS,
    "ngo": ("harbour-trust",),
}
AGENCY_TYPE_OF_RESPONDER = {
    "police": "police_force",
    "local_authority": "local_authority",
    "ngo": "ngo_first_responder",
}
CPS = "cps"
IMMIGRATION_ENFORCEMENT = "ieca"

NATIONS = {"wales": "wales", "scotland": "scotland", "northern_ireland": "northern_ireland"}
RECOVERY_DAYS = {"england": 30, "wales": 30, "scotland": 90, "northern_ireland": 45}
STAY_ENDING = {"missing": "missing", "detained": "detained", "move_on_completed": "moved_on"}


class Weighted:
    """Coded values with relative weights, to draw from a journey's random stream."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.values = list(weights)
        self.cumulative: list[float] = []
        total = 0.0
        for weight in weights.values():
            total += weight
            self.cumulative.append(total)

    def draw(self, rng: random.Random) -> str:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


REGION_WEIGHTS = {
    "london": 24,
    "north_west": 11,
    "west_midlands": 10,
    "south_east": 10,
    "yorkshire_and_the_humber": 8,
    "east_of_england": 7,
    "east_midlands": 7,
    "south_west": 5,
    "north_east": 4,
    "wales": 4,
    "scotland": 5,
    "northern_ireland": 3,
    "unknown": 2,
}
REGIONS = Weighted(REGION_WEIGHTS)
# The Duty to Notify is a duty in England and Wales only.
NOTIFYING_REGIONS = Weighted(
    {r: w for r, w in REGION_WEIGHTS.items() if r not in ("scotland", "northern_ireland")}
)
ADULT_AGE_BANDS = Weighted(
    {"18-24": 25, "25-34": 32, "35-44": 22, "45-54": 11, "55-64": 4, "65+": 1, "unknown": 5}
)
CHILD_AGE_BANDS = Weighted({"0-11": 1, "12-15": 4, "16-17": 6})
GENDERS = Weighted({"male": 76, "female": 22, "other": 1, "unknown": 1})
NATIONALITIES = Weighted(
    {
        "uk": 25,
        "albania": 12,
        "vietnam": 7,
        "eritrea": 6,
        "sudan": 5,
        "romania": 3,
        "india": 3,
        "china": 2,
        "nigeria": 2,
        "poland": 1,
        "afghanistan": 4,
        "iran": 3,
        "iraq": 3,
        "other_europe": 5,
        "other_africa": 8,
        "other_asia": 7,
        "other_americas": 1,
        "other_oceania": 0.2,
        "stateless": 0.3,
        "unknown": 2,
    }
)
ADULT_EXPLOITATION = Weighted(
    {
        "labour": 40,
        "sexual": 22,
        "criminal": 20,
        "domestic_servitude": 8,
        "forced_marriage": 1,
        "organ_harvesting": 0.2,
        "unknown": 9,
    }
)
CHILD_EXPLOITATION = Weighted(
    {"criminal": 60, "sexual": 17, "labour": 10, "domestic_servitude": 3, "unknown": 10}
)
EXPLOITATION_LOCATIONS = Weighted(
    {"uk_only": 50, "overseas_only": 20, "uk_and_overseas": 25, "unknown": 5}
)
ADULT_RESPONDERS = Weighted({"police": 35, "local_authority": 25, "ngo": 40})
CHILD_RESPONDERS = Weighted({"police": 30, "local_authority": 65, "ngo": 5})
NOTIFYING_RESPONDERS = Weighted({"police": 70, "local_authority": 30})
REASONS_DECLINED_REFERRAL = Weighted(
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
RECONSIDERATION_REQUESTERS = Weighted(
    {"support_provider": 40, "ngo_first_responder": 30, "local_authority": 20, "police_force": 10}
)
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
EARLY_SUPPORT_ENDINGS = Weighted(
    {
        "disengaged": 40,
        "declined_further_support": 20,
        "left_uk": 10,
        "removed_from_uk": 3,
        "detained": 5,
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
MISSING_REPORTERS = Weighted({"support_provider": 60, "police_force": 25, "local_authority": 15})
RISK_LEVELS = Weighted({"low": 15, "medium": 45, "high": 40})
MISSING_OUTCOMES = Weighted(
    {"returned": 55, "found_by_police": 25, "found_elsewhere": 10, "re_trafficked": 5, "other": 5}
)
MOVE_ON_DESTINATIONS = Weighted(
    {"mainstream_housing": 45, "local_authority_support": 30, "returned_home": 5, "other": 20}
)
OFFENCES = Weighted(
    {
        "modern_slavery_act_s1_slavery_servitude_forced_labour": 35,
        "modern_slavery_act_s2_human_trafficking": 45,
        "other": 20,
    }
)
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
INVESTIGATION_OUTCOMES = Weighted(
    {"referred_to_cps": 40, "no_further_action_evidential": 45, "no_further_action_other": 15}
)
CHARGE_DECISIONS = Weighted(
    {
        "charged": 60,
        "no_charge_evidential": 25,
        "no_charge_public_interest": 5,
        "out_of_court_disposal": 10,
    }
)
TRIAL_OUTCOMES = Weighted({"convicted": 60, "acquitted": 25, "discontinued": 10, "other": 5})
SECTION_45_OFFENCES = Weighted(
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


# -- the public API ---------------------------------------------------------------------------


def generate(journeys: int, *, seed: int, start: datetime, contracts: Contracts) -> list[Event]:
    """Every event of `journeys` synthetic journeys, sorted by recorded_time then id."""
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    observed_until = start + OBSERVED_FOR
    events: list[Event] = []
    for _ in range(journeys):
        begins = start + _seconds(rng.uniform(0, STARTS_OVER.total_seconds()))
        events += _journey(Journey(rng, observed_until), begins)
    events += _delivered_again(rng, events)
    _check_topics(events, contracts)
    events.sort(key=attrgetter("recorded_time", "id"))
    return events


def ticks(
    events: Sequence[Event],
    *,
    every: timedelta,
    partitions: int,
    until: datetime | None = None,
) -> list[tuple[int, datetime]]:
    """(partition, clock time) pairs: one tick per partition every `every` from the earliest
    event time to `until` (default: latest recorded_time + 400 days), in time order.

    The last tick falls at or after `until`, so the whole range is covered.
    """
    if every <= timedelta(0) or partitions < 1:
        raise ValueError("ticks need a positive interval and at least one partition")
    if not events:
        return []
    moment = min(event.time for event in events)
    if until is None:
        until = max(event.recorded_time for event in events) + TICKS_AFTER_LAST_RECORDING
    pairs: list[tuple[int, datetime]] = []
    while True:
        pairs += [(partition, moment) for partition in range(partitions)]
        if moment >= until:
            return pairs
        moment += every


# -- one journey as it is drawn ---------------------------------------------------------------


class Journey:
    """One journey's id, random stream and events so far.

    Nothing that would happen after `observed_until` (the end of the log, or a withdrawal)
    is recorded: the journey is still going, or stopped, when the log ends.
    """

    def __init__(self, rng: random.Random, observed_until: datetime) -> None:
        self.rng = rng
        self.observed_until = observed_until
        self.id = "jny_" + "".join(BASE32[rng.getrandbits(5)] for _ in range(26))
        self.events: list[Event] = []

    def record(self, kind: str, at: datetime, by: str, **data: Any) -> None:
        """Record `uk.nrm.<kind>` as happening `at`, by agency `by`, if the log still runs."""
        if at > self.observed_until:
            return
        self.events.append(
            Event(
                type=f"uk.nrm.{kind}",
                subject=self.id,
                time=at,
                data=data,
                source=SOURCE,
                recorded_by=by,
                id=self.new_id(),
                recorded_time=at + self._recording_delay(),
            )
        )

    def _recording_delay(self) -> timedelta:
        if self.chance(BACKDATED_SHARE):
            return self.days(1, 60)
        return self.hours(0.05, 8)

    def has(self, kind: str) -> bool:
        return any(event.type == f"uk.nrm.{kind}" for event in self.events)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def pick(self, values: Weighted) -> str:
        return values.draw(self.rng)

    def hours(self, low: float, high: float) -> timedelta:
        return _seconds(self.rng.uniform(low, high) * 3600)

    def days(self, low: float, high: float) -> timedelta:
        return _seconds(self.rng.uniform(low, high) * 86400)

    def long_tail(self, median_days: float, spread: float) -> timedelta:
        """A log-normal delay: mostly near the median, now and then far beyond it."""
        return _seconds(self.rng.lognormvariate(math.log(median_days), spread) * 86400)

    def between(self, first: datetime, last: datetime) -> datetime:
        return first + _seconds(self.rng.uniform(0, (last - first).total_seconds()))


def _seconds(count: float) -> timedelta:
    return timedelta(seconds=round(count))


def _journey(journey: Journey, begins: datetime) -> list[Event]:
    if journey.chance(DUTY_TO_NOTIFY_SHARE):
        _duty_to_notify(journey, begins)
    else:
        _referral(journey, begins)
    return journey.events


def _delivered_again(rng: random.Random, events: list[Event]) -> list[Event]:
    """Exact copies of a few events, as at-least-once delivery sometimes hands them over."""
    count = round(len(events) * DUPLICATE_SHARE)
    return [events[index] for index in rng.sample(range(len(events)), count)]


def _check_topics(events: Iterable[Event], contracts: Contracts) -> None:
    for event_type in {event.type for event in events}:
        if contracts.topic_for(event_type).name not in JOURNEY_TOPICS:
            raise ContractViolation(f"{event_type} is not a journey event")


# -- who the journey follows, and who records it ----------------------------------------------


@dataclass(frozen=True)
class Person:
    """The coded profile of the person a journey follows; nothing that identifies them."""

    age_group: str
    age_band: str
    gender: str
    nationality_group: str
    exploitation_types: list[str]
    region: str

    @property
    def is_child(self) -> bool:
        return self.age_group == "child"

    @property
    def nation(self) -> str:
        return NATIONS.get(self.region, "england")


@dataclass(frozen=True)
class Cast:
    """The agencies that record one journey's events."""

    responder_type: str
    first_responder: str
    authority: str  # the competent authority: "sca" or "ieca", also their agency ids
    support_provider: str
    police: str


def _exploitation(journey: Journey, kinds: Weighted) -> list[str]:
    found = {journey.pick(kinds)}
    if journey.chance(0.15):
        found.add(journey.pick(kinds))
    if len(found) > 1:
        found.discard("unknown")
    return sorted(found)


def _person(journey: Journey) -> Person:
    roll = journey.rng.random()
    age_group = "child" if roll < 0.42 else "unknown" if roll < 0.44 else "adult"
    child = age_group == "child"
    return Person(
        age_group=age_group,
        age_band=journey.pick(CHILD_AGE_BANDS if child else ADULT_AGE_BANDS),
        gender=journey.pick(GENDERS),
        nationality_group=journey.pick(NATIONALITIES),
        exploitation_types=_exploitation(
            journey, CHILD_EXPLOITATION if child else ADULT_EXPLOITATION
        ),
        region=journey.pick(REGIONS),
    )


def _cast(journey: Journey, person: Person) -> Cast:
    responder_type = journey.pick(CHILD_RESPONDERS if person.is_child else ADULT_RESPONDERS)
    first_responder = journey.rng.choice(AGENCIES_OF_RESPONDER[responder_type])
    in_ieca_remit = not person.is_child and journey.chance(IECA_SHARE)
    return Cast(
        responder_type=responder_type,
        first_responder=first_responder,
        authority="ieca" if in_ieca_remit else "sca",
        # Children are looked after by the council; adults by a Victim Care Contract provider.
        support_provider=_agency(
            journey, COUNCILS if person.is_child else SUPPORT_PROVIDERS, first_responder
        ),
        police=_agency(journey, POLICE_FORCES, first_responder),
    )


def _agency(journey: Journey, agencies: Sequence[str], first_responder: str) -> str:
    """The first responder itself if it is one of `agencies`, else one of them."""
    return first_responder if first_responder in agencies else journey.rng.choice(agencies)


# -- identification ---------------------------------------------------------------------------


def _duty_to_notify(journey: Journey, at: datetime) -> None:
    """An adult who declined to be referred: the only event of their journey."""
    responder_type = journey.pick(NOTIFYING_RESPONDERS)
    journey.record(
        "duty-to-notify.reported",
        at,
        journey.rng.choice(AGENCIES_OF_RESPONDER[responder_type]),
        notification_id=journey.new_id(),
        first_responder_type=responder_type,
        region=journey.pick(NOTIFYING_REGIONS),
        exploitation_types=_exploitation(journey, ADULT_EXPLOITATION),
        gender=journey.pick(GENDERS),
        nationality_group=journey.pick(NATIONALITIES),
        age_band=journey.pick(ADULT_AGE_BANDS),
        reason_declined=journey.pick(REASONS_DECLINED_REFERRAL),
    )


def _referral(journey: Journey, referred: datetime) -> None:
    person = _person(journey)
    cast = _cast(journey, person)
    referral_id = journey.new_id()
    withdrawn = referred + journey.days(2, 400) if journey.chance(WITHDRAWN_SHARE) else None
    if withdrawn is not None and withdrawn < journey.observed_until:
        journey.observed_until = withdrawn
    else:
        withdrawn = None
    _referral_submitted(journey, person, cast, referral_id, referred)
    if journey.chance(POLICE_REFERRAL_SHARE):
        _criminal_justice(journey, person, cast, referral_id, referred)
    if journey.chance(DETENTION_SHARE[cast.authority]):
        _detention(journey, referred + journey.days(0, 200))
    positive_from = _reasonable_grounds(journey, person, cast, referral_id, referred)
    if positive_from is not None:
        _recovery(journey, person, cast, referral_id, positive_from)
    if withdrawn is not None:
        _withdrawal(journey, cast, referral_id, withdrawn)


def _referral_submitted(
    journey: Journey, person: Person, cast: Cast, referral_id: str, at: datetime
) -> None:
    previous = journey.rng.choice((1, 1, 1, 2, 2, 3)) if journey.chance(RE_REFERRAL_SHARE) else 0
    journey.record(
        "referral.submitted",
        at,
        cast.first_responder,
        referral_id=referral_id,
        first_responder_type=cast.responder_type,
        competent_authority=cast.authority,
        age_group=person.age_group,
        age_band=person.age_band,
        gender=person.gender,
        nationality_group=person.nationality_group,
        exploitation_types=person.exploitation_types,
        exploitation_location=journey.pick(EXPLOITATION_LOCATIONS),
        region=person.region,
        consent="not_required_child" if person.is_child else "given",
        is_re_referral=previous > 0,
        previous_referral_count=previous,
    )


@dataclass(frozen=True)
class Standing:
    """Where a decision finally stands (after any reconsideration), and since when."""

    at: datetime
    positive: bool


def _reasonable_grounds(
    journey: Journey, person: Person, cast: Cast, referral_id: str, referred: datetime
) -> datetime | None:
    """Decide Reasonable Grounds; return when a positive decision stands, if it does."""
    if journey.chance(0.01):
        return None  # stuck: no decision while the log runs
    if journey.chance(0.85):  # within the 5 working day target, or a little after
        decided = add_working_days(referred, journey.rng.randint(1, 10), nation_of(person.region))
    else:
        decided = referred + timedelta(days=14) + journey.long_tail(20, 0.8)
    decided += journey.hours(0, 6)
    positive = journey.chance(RG_POSITIVE_SHARE)
    journey.record(
        "reasonable-grounds.decided",
        decided,
        cast.authority,
        referral_id=referral_id,
        competent_authority=cast.authority,
        outcome="positive" if positive else "negative",
    )
    if positive:
        return decided
    standing = _reconsideration(journey, cast, referral_id, "reasonable_grounds", decided)
    return standing.at if standing and standing.positive else None


def _conclusive_grounds(
    journey: Journey, cast: Cast, referral_id: str, since: datetime
) -> Standing | None:
    if journey.chance(0.05):
        return None  # stuck: no decision while the log runs
    decided = since + journey.long_tail(210, 0.6)
    positive = journey.chance(CG_POSITIVE_SHARE)
    journey.record(
        "conclusive-grounds.decided",
        decided,
        cast.authority,
        referral_id=referral_id,
        competent_authority=cast.authority,
        outcome="positive" if positive else "negative",
        trafficking_status="actual" if positive else "not_a_victim",
    )
    journey.record(
        "recovery-period.ended",
        decided,
        cast.authority,
        referral_id=referral_id,
        reason="conclusive_grounds_decided",
    )
    if positive:
        return Standing(decided, True)
    standing = _reconsideration(journey, cast, referral_id, "conclusive_grounds", decided)
    return standing or Standing(decided, False)


def _reconsideration(
    journey: Journey, cast: Cast, referral_id: str, decision: str, decided: datetime
) -> Standing | None:
    """Maybe someone asks to reconsider a negative decision; if so, where it then stands."""
    if not journey.chance(RECONSIDERATION_SHARE):
        return None
    in_time = journey.chance(0.85)
    requested = decided + (journey.days(2, 30) if in_time else journey.days(31, 60))
    journey.record(
        "reconsideration.requested",
        requested,
        cast.authority,
        referral_id=referral_id,
        decision=decision,
        requested_by=journey.pick(RECONSIDERATION_REQUESTERS),
    )
    reconsidered = requested + journey.days(14, 150)
    overturned = journey.chance(OVERTURNED_SHARE)
    journey.record(
        "reconsideration.decided",
        reconsidered,
        cast.authority,
        referral_id=referral_id,
        decision=decision,
        outcome="overturned" if overturned else "upheld_original",
    )
    return Standing(reconsidered, overturned)


def _recovery(
    journey: Journey, person: Person, cast: Cast, referral_id: str, since: datetime
) -> None:
    """A positive Reasonable Grounds decision stands: recovery period, support, Conclusive."""
    journey.record(
        "recovery-period.started",
        since,
        cast.authority,
        referral_id=referral_id,
        minimum_days=RECOVERY_DAYS[person.nation],
        nation=person.nation,
    )
    conclusion = _conclusive_grounds(journey, cast, referral_id, since)
    _support(journey, person, cast, since, conclusion)


def _withdrawal(journey: Journey, cast: Cast, referral_id: str, at: datetime) -> None:
    """The referral is withdrawn: the journey stops, and what was running ends with it."""
    reason = journey.pick(WITHDRAWAL_REASONS)
    journey.record("referral.withdrawn", at, cast.authority, referral_id=referral_id, reason=reason)
    if journey.has("recovery-period.started") and not journey.has("recovery-period.ended"):
        journey.record(
            "recovery-period.ended", at, cast.authority, referral_id=referral_id, reason="withdrawn"
        )
    support_case = next(
        (e.data["support_case_id"] for e in journey.events if e.type == "uk.nrm.support.accepted"),
        None,
    )
    if support_case is not None and not journey.has("support.ended"):
        ending = "left_uk" if reason == "left_uk" else "other"
        journey.record(
            "support.ended", at, cast.support_provider, support_case_id=support_case, reason=ending
        )


def _detention(journey: Journey, entered: datetime) -> None:
    detention_id = journey.new_id()
    journey.record(
        "immigration-detention.entered",
        entered,
        IMMIGRATION_ENFORCEMENT,
        detention_id=detention_id,
        reason=journey.pick(DETENTION_REASONS),
    )
    if journey.chance(0.85):
        journey.record(
            "immigration-detention.left",
            entered + journey.long_tail(20, 0.9),
            IMMIGRATION_ENFORCEMENT,
            detention_id=detention_id,
            reason=journey.pick(DETENTION_ENDINGS),
        )


# -- support ----------------------------------------------------------------------------------


@dataclass
class SupportCase:
    """One support case; its events stop when support ends (or the log does)."""

    journey: Journey
    id: str
    provider: str
    ends: datetime
    end_reason: str | None = None

    def record(self, kind: str, at: datetime, **data: Any) -> None:
        if at <= self.ends:
            self.journey.record(kind, at, self.provider, support_case_id=self.id, **data)

    def end(self, at: datetime, reason: str) -> None:
        if at < self.ends:
            self.ends, self.end_reason = at, reason


def _support_route(person: Person) -> str:
    if person.is_child:
        return "local_authority_child"
    return {"scotland": "scotland", "northern_ireland": "northern_ireland"}.get(
        person.nation, "msvcc_adult"
    )


def _support(
    journey: Journey, person: Person, cast: Cast, since: datetime, conclusion: Standing | None
) -> None:
    case = SupportCase(journey, journey.new_id(), cast.support_provider, journey.observed_until)
    route = _support_route(person)
    requested = since + journey.hours(1, 48)
    requested_by = AGENCY_TYPE_OF_RESPONDER[
        "local_authority" if person.is_child else cast.responder_type
    ]
    journey.record(
        "support.requested",
        requested,
        cast.first_responder,
        support_case_id=case.id,
        requested_by=requested_by,
        support_route=route,
    )
    offered = requested + journey.hours(4, 72)
    case.record("support.offered", offered, support_route=route)
    if journey.chance(SUPPORT_DECLINED_SHARE):
        reason = journey.pick(SUPPORT_DECLINED_REASONS)
        case.record("support.declined", offered + journey.hours(1, 72), reason=reason)
        return
    accepted = offered + journey.hours(1, 48)
    case.record("support.accepted", accepted)
    first_contact = _first_contact(case, accepted)
    if first_contact is None:
        case.end(accepted + journey.days(14, 60), "disengaged")
    else:
        stay = _accommodation(journey, person)
        # Endings are settled in time order before the events they cut short are recorded.
        _ends_early(case, first_contact, conclusion)
        _missing_episode(case, stay, first_contact, conclusion)
        _after_conclusive_grounds(case, conclusion)
        _stays(case, stay, first_contact)
        _needs_and_legal_help(case, first_contact)
        _contacts(case, first_contact)
    if case.end_reason is not None:
        case.record("support.ended", case.ends, reason=case.end_reason)


def _first_contact(case: SupportCase, accepted: datetime) -> datetime | None:
    """Usually within the 48 hours; sometimes days late; now and then never."""
    journey = case.journey
    roll = journey.rng.random()
    if roll < 0.04:
        return None
    contacted = accepted + (journey.hours(1, 47) if roll < 0.86 else journey.days(2, 21))
    case.record("support.first-contact-made", contacted, contact_mode=journey.pick(CONTACT_MODES))
    return contacted


def _ends_early(case: SupportCase, first_contact: datetime, conclusion: Standing | None) -> None:
    """Now and then support ends before any Conclusive Grounds decision: disengaged, left."""
    journey = case.journey
    if journey.chance(SUPPORT_ENDS_EARLY_SHARE):
        last = conclusion.at if conclusion else journey.observed_until
        ended = journey.between(first_contact, max(last, first_contact))
        case.end(ended, journey.pick(EARLY_SUPPORT_ENDINGS))


def _after_conclusive_grounds(case: SupportCase, conclusion: Standing | None) -> None:
    """Support ends some days after a negative decision, or moves on after a positive one."""
    if conclusion is None or conclusion.at >= case.ends:
        return  # still in support when the log ends, or support ended already
    if conclusion.positive:
        _move_on(case, conclusion.at)
    else:
        case.end(conclusion.at + case.journey.days(9, 14), "conclusive_grounds_negative")


def _move_on(case: SupportCase, confirmed: datetime) -> None:
    """After a positive Conclusive Grounds decision: a planned move on, or a cliff edge."""
    journey = case.journey
    if journey.chance(CLIFF_EDGE_SHARE):
        case.end(confirmed + journey.days(5, 44), journey.pick(CLIFF_EDGE_ENDINGS))
        return
    assessed = confirmed + journey.days(10, 35)
    extension = journey.rng.randint(30, 180) if journey.chance(0.6) else 0
    case.record(
        "recovery-needs-assessment.completed",
        assessed,
        outcome="support_extended" if extension else "support_not_extended",
        extension_days=extension,
    )
    support_days = 45 + extension
    case.record(
        "move-on-plan.agreed",
        assessed + journey.days(0, 10),
        support_days=support_days,
        destination=journey.pick(MOVE_ON_DESTINATIONS),
    )
    case.end(confirmed + timedelta(days=support_days) + journey.days(0, 7), "move_on_completed")


def _accommodation(journey: Journey, person: Person) -> str | None:
    if person.is_child:
        return "local_authority_care" if journey.chance(0.8) else None
    return journey.pick(ADULT_ACCOMMODATION) if journey.chance(0.75) else None


def _missing_episode(
    case: SupportCase, stay: str | None, since: datetime, conclusion: Standing | None
) -> None:
    """Now and then the person goes missing (before any move on); if not found, support ends."""
    journey = case.journey
    if not journey.chance(0.1):
        return
    latest = min(conclusion.at, case.ends) if conclusion else case.ends
    reported = journey.between(since, max(latest, since))
    episode_id = journey.new_id()
    journey.record(
        "missing-episode.reported",
        reported,
        case.provider,
        episode_id=episode_id,
        reported_by=journey.pick(MISSING_REPORTERS),
        from_accommodation_type=stay or "other",
        risk_level=journey.pick(RISK_LEVELS),
    )
    if not journey.chance(0.85):
        case.end(reported + journey.days(14, 28), "missing")
        return
    duration = journey.long_tail(1.5, 1.2)
    journey.record(
        "missing-episode.ended",
        reported + duration,
        case.provider,
        episode_id=episode_id,
        outcome=journey.pick(MISSING_OUTCOMES),
        duration_hours=int(duration.total_seconds() // 3600),
    )


def _stays(case: SupportCase, stay: str | None, moved_in: datetime) -> None:
    """The accommodation the person lives in while in support, with a planned move or two."""
    journey = case.journey
    if stay is None:
        return
    stay_id = journey.new_id()
    case.record("accommodation.entered", moved_in, stay_id=stay_id, accommodation_type=stay)
    if journey.chance(0.25):
        moved = journey.between(moved_in, min(case.ends, moved_in + timedelta(days=365)))
        case.record("accommodation.left", moved, stay_id=stay_id, reason="planned_move")
        stay_id = journey.new_id()
        case.record(
            "accommodation.entered",
            moved,
            stay_id=stay_id,
            accommodation_type=journey.pick(MOVED_TO),
        )
    if case.end_reason is not None:
        reason = STAY_ENDING.get(case.end_reason, "other")
        case.record("accommodation.left", case.ends, stay_id=stay_id, reason=reason)


def _needs_and_legal_help(case: SupportCase, first_contact: datetime) -> None:
    journey = case.journey
    assessed = first_contact + journey.days(2, 14)
    needs = journey.rng.sample(NEED_AREAS, journey.rng.randint(1, 4))
    case.record(
        "needs-assessment.completed", assessed, need_areas=needs, priority=journey.pick(PRIORITIES)
    )
    if not journey.chance(0.85):
        return
    matter = journey.pick(LEGAL_MATTERS)
    requested = assessed + journey.days(0, 10)
    case.record("legal-representation.requested", requested, matter=matter)
    roll = journey.rng.random()
    if roll < 0.2:
        return  # no legal adviser found
    wait = journey.days(3, 30) if roll < 0.75 else journey.days(61, 240)
    case.record(
        "legal-representation.secured",
        requested + wait,
        matter=matter,
        legal_aid=journey.chance(0.85),
    )


def _contacts(case: SupportCase, first_contact: datetime) -> None:
    """Contacts every few days while in support, with the odd gap of weeks."""
    journey = case.journey
    contacted = first_contact
    while True:
        gap = journey.days(14.5, 45) if journey.chance(0.12) else journey.days(3, 14)
        contacted += gap
        if contacted >= case.ends:
            return
        case.record(
            "support.contact-recorded",
            contacted,
            contact_mode=journey.pick(CONTACT_MODES),
            initiated_by=journey.pick(CONTACT_INITIATORS),
        )


# -- criminal justice -------------------------------------------------------------------------


def _criminal_justice(
    journey: Journey, person: Person, cast: Cast, referral_id: str, referred: datetime
) -> None:
    """A referral to the police, and what the police and the CPS make of it."""
    referred_to_police = referred + journey.days(0, 10)
    journey.record(
        "police-referral.made",
        referred_to_police,
        cast.first_responder,
        referral_id=referral_id,
        police_referral_id=journey.new_id(),
        basis="with_consent" if journey.chance(0.8) else "third_party_without_personal_details",
        region=person.region,
    )
    if "criminal" in person.exploitation_types and journey.chance(0.15):
        _section_45_defence(journey, referred + journey.days(0, 120))
    roll = journey.rng.random()
    if roll < 0.15:
        return  # no crime recorded
    delay = journey.days(1, 27) if roll < 0.85 else journey.days(29, 120)
    crime = CriminalCase(journey, journey.new_id(), cast.police)
    crime.record(
        "crime.recorded",
        referred_to_police + delay,
        offence=journey.pick(OFFENCES),
        police_force_region=person.region,
    )
    opened = referred_to_police + delay + journey.days(0, 14)
    crime.record("investigation.opened", opened)
    last_heard, withdrew = _victim_engagement(crime, opened)
    closed = max(opened + journey.long_tail(200, 0.6), last_heard + journey.days(1, 30))
    outcome = (
        "no_further_action_victim_withdrew" if withdrew else journey.pick(INVESTIGATION_OUTCOMES)
    )
    crime.record("investigation.closed", closed, outcome=outcome)
    if outcome == "referred_to_cps":
        _prosecution(crime, closed)


@dataclass(frozen=True)
class CriminalCase:
    """One criminal case in which the person is the victim, recorded by the police or CPS."""

    journey: Journey
    id: str
    police: str

    def record(self, kind: str, at: datetime, by: str | None = None, **data: Any) -> None:
        self.journey.record(kind, at, by or self.police, case_id=self.id, **data)


def _victim_engagement(crime: CriminalCase, opened: datetime) -> tuple[datetime, bool]:
    """Contact with the victim, their statement, and whether they withdrew for good:
    (when last heard of, withdrew)."""
    journey = crime.journey
    roll = journey.rng.random()
    if roll < 0.1:
        return opened, False  # never contacted
    contacted = opened + (journey.days(0, 27) if roll < 0.75 else journey.days(29, 120))
    crime.record(
        "victim-contact.made",
        contacted,
        contact_mode=journey.pick(CONTACT_MODES),
        initiated_by=journey.rng.choice(("police", "police", "police", "victim", "intermediary")),
    )
    last_heard = contacted
    if journey.chance(0.75):
        last_heard = contacted + journey.days(1, 30)
        statement = (
            "achieving_best_evidence_interview" if journey.chance(0.4) else "witness_statement"
        )
        crime.record("statement.given", last_heard, statement_type=statement)
    if not journey.chance(0.2):
        return last_heard, False
    last_heard += journey.days(10, 250)
    reason = journey.pick(ENGAGEMENT_REASONS)
    crime.record("victim-engagement.changed", last_heard, status="withdrew", reason=reason)
    if not journey.chance(0.3):
        return last_heard, True
    last_heard += journey.days(14, 180)
    crime.record("victim-engagement.changed", last_heard, status="re_engaged", reason="other")
    return last_heard, False


def _prosecution(crime: CriminalCase, referred_to_cps: datetime) -> None:
    journey = crime.journey
    decided = referred_to_cps + journey.days(14, 200)
    decision = journey.pick(CHARGE_DECISIONS)
    charged = decision == "charged"
    offences = journey.rng.randint(1, 6) if charged else 0
    crime.record("charge.decided", decided, CPS, decision=decision, offences_charged=offences)
    if not charged:
        return
    outcome = journey.pick(TRIAL_OUTCOMES)
    crime.record(
        "trial.concluded",
        decided + journey.days(150, 700),
        CPS,
        outcome=outcome,
        modern_slavery_conviction=outcome == "convicted" and journey.chance(0.6),
    )


def _section_45_defence(journey: Journey, raised: datetime) -> None:
    """The person is themselves suspected of an offence they were compelled to commit."""
    journey.record(
        "section-45-defence.raised",
        raised,
        CPS,
        case_id=journey.new_id(),
        person_role="defendant" if journey.chance(0.6) else "suspect",
        offence_category=journey.pick(SECTION_45_OFFENCES),
        schedule_4_excluded=journey.chance(0.05),
    )
