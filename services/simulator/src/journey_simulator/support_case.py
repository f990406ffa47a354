"""One support case being planned: its records, and what happens while it lasts (regular
contacts, and missing episodes)."""

from __future__ import annotations

from datetime import datetime

from journey_simulator.people import Person
from journey_simulator.plan import Action
from journey_simulator.timeline import DAY, HOUR, Journey
from journey_simulator.vocabulary import (
    CONTACT_INITIATORS,
    CONTACT_MODES,
    MISSING_OUTCOMES,
    RISK_LEVELS,
)

CASE = "/v1/support-cases/{case}"


class Case:
    """One support case being planned."""

    def __init__(self, j: Journey, provider: str) -> None:
        self.j, self.provider = j, provider

    def add(
        self,
        at: datetime,
        suffix: str,
        body: dict[str, object],
        event: str,
        *,
        recorded: datetime | None = None,
        captures: tuple[tuple[str, str], ...] = (),
    ) -> Action | None:
        return self.j.add(
            at,
            "support",
            self.provider,
            f"{CASE}/{suffix}",
            dict(body),
            f"uk.nrm.{event}",
            recorded=recorded,
            captures=captures,
        )


def contacts(j: Journey, case: Case, first: Action, ending: Action | None) -> None:
    """Contacts every 8-12 days from the first contact until support ends, now and then a
    20-40 day gap; each contact (and the first) starts the 14-day no-contact rule."""
    low, high = j.cal.assumption("contact_interval_days")
    gap_share = j.cal.assumption("contact_gap_share")
    stop = j.end if ending is None else ending.occurred
    previous: Action = first
    moment = first.occurred
    while True:
        gap = j.chance(gap_share)
        if gap and 12 * DAY <= stop - moment <= 16 * DAY:
            # A gap across the end of support (or of the window) would put the 14-day
            # deadline within two days of it: no gap here, so the truth keeps its margin.
            gap = False
        moment += j.days(20, 40) if gap else j.days(low, high)
        if moment >= stop - DAY:
            break
        contact = case.add(
            moment,
            "contacts",
            {
                "contact_mode": j.pick(CONTACT_MODES),
                "initiated_by": j.pick(CONTACT_INITIATORS),
            },
            "support.contact-recorded",
        )
        if contact is None:
            break
        _answered(j, previous, contact.occurred, contact.at)
        previous = contact
    if ending is not None:
        _answered(j, previous, ending.occurred, ending.at)  # support ending calls it off
    else:
        _answered(j, previous, None, None)


def _answered(j: Journey, start: Action, when: datetime | None, recorded: datetime | None) -> None:
    due = start.occurred + 14 * DAY
    if due > j.end:
        return
    if when is not None and recorded is not None and when <= due and recorded <= due:
        return
    j.inject("no-support-contact")


def missing_episodes(
    j: Journey, person: Person, case: Case, since: datetime, until: datetime, accommodation: str
) -> None:
    cal = j.cal
    if person.is_child:
        if not j.chance(cal.figure("children_in_care_missing_share")):
            return
        low, high = cal.assumption("missing_child_episodes")
        count = j.rng.randint(low, high)
    elif j.chance(cal.assumption("missing_adults_share")):
        count = 1
    else:
        return
    if until - since < 3 * DAY:
        return
    for index in range(count):
        went = since + DAY + (until - since - 2 * DAY) * j.rng.random()
        went = went.replace(microsecond=0)
        name = f"episode{index}"
        reported = case.add(
            went,
            "missing-episodes",
            {
                "from_accommodation_type": accommodation,
                "risk_level": j.pick(RISK_LEVELS),
            },
            "missing-episode.reported",
            captures=((name, "attributes.episode_id"),),
        )
        if reported is None:
            continue
        j.inject("missing-episode")
        hours = j.rng.randint(6, 120)
        back = went + hours * HOUR
        case.add(  # often written up a day or more after the person returned
            back,
            "missing-episode-ends",
            {
                "episode_id": f"$ref:{name}",
                "outcome": j.pick(MISSING_OUTCOMES),
                "duration_hours": hours,
            },
            "missing-episode.ended",
            recorded=back + j.days(0.5, 3),
        )
