"""One journey's state in the stream processor, and the step function that advances it.

Incremental, unlike the oracle. A rule *instance* is a rule plus the event that started
it; each keeps a small fold of what it has seen (the earliest answer, the latest
decision before it, ...). An arriving event is folded into the instances of the rules it
concerns; an instance created late (its starting event was backdated, or arrived after
events on another topic) is first folded over the events already held. Folds are
min/max/or, so the state is the same whatever order the events came in.

What is *published* is the difference between what the instances say now and what was
published before: a flag raised, resolved, re-resolved with a better answer, or
retracted when evidence recorded in time (or a condition) arrived after the flag was
raised. Published event ids are derived from the journey, rule, starting event and a
sequence number, so a re-run publishes the same ids and consumers can de-duplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from journey.oracle import JourneyEvent
from journey.outcomes import OUTCOME_EVENT_TYPES, Happened, summarise
from journey.rulebook import RuleBook
from journey.rules.calendar import nation_of
from journey.rules.catalogue import Match, Rule

NAMESPACE = uuid.UUID("6f1c1a52-8d0e-4a51-9d57-5bd2a43c7a10")
NATION_EVENTS = ("uk.nrm.referral.submitted", "uk.nrm.duty-to-notify.reported")
RETRACTED = "retracted"
NEVER = float("inf")

# Held event: [type, time, recorded, data]; times are seconds since the epoch (UTC).
Held = list[Any]


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _matches(match: Match, held: Held) -> bool:
    return held[0] in match.event_types and all(held[3].get(k) == v for k, v in match.where.items())


def _any(matches: Iterable[Match], held: Held) -> bool:
    return any(_matches(m, held) for m in matches)


@dataclass(frozen=True)
class Verdict:
    """What one rule instance says as of now: a flag open or resolved (None: no flag)."""

    due: float
    resolved_at: float | None
    resolution: str | None
    resolved_by: str | None


@dataclass(frozen=True)
class Dropoff:
    """A flag raised or resolved: the body and envelope of a journey.dropoffs event."""

    event_id: str
    kind: str  # "raised" or "resolved"
    flag_id: str
    rule: Rule
    started_by: str
    due_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    resolved_by: str | None = None
    sequence: int = 0  # this flag's events counted from 0: the highest is its state

    @property
    def time(self) -> datetime:
        return self.resolved_at if self.resolved_at is not None else self.due_at


@dataclass
class Changes:
    dropoffs: list[Dropoff] = field(default_factory=list)
    outcome: dict[str, Any] | None = None  # set when the outcome record changed
    outcome_id: str | None = None
    duplicate: bool = False


# An expectation instance: [start_id, start_time, due, in_time, answer]
#   answer: [recorded, event_id, why] (earliest recorded), or None
# An immediate instance: [trigger_id, trigger_time, keys, seen, blocked, latest, recent,
#   since, clear]
#   seen: which seen_before matchers have matched; blocked: a not_seen_before matched;
#   latest: [time, recorded, id, excluded] of the latest decision before the trigger;
#   recent / since: latest time of a seen_within_before match in the window / of a
#   none_since match; clear: [time, id] of the earliest clearing event.
Instance = list[Any]


class JourneyState:
    def __init__(self, journey_id: str) -> None:
        self.journey_id = journey_id
        # Every event id seen (for de-duplication); the event itself only where a rule or
        # the outcome reads its type, so that the state stays small.
        self.events: dict[str, Held | None] = {}
        self.now = float("-inf")
        self.nation: str | None = None
        self.instances: dict[str, dict[str, Instance]] = {}  # rule id -> start id -> instance
        self.published: dict[str, list[Any]] = {}  # key -> [due, resolved_at, why, by, seq]
        self.outcome: dict[str, Any] | None = None
        self.outcome_seq = 0
        self.partition: int | None = None  # the journey topics' partition it lives on

    # -- persistence -------------------------------------------------------------------

    def dumps(self) -> bytes:
        return orjson.dumps(
            [
                self.journey_id,
                self.events,
                self.now if self.now != float("-inf") else None,
                self.nation,
                self.instances,
                self.published,
                self.outcome,
                self.outcome_seq,
                self.partition,
            ]
        )

    @classmethod
    def loads(cls, raw: bytes) -> JourneyState:
        journey_id, events, now, nation, instances, published, outcome, seq, partition = (
            orjson.loads(raw)
        )
        state = cls(journey_id)
        state.events, state.nation, state.instances = events, nation, instances
        state.now = float("-inf") if now is None else now
        state.published, state.outcome, state.outcome_seq = published, outcome, seq
        state.partition = partition
        return state

    # -- the step function -------------------------------------------------------------

    def apply(self, event: JourneyEvent, book: RuleBook) -> Changes:
        """Fold one event in; a duplicate (same id) changes nothing."""
        if event.id in self.events:
            return Changes(duplicate=True)
        if event.type not in book.held_types:
            self.events[event.id] = None
            return self._publish(book, outcome_may_change=False)
        data = {k: v for k, v in event.data.items() if k in book.kept_fields}
        held: Held = [event.type, _ts(event.time), _ts(event.recorded_time), data]
        self.events[event.id] = held
        if event.type in NATION_EVENTS and self._nation() != self.nation:
            self.nation = self._nation()
            self._restart_expectations(book)  # working-day deadlines move with the nation
        for rule in book.concerned_by(event.type):
            for start_id, instance in self.instances.get(rule.id, {}).items():
                if start_id != event.id:
                    self._fold(rule, instance, event.id, held)
            starts = rule.after if rule.kind == "expectation" else rule.raised_by
            if starts is not None and _matches(starts, held):
                self._start(rule, event.id, held)
        return self._publish(book, event.type in OUTCOME_EVENT_TYPES)

    def tick(self, now: datetime, book: RuleBook) -> Changes:
        """Move the journey's clock on; it never goes back."""
        self.now = max(self.now, _ts(now))
        return self._publish(book, outcome_may_change=False)

    def next_wakeup(self, book: RuleBook) -> float:
        """The earliest clock time at which a tick alone could change a verdict."""
        times = []
        for rule_id, instance in self._each_instance():
            if book.by_id[rule_id].kind == "expectation":
                _, _, due, in_time, answer = instance
                times += [] if in_time else [due, answer[0] if answer else NEVER]
            else:
                times += [instance[1], instance[8][0] if instance[8] else NEVER]
        later = [t for t in times if t > self.now]
        return min(later, default=NEVER)

    # -- rule instances ----------------------------------------------------------------

    def _held(self) -> Iterable[tuple[str, Held]]:
        return ((i, h) for i, h in self.events.items() if h is not None)

    def _each_instance(self) -> Iterable[tuple[str, Instance]]:
        for rule_id, by_start in self.instances.items():
            for instance in by_start.values():
                yield rule_id, instance

    def _nation(self) -> str:
        starts = [(h[1], i, h) for i, h in self._held() if h[0] in NATION_EVENTS]
        return nation_of(min(starts)[2][3].get("region") if starts else None)

    def _restart_expectations(self, book: RuleBook) -> None:
        for rule in book.rules:
            if rule.kind != "expectation" or rule.after is None:
                continue
            self.instances.pop(rule.id, None)
            for start_id, held in list(self._held()):
                if _matches(rule.after, held):
                    self._start(rule, start_id, held)

    def _start(self, rule: Rule, start_id: str, held: Held) -> None:
        if rule.kind == "expectation":
            assert rule.within is not None
            due = _ts(rule.within.due(_dt(held[1]), self.nation or nation_of(None)))
            instance: Instance = [start_id, held[1], due, False, None]
        else:
            keys = {f: held[3].get(f) for f in rule.correlate}
            seen = [False] * len(rule.when.seen_before)
            instance = [start_id, held[1], keys, seen, False, None, None, None, None]
        self.instances.setdefault(rule.id, {})[start_id] = instance
        for other_id, other in self._held():
            if other_id != start_id:
                self._fold(rule, instance, other_id, other)

    def _fold(self, rule: Rule, instance: Instance, event_id: str, held: Held) -> None:
        if rule.kind == "expectation":
            self._fold_expectation(rule, instance, event_id, held)
        else:
            self._fold_immediate(rule, instance, event_id, held)

    @staticmethod
    def _fold_expectation(rule: Rule, instance: Instance, event_id: str, held: Held) -> None:
        _, start_time, due, _, answer = instance
        _, time, recorded, _ = held
        if time < start_time:
            return
        answers = []
        if _any(rule.expect, held):
            answers.append("met_in_time_recorded_late" if time <= due else "arrived_late")
        if _any(rule.unless, held):
            answers.append("cancelled")
        if not answers:
            return
        if time <= due and recorded <= due:
            instance[3] = True  # met or called off, and known by the deadline
        for why in answers:
            candidate = [recorded, event_id, why]
            if answer is None or candidate < answer:
                instance[4] = answer = candidate

    @staticmethod
    def _fold_immediate(rule: Rule, instance: Instance, event_id: str, held: Held) -> None:
        trigger_time, keys = instance[1], instance[2]
        _, time, recorded, data = held
        clearing = rule.cleared_by
        if (
            clearing is not None
            and time >= trigger_time
            and _matches(clearing, held)
            and all(data.get(f) == v for f, v in keys.items())
        ):
            candidate = [time, event_id]
            if instance[8] is None or candidate < instance[8]:
                instance[8] = candidate
        if time > trigger_time:
            return
        when = rule.when
        for i, match in enumerate(when.seen_before):
            instance[3][i] = instance[3][i] or _matches(match, held)
        instance[4] = instance[4] or _any(when.not_seen_before, held)
        if when.latest_among and _any(when.latest_among, held):
            excluded = all(data.get(k) == v for k, v in (when.latest_not_where or {}).items())
            candidate = [time, recorded, event_id, excluded]
            if instance[5] is None or candidate[:3] > instance[5][:3]:
                instance[5] = candidate
        window = when.seen_within
        if when.seen_within_before is not None and window is not None:
            opens = trigger_time - timedelta(days=window.days, hours=window.hours).total_seconds()
            if time >= opens and _matches(when.seen_within_before, held):
                instance[6] = max(instance[6] if instance[6] is not None else time, time)
        if _any(when.none_since, held):
            instance[7] = max(instance[7] if instance[7] is not None else time, time)

    def _verdict(self, rule: Rule, instance: Instance) -> Verdict | None:
        now = self.now
        if rule.kind == "expectation":
            _, _, due, in_time, answer = instance
            if in_time or now < due:
                return None
            if answer is not None and answer[0] <= now:
                return Verdict(due, max(answer[0], due), answer[2], answer[1])
            return Verdict(due, None, None, None)
        trigger_time, seen, blocked, latest, recent, since, clear = (
            instance[1],
            *instance[3:],
        )
        holds = all(seen) and not blocked and not (latest is not None and latest[3])
        if rule.when.seen_within_before is not None:
            holds = holds and recent is not None and (since is None or recent > since)
        if trigger_time > now or not holds:
            return None
        if clear is not None and clear[0] <= now:
            return Verdict(trigger_time, clear[0], "cleared", clear[1])
        return Verdict(trigger_time, None, None, None)

    # -- publishing --------------------------------------------------------------------

    def _event_id(self, *parts: object) -> str:
        return str(uuid.uuid5(NAMESPACE, "|".join([self.journey_id, *map(str, parts)])))

    def _publish(self, book: RuleBook, outcome_may_change: bool) -> Changes:
        changes = Changes()
        settled = []
        for rule_id, by_start in self.instances.items():
            rule = book.by_id[rule_id]
            for start_id, instance in by_start.items():
                key = f"{rule_id}|{start_id}"
                verdict = self._verdict(rule, instance)
                before = self.published.get(key)
                if before is None and verdict is None:
                    if rule.kind == "expectation" and instance[3]:
                        settled.append((rule_id, start_id))
                    continue
                changes.dropoffs += self._transitions(rule, key, start_id, before, verdict)
        for rule_id, start_id in settled:
            # Met in time and known by the deadline: nothing can undo that (folds only
            # add evidence), so the instance is dropped to keep the state small.
            del self.instances[rule_id][start_id]
        if not (changes.dropoffs or outcome_may_change or self.outcome is None):
            return changes  # the outcome record reads only milestones and flags
        if not any(True for _ in self._held()):
            return changes  # nothing an outcome reads has happened yet
        open_flags = [key.split("|", 1)[0] for key, p in self.published.items() if p[2] is None]
        happened = [Happened(i, h[0], _dt(h[1]), h[3]) for i, h in self._held()]
        outcome = summarise(happened, open_flags)
        outcome["flags_raised"] = sum(1 for p in self.published.values() if p[2] != RETRACTED)
        if outcome != self.outcome:
            self.outcome, self.outcome_seq = outcome, self.outcome_seq + 1
            changes.outcome = outcome
            changes.outcome_id = self._event_id("outcome", self.outcome_seq)
        return changes

    def _transitions(
        self, rule: Rule, key: str, started_by: str, before: list[Any] | None, now: Verdict | None
    ) -> list[Dropoff]:
        out: list[Dropoff] = []

        def emit(due: float, at: float | None, why: str | None, by: str | None) -> None:
            seq = self.published[key][4] + 1 if key in self.published else 0
            self.published[key] = [due, at, why, by, seq]
            out.append(self._dropoff(rule, started_by, [due, at, why, by, seq]))

        was_open = before is not None and before[2] is None
        was_flag = before is not None and before[2] != RETRACTED
        moved = now is not None and before is not None and before[0] != now.due
        if was_flag and (now is None or moved):
            # Evidence known in time, or a condition, arrived after the flag was raised;
            # or the deadline moved (the journey's nation became known).
            assert before is not None
            emit(before[0], max(self.now, before[0]), RETRACTED, None)
            was_flag = was_open = False
        if now is None:
            return out
        if not was_flag:
            emit(now.due, None, None, None)
            was_open = True
        if now.resolution is not None:
            current = self.published[key]
            if was_open or current[1:4] != [now.resolved_at, now.resolution, now.resolved_by]:
                emit(now.due, now.resolved_at, now.resolution, now.resolved_by)
        return out

    # -- reading back ------------------------------------------------------------------

    def latest(self, book: RuleBook) -> Changes:
        """The last published event of every flag and the current outcome, with the ids
        they were first published with: for republishing after a crash may have lost them.
        """
        changes = Changes(outcome=self.outcome)
        if self.outcome is not None:
            changes.outcome_id = self._event_id("outcome", self.outcome_seq)
        for key, published in self.published.items():
            rule_id, started_by = key.split("|", 1)
            changes.dropoffs.append(self._dropoff(book.by_id[rule_id], started_by, published))
        return changes

    def _dropoff(self, rule: Rule, started_by: str, published: list[Any]) -> Dropoff:
        due, at, why, by, seq = published
        return Dropoff(
            event_id=self._event_id(rule.id, started_by, seq),
            kind="raised" if why is None else "resolved",
            flag_id=self._event_id("flag", rule.id, started_by),
            rule=rule,
            started_by=started_by,
            due_at=_dt(due),
            resolved_at=None if at is None else _dt(at),
            resolution=why,
            resolved_by=by,
            sequence=seq,
        )

    def flags(self) -> list[tuple[str, str, datetime, datetime | None, str | None]]:
        """Published flags not retracted: (rule, started_by, due, resolved_at, resolution)."""
        found = []
        for key, (due, at, why, _, _) in self.published.items():
            if why != RETRACTED:
                rule_id, started_by = key.split("|", 1)
                found.append((rule_id, started_by, _dt(due), _dt(at) if at else None, why))
        return sorted(found)
