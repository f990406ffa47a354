"""One journey's state in the stream processor, and the step function that advances it.

Incremental, unlike the oracle. A rule *instance* is a rule plus the event that started
it; each keeps a small fold of what it has seen (core/instances.py). An arriving event is
folded into the instances of the rules it concerns; an instance created late (its
starting event was backdated, or arrived after events on another topic) is first folded
over the events already held of the types it reads. Folds are min/max/or, so the state
is the same whatever order the events came in. The outcome is a fold too
(core/outcome_fold.py), so the journey holds an event only if a rule instance started
later may read it, and only the fields such a rule reads.

Time: the journey's "now" is the later of its partition's latest clock tick and the
latest `recorded_time` among its own events (an agency recording an event at T proves
time has reached T), so an immediate flag need not wait for the next tick. Each instance
knows when the clock alone could next change its verdict; an event re-checks the
instances it was folded into, and the clock only the instances due by then.

What is *published* is the difference between what the instances say now and what was
published before: a flag raised, resolved, re-resolved with a better answer, or
retracted when evidence recorded in time (or a condition) arrived after the flag was
raised. Published event ids are derived from the journey, rule, starting event and a
sequence number, so a re-run publishes the same ids and consumers can de-duplicate.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from journey_platform.calendar import nation_of
from journey_processor.core import codec
from journey_processor.core.events import JourneyEvent
from journey_processor.core.held import Held, held_in, held_out, long_type, short_type
from journey_processor.core.instances import NEVER, Expectation, Instance, Trigger, matches
from journey_processor.core.outcome_fold import OutcomeFold
from journey_processor.core.outcomes import OUTCOME_EVENT_TYPES
from journey_processor.core.publishing import RETRACTED, Changes, Dropoff, Publisher
from journey_processor.core.rulebook import RuleBook
from journey_processor.core.rules.catalogue import Rule

__all__ = ["NEVER", "RETRACTED", "Changes", "Dropoff", "JourneyState"]

NATION_EVENTS = ("uk.nrm.referral.submitted", "uk.nrm.duty-to-notify.reported")
NO_TIME = float("-inf")

_time_of = itemgetter(0)


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class JourneyState(Publisher):
    def __init__(self, journey_id: str) -> None:
        super().__init__(journey_id)
        self.now = NO_TIME
        self.partition: int | None = None  # the journey topics' partition it lives on
        self.seen = codec.Ids()  # every event id seen, for de-duplication
        self.held: dict[str, list[Held]] = {}  # by event type
        self.nation_source: tuple[float, str, str | None] | None = None  # (time, id, region)
        self.progress = OutcomeFold()
        self.latest_time = NO_TIME  # of the events a rule or the outcome reads
        self.instances: dict[str, dict[str, Instance]] = {}  # rule id -> start id -> instance
        self._wake = NEVER  # the earliest time the clock alone could change a verdict
        self._dirty = False  # some instance was folded into since the last check
        # Times are stored as seconds from a base fixed at the first encoding (and kept
        # across reloads), so that each type's held events, encoded once, stay valid
        # until an event of that type comes: a state is encoded every time it changes.
        self._base: int | None = None
        self._held_encoded: dict[str, list[Any]] = {}  # by event type

    @property
    def nation(self) -> str | None:
        return None if self.nation_source is None else nation_of(self.nation_source[2])

    # -- the step function -------------------------------------------------------------

    def apply(self, event: JourneyEvent, book: RuleBook) -> Changes:
        """Fold one event in; a duplicate (same id) changes nothing."""
        event_id, event_type = event.id, event.type
        if event_id in self.seen:
            return Changes(duplicate=True)
        self.seen.add(event_id)
        recorded = event.recorded_time.timestamp()
        self.now = max(self.now, recorded)  # recording it proves time has reached it
        if event_type not in book.held_types:
            return self._publish(book, outcome_may_change=False)
        self.remember_outcome()
        time, data = event.time.timestamp(), event.data
        self.described = True
        self.latest_time = max(self.latest_time, time)
        kept = book.held_fields.get(event_type)
        if kept is not None:
            fields = {f: data[f] for f in kept if f in data}
            held = self.held.setdefault(event_type, [])
            insort(held, (time, recorded, event_id, fields), key=_time_of)
            self._held_encoded.pop(event_type, None)
        changed = event_type in OUTCOME_EVENT_TYPES and self.progress.fold(
            event_type, time, event_id, data
        )
        if event_type in NATION_EVENTS:
            self._locate(book, time, event_id, data.get("region"))
        for rule in book.concerned_by(event_type):
            window = book.windows[rule.id]
            for start_id, instance in self.instances.get(rule.id, {}).items():
                if start_id != event_id:
                    instance.fold(rule, event_id, event_type, time, recorded, data, window)
                    self._dirty = self._dirty or instance.dirty
            starts = rule.after if rule.kind == "expectation" else rule.raised_by
            if starts is not None and matches(starts, event_type, data):
                self._start(book, rule, event_id, time, data)
        return self._publish(book, changed)

    def tick(self, now: datetime, book: RuleBook) -> Changes:
        """Move the journey's clock on; it never goes back."""
        self.now = max(self.now, now.timestamp())
        return self._publish(book, outcome_may_change=False)

    def next_wakeup(self, book: RuleBook) -> float:
        """The earliest clock time at which a tick alone could change a verdict."""
        return self._wake

    def latest_event_time(self) -> float:
        """The latest `time` among the events a rule or the outcome reads (-inf: none)."""
        return self.latest_time

    # -- rule instances ----------------------------------------------------------------

    def _locate(self, book: RuleBook, time: float, event_id: str, region: str | None) -> None:
        """The nation is where the journey was first referred or reported."""
        source = self.nation_source
        if source is not None and (source[0], source[1]) <= (time, event_id):
            return
        before = self.nation
        self.nation_source = (time, event_id, region)
        if self.nation != before:
            self._restart_expectations(book)  # working-day deadlines move with the nation

    def _restart_expectations(self, book: RuleBook) -> None:
        for rule in book.rules:
            if rule.kind != "expectation" or rule.after is None:
                continue
            self.instances.pop(rule.id, None)
            for event_type in rule.after.event_types:
                for time, _, start_id, data in self.held.get(event_type, ()):
                    if matches(rule.after, event_type, data):
                        self._start(book, rule, start_id, time, data)

    def _start(
        self, book: RuleBook, rule: Rule, start_id: str, time: float, data: Mapping[str, Any]
    ) -> None:
        instance: Instance
        if rule.kind == "expectation":
            assert rule.within is not None
            due = rule.within.due(_dt(time), self.nation or nation_of(None)).timestamp()
            instance = Expectation(time, due)
        else:
            keys = [data.get(f) for f in rule.correlate]
            instance = Trigger(time, keys, [False] * len(rule.when.seen_before))
        self.instances.setdefault(rule.id, {})[start_id] = instance
        self._dirty = True
        window = book.windows[rule.id]
        for event_type in book.reads[rule.id]:
            held = self.held.get(event_type, ())
            # An expectation reads only events from its start on: held events are in time
            # order, so the earlier ones are skipped unread.
            first = bisect_left(held, time, key=_time_of) if rule.kind == "expectation" else 0
            for index in range(first, len(held)):
                other_time, recorded, other_id, fields = held[index]
                if other_id != start_id:
                    instance.fold(rule, other_id, event_type, other_time, recorded, fields, window)

    # -- publishing --------------------------------------------------------------------

    def _publish(self, book: RuleBook, outcome_may_change: bool) -> Changes:
        changes = Changes()
        if self._dirty or self.now >= self._wake:
            self.remember_outcome()
            self._recheck(book, changes)
        if self.described and (changes.dropoffs or outcome_may_change or self._outcome is None):
            self.renew_outcome(changes)
        return changes

    def _recheck(self, book: RuleBook, changes: Changes) -> None:
        """Re-check the instances folded into or due by now, in the order they started."""
        now, wake, settled = self.now, NEVER, []
        for rule_id, by_start in self.instances.items():
            rule = book.by_id[rule_id]
            for start_id, instance in by_start.items():
                due = instance.dirty or instance.wake <= now
                if due and self._check(rule, start_id, instance, changes):
                    settled.append((rule_id, start_id))
                    continue
                wake = min(wake, instance.wake)
        for rule_id, start_id in settled:
            # Met in time and known by the deadline: nothing can undo that (folds only
            # add evidence), so the instance is dropped to keep the state small.
            del self.instances[rule_id][start_id]
        self._wake, self._dirty = wake, False

    def _check(self, rule: Rule, start_id: str, instance: Instance, changes: Changes) -> bool:
        """Publish what changed in one instance's verdict; whether it is settled for good."""
        now = self.now
        instance.dirty = False
        instance.wake = instance.next_change(now)
        verdict = instance.verdict(rule, now)
        before = self.published.get((rule.id, start_id))
        if before is None and verdict is None:
            return isinstance(instance, Expectation) and instance.in_time
        changes.dropoffs += self.transitions(rule, start_id, before, verdict)
        return False

    # -- persistence -------------------------------------------------------------------

    def dumps(self) -> bytes:
        if self._base is None and self.latest_time != NO_TIME:
            self._base, self._held_encoded = int(self.latest_time), {}
        base = self._base or 0
        out = codec.Writer(self.seen, base)
        encoded = self._held_encoded
        for event_type, held in self.held.items():
            if event_type not in encoded:
                encoded[event_type] = held_out(held, out)
        nation = self.nation_source
        document = [
            self.journey_id,
            self.partition,
            base,
            None if self.now == NO_TIME else out.time(self.now),
            None if self.latest_time == NO_TIME else out.time(self.latest_time),
            None if nation is None else [out.time(nation[0]), out.id(nation[1]), nation[2]],
            self.progress.encode(out),
            {short_type(t): held for t, held in encoded.items()},
            {
                rule_id: [[out.id(start_id), *i.encode(out)] for start_id, i in by_start.items()]
                for rule_id, by_start in self.instances.items()
                if by_start
            },
            self.encode_published(out),
            [int(self.described), self.outcome_seq],
        ]
        return codec.pack(document, self.seen)

    @classmethod
    def loads(cls, raw: bytes) -> JourneyState:
        document, seen = codec.unpack(raw)
        journey_id, partition, base, now, latest, nation, progress, held, instances = document[:9]
        published, (described, outcome_seq) = document[9:]
        read = codec.Reader(list(seen.positions), base)
        state = cls(journey_id)
        state.seen, state.partition = seen, partition
        state._base = None if latest is None else base
        state.now = NO_TIME if now is None else read.time(now)
        state.latest_time = NO_TIME if latest is None else read.time(latest)
        if nation is not None:
            state.nation_source = (read.time(nation[0]), read.id(nation[1]), nation[2])
        state.progress = OutcomeFold.decode(progress, read)
        state.held = {long_type(t): held_in(stored, read) for t, stored in held.items()}
        state.decode_published(published, read, bool(described), outcome_seq)
        for rule_id, encoded in instances.items():
            kind = Expectation if _is_expectation(encoded) else Trigger
            state.instances[rule_id] = {read.id(e[0]): kind.decode(e[1:], read) for e in encoded}
        state._settle_agenda()
        return state

    def _settle_agenda(self) -> None:
        wake = NEVER
        for by_start in self.instances.values():
            for instance in by_start.values():
                instance.dirty = False
                instance.wake = instance.next_change(self.now)
                wake = min(wake, instance.wake)
        self._wake = wake


def _is_expectation(encoded: list[list[Any]]) -> bool:
    # [start id, *Expectation.encode()] has 5 entries, a Trigger's has 9
    return bool(encoded) and len(encoded[0]) == 5
