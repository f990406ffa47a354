"""The batch oracle: the drop-off rules evaluated over a journey's complete event log.

Declarative, and deliberately not a replay of the stream processor's step function: for
each rule it finds the events that start it and looks for the awaited (or clearing) event
in its window, so the two can disagree when one of them is wrong.

Time model (services/journey-processor/README.md): the result depends only on the set of
events (de-duplicated by id) and the latest clock tick, never on arrival order. The
journey's "now" is the later of that tick and the latest `recorded_time` in the log: an
agency recording an event at T proves time has reached T. An expectation falls due at
`start.time + within`; what counts as known by then is judged by each event's
`recorded_time`, so a backdated event recorded after the deadline gives "raised, then
resolved: met in time, recorded late".

Ties: events at the same `time` are ordered by `recorded_time`, then by event id (the
latest decision before an event is the last in that order); a `none_since` event at the
same time as a `seen_within_before` match counts as since it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from journey_platform.calendar import nation_of
from journey_processor.core.events import JourneyEvent
from journey_processor.core.rules.catalogue import Conditions, Match, Rule


@dataclass(frozen=True)
class Flag:
    rule_id: str
    started_by: str  # the event id that started (or raised) it
    due_at: datetime
    resolved_at: datetime | None
    resolution: str | None  # None while open

    @property
    def open(self) -> bool:
        return self.resolution is None


def _any(event: JourneyEvent, matches: Iterable[Match]) -> bool:
    return any(event.matches(m) for m in matches)


def nation(events: Sequence[JourneyEvent]) -> str:
    """The nation whose bank holidays apply: where the person was referred or reported."""
    for event in sorted(events, key=lambda e: (e.time, e.id)):
        if event.type in ("uk.nrm.referral.submitted", "uk.nrm.duty-to-notify.reported"):
            return nation_of(event.data.get("region"))
    return nation_of(None)


def evaluate(rules: Iterable[Rule], log: Iterable[JourneyEvent], now: datetime) -> list[Flag]:
    """Every flag the rules give for one journey's log, as of the clock tick `now` (or the
    latest recorded_time in the log, if later)."""
    events = sorted({e.id: e for e in log}.values(), key=lambda e: (e.time, e.recorded_time, e.id))
    now = max([now, *(e.recorded_time for e in events)])
    flags: list[Flag] = []
    for rule in rules:
        if rule.kind == "expectation":
            flags.extend(_expectation(rule, events, now, nation(events)))
        else:
            flags.extend(_immediate(rule, events, now))
    return sorted(flags, key=lambda f: (f.rule_id, f.due_at, f.started_by))


def _expectation(rule: Rule, events: list[JourneyEvent], now: datetime, at: str) -> list[Flag]:
    assert rule.after is not None and rule.within is not None
    flags = []
    for start in (e for e in events if e.matches(rule.after)):
        due = rule.within.due(start.time, at)
        if now < due:
            continue  # not due yet
        later = [e for e in events if e.id != start.id and e.time >= start.time]
        awaited = [e for e in later if _any(e, rule.expect)]
        cancelling = [e for e in later if _any(e, rule.unless)]
        if any(e.time <= due and e.recorded_time <= due for e in awaited + cancelling):
            continue  # met, or called off, and known by the deadline
        answers = [(e.recorded_time, e.id, _why(e, due)) for e in awaited]
        answers += [(e.recorded_time, e.id, "cancelled") for e in cancelling]
        answers = [a for a in answers if a[0] <= now]
        if answers:
            recorded, _, why = min(answers)
            flags.append(Flag(rule.id, start.id, due, max(recorded, due), why))
        else:
            flags.append(Flag(rule.id, start.id, due, None, None))
    return flags


def _why(event: JourneyEvent, due: datetime) -> str:
    return "met_in_time_recorded_late" if event.time <= due else "arrived_late"


def _immediate(rule: Rule, events: list[JourneyEvent], now: datetime) -> list[Flag]:
    assert rule.raised_by is not None
    flags = []
    for trigger in (e for e in events if e.matches(rule.raised_by)):
        if trigger.time > now or not _holds(rule.when, trigger, events):
            continue
        clearing = [
            e
            for e in events
            if rule.cleared_by is not None
            and e.matches(rule.cleared_by)
            and e.time >= trigger.time
            and e.time <= now
            and e.id != trigger.id
            and all(e.data.get(f) == trigger.data.get(f) for f in rule.correlate)
        ]
        if clearing:
            first = min(clearing, key=lambda e: (e.time, e.id))
            flags.append(Flag(rule.id, trigger.id, trigger.time, first.time, "cleared"))
        else:
            flags.append(Flag(rule.id, trigger.id, trigger.time, None, None))
    return flags


def _holds(when: Conditions, trigger: JourneyEvent, events: list[JourneyEvent]) -> bool:
    before = [e for e in events if e.id != trigger.id and e.time <= trigger.time]
    if not all(any(e.matches(m) for e in before) for m in when.seen_before):
        return False
    if any(_any(e, when.not_seen_before) for e in before):
        return False
    if when.seen_within_before is not None and when.seen_within is not None:
        window = trigger.time - timedelta(days=when.seen_within.days, hours=when.seen_within.hours)
        recent = [e for e in before if e.matches(when.seen_within_before) and e.time >= window]
        if not any(
            not any(_any(x, when.none_since) and x.time >= start.time for x in before)
            for start in recent
        ):
            return False
    if when.latest_among and when.latest_not_where is not None:
        decisions = [e for e in before if _any(e, when.latest_among)]
        if decisions:
            latest = decisions[-1]
            if all(latest.data.get(k) == v for k, v in when.latest_not_where.items()):
                return False
    return True
