"""One referral within a journey: its submission, the Reasonable Grounds (RG) and
Conclusive Grounds (CG) decisions, and reconsideration of a negative one."""

from __future__ import annotations

from datetime import datetime

from journey_platform.calendar import add_working_days, nation_of
from journey_simulator.people import Person
from journey_simulator.plan import Action
from journey_simulator.timeline import DAY, Journey


class Referral:
    """One referral's names and parties within a journey."""

    def __init__(self, journey: Journey, person: Person, ref: str, responder: str) -> None:
        self.journey, self.person, self.ref, self.responder = journey, person, ref, responder
        self.authority = person.competent_authority  # agency id = code
        self.nation = nation_of(person.region)

    def path(self, suffix: str) -> str:
        return f"/v1/referrals/{{{self.ref}}}/{suffix}"

    def submit(self, at: datetime) -> Action | None:
        captures = (("journey", "journey_id"), (self.ref, "resource_id"))
        return self.journey.add(
            at,
            "referral",
            self.responder,
            "/v1/referrals",
            self.person.referral_body(),
            "uk.nrm.referral.submitted",
            recorded=at + self.journey.hours(0.1, 2),
            captures=captures,
        )

    def decide(
        self, kind: str, at: datetime, positive: bool, recorded: datetime | None = None
    ) -> Action | None:
        path = "reasonable-grounds-decisions" if kind == "rg" else "conclusive-grounds-decisions"
        event = "reasonable-grounds" if kind == "rg" else "conclusive-grounds"
        return self.journey.add(
            at,
            "referral",
            self.authority,
            self.path(path),
            {"outcome": "positive" if positive else "negative"},
            f"uk.nrm.{event}.decided",
            recorded=recorded,
        )

    def reasonable_grounds(self, submitted: Action, *, may_be_late: bool) -> Action | None:
        """The RG decision: in time (within 4 days), late (15+ working days), or taken in
        time but recorded after the deadline."""
        j, referred = self.journey, submitted.occurred
        due = add_working_days(referred, 5, self.nation)
        late_share = j.cal.assumption("rg_late_share")[self.authority]
        recorded_late_share = j.cal.assumption("rg_recorded_late_share")
        roll = j.rng.random() if may_be_late else 1.0
        recorded = None
        if roll < recorded_late_share:
            decided = referred + j.days(0.5, 3)
            recorded = add_working_days(referred, j.rng.randint(10, 12), self.nation)
            recorded += j.hours(0, 4)
        elif roll < recorded_late_share + late_share:
            decided = add_working_days(referred, j.rng.randint(15, 40), self.nation)
            decided += j.hours(0, 6)
        else:
            decided = referred + j.days(0.2, 4)
        positive = j.chance(j.cal.rg_positive_share)
        decision = self.decide("rg", decided, positive, recorded)
        j.expect("reasonable-grounds-overdue", submitted, due, decision)
        return decision

    def negative(self, kind: str, decision: Action) -> Action | None:
        """A negative decision: reconsideration asked within 30 days, or not (a drop-off).
        Returns the new, positive decision if a reconsideration overturns it."""
        j = self.journey
        name = "reasonable_grounds" if kind == "rg" else "conclusive_grounds"
        due = decision.occurred + 30 * DAY
        if not j.chance(j.cal.assumption("reconsideration_requested_share")):
            j.expect("negative-decision-not-reconsidered", decision, due, None)
            return None
        asked = max(decision.occurred + j.days(3, 25), decision.at + j.hours(2, 24))
        request = j.add(
            asked,
            "referral",
            self.responder,
            self.path("reconsideration-requests"),
            {"decision": name},
            "uk.nrm.reconsideration.requested",
        )
        j.expect("negative-decision-not-reconsidered", decision, due, request)
        if request is None:
            return None
        overturned = j.chance(j.cal.figure("reconsideration_success_share"))
        decided = asked + j.days(14, 60)
        answer = j.add(
            decided,
            "referral",
            self.authority,
            self.path("reconsideration-decisions"),
            {"decision": name, "outcome": "overturned" if overturned else "upheld_original"},
            "uk.nrm.reconsideration.decided",
        )
        if answer is None or not overturned:
            return None
        return self.decide(kind, answer.at + j.days(0.5, 5), True)
