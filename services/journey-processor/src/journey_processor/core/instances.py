"""Rule instances: a rule plus the event that started it, and the small fold it keeps.

Folds are min/max/or over the events folded in, so an instance is the same whatever
order its events came in. An instance's verdict (a flag open, resolved, or none) is a
function of its fold and the clock; `next_change` says when the clock alone could next
change it, which is the journey's agenda: a tick re-checks only the instances due by
then, and an event only the instances it was folded into.

Times are float seconds since the epoch (UTC); event ids are strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from journey_processor.core.codec import Reader, Writer
from journey_processor.core.rules.catalogue import Match, Rule

NEVER = float("inf")


def matches(match: Match, event_type: str, data: Mapping[str, Any]) -> bool:
    if event_type not in match.event_types:
        return False
    return not match.where or all(data.get(k) == v for k, v in match.where.items())


def _any(found: tuple[Match, ...], event_type: str, data: Mapping[str, Any]) -> bool:
    return any(matches(m, event_type, data) for m in found)


@dataclass(frozen=True)
class Verdict:
    """What one rule instance says as of now: a flag open or resolved (None: no flag)."""

    due: float
    resolved_at: float | None
    resolution: str | None
    resolved_by: str | None


class Expectation:
    """After the start event, the awaited one within the rule's duration."""

    __slots__ = ("answer", "dirty", "due", "in_time", "start", "wake")

    def __init__(self, start: float, due: float) -> None:
        self.start, self.due = start, due
        self.in_time = False  # met or called off, and known by the deadline
        self.answer: tuple[float, str, str] | None = None  # earliest (recorded, id, why)
        self.wake = NEVER  # when the clock alone could next change the verdict
        self.dirty = True  # folded into since the verdict was last checked

    def fold(
        self,
        rule: Rule,
        event_id: str,
        event_type: str,
        time: float,
        recorded: float,
        data: Mapping[str, Any],
        window: float,
    ) -> None:
        if time < self.start:
            return
        due = self.due
        answers = []
        if _any(rule.expect, event_type, data):
            answers.append("met_in_time_recorded_late" if time <= due else "arrived_late")
        if rule.unless and _any(rule.unless, event_type, data):
            answers.append("cancelled")
        if time <= due and recorded <= due and answers and not self.in_time:
            self.in_time = self.dirty = True
        for why in answers:
            candidate = (recorded, event_id, why)
            if self.answer is None or candidate < self.answer:
                self.answer, self.dirty = candidate, True

    def verdict(self, rule: Rule, now: float) -> Verdict | None:
        if self.in_time or now < self.due:
            return None
        answer = self.answer
        if answer is not None and answer[0] <= now:
            return Verdict(self.due, max(answer[0], self.due), answer[2], answer[1])
        return Verdict(self.due, None, None, None)

    def next_change(self, now: float) -> float:
        if self.in_time:
            return NEVER
        if now < self.due:
            return self.due
        if self.answer is not None and self.answer[0] > now:
            return self.answer[0]
        return NEVER

    def encode(self, out: Writer) -> list[Any]:
        answer, found = self.answer, None
        if answer is not None:
            found = [out.time(answer[0]), out.id(answer[1]), out.word(answer[2])]
        return [out.time(self.start), out.time(self.due), int(self.in_time), found]

    @classmethod
    def decode(cls, raw: list[Any], read: Reader) -> Expectation:
        start, due, in_time, answer = raw
        instance = cls(read.time(start), read.time(due))
        instance.in_time = bool(in_time)
        if answer is not None:
            why = read.word(answer[2])
            assert why is not None
            instance.answer = (read.time(answer[0]), read.id(answer[1]), why)
        return instance


class Trigger:
    """An immediate rule's raising event, its conditions over earlier events, and the
    earliest event that clears it."""

    __slots__ = (
        "blocked",
        "clear",
        "dirty",
        "keys",
        "latest",
        "recent",
        "seen",
        "since",
        "start",
        "wake",
    )

    def __init__(self, start: float, keys: list[Any], seen: list[bool]) -> None:
        self.start = start
        self.keys = keys  # the correlated fields' values, in rule.correlate order
        self.seen = seen  # which seen_before matchers have matched
        self.blocked = False  # a not_seen_before matcher has matched
        # the latest decision before, by (time, recorded, id), and whether it is excluded
        self.latest: tuple[float, float, str, bool] | None = None
        self.recent: float | None = None  # latest seen_within_before match in the window
        self.since: float | None = None  # latest none_since match
        self.clear: tuple[float, str] | None = None  # earliest clearing (time, id)
        self.wake = NEVER
        self.dirty = True

    def fold(
        self,
        rule: Rule,
        event_id: str,
        event_type: str,
        time: float,
        recorded: float,
        data: Mapping[str, Any],
        window: float,
    ) -> None:
        start = self.start
        clearing = rule.cleared_by
        if (
            clearing is not None
            and time >= start
            and matches(clearing, event_type, data)
            and all(data.get(f) == v for f, v in zip(rule.correlate, self.keys, strict=True))
            and (self.clear is None or (time, event_id) < self.clear)
        ):
            self.clear, self.dirty = (time, event_id), True
        if time > start:
            return
        when = rule.when
        for i, match in enumerate(when.seen_before):
            if not self.seen[i] and matches(match, event_type, data):
                self.seen[i] = self.dirty = True
        if not self.blocked and _any(when.not_seen_before, event_type, data):
            self.blocked = self.dirty = True
        if when.latest_among and _any(when.latest_among, event_type, data):
            where = (when.latest_not_where or {}).items()
            excluded = all(data.get(k) == v for k, v in where)
            if self.latest is None or (time, recorded, event_id) > self.latest[:3]:
                self.latest, self.dirty = (time, recorded, event_id, excluded), True
        recent = when.seen_within_before
        if (
            recent is not None
            and (self.recent is None or time > self.recent)
            and time >= start - window
            and matches(recent, event_type, data)
        ):
            self.recent, self.dirty = time, True
        if (self.since is None or time > self.since) and _any(when.none_since, event_type, data):
            self.since, self.dirty = time, True

    def holds(self, rule: Rule) -> bool:
        latest = self.latest
        if not all(self.seen) or self.blocked or (latest is not None and latest[3]):
            return False
        if rule.when.seen_within_before is None:
            return True
        # A match in the window with no none_since at or after it (ties block: "since").
        return self.recent is not None and (self.since is None or self.recent > self.since)

    def verdict(self, rule: Rule, now: float) -> Verdict | None:
        if self.start > now or not self.holds(rule):
            return None
        clear = self.clear
        if clear is not None and clear[0] <= now:
            return Verdict(self.start, clear[0], "cleared", clear[1])
        return Verdict(self.start, None, None, None)

    def next_change(self, now: float) -> float:
        if now < self.start:
            return self.start
        if self.clear is not None and self.clear[0] > now:
            return self.clear[0]
        return NEVER

    def encode(self, out: Writer) -> list[Any]:
        latest, clear, before = self.latest, self.clear, None
        if latest is not None:
            time, recorded, event_id, excluded = latest
            before = [out.time(time), out.recorded(time, recorded), out.id(event_id), int(excluded)]
        return [
            out.time(self.start),
            self.keys,
            [int(s) for s in self.seen],
            int(self.blocked),
            before,
            out.maybe(self.recent),
            out.maybe(self.since),
            None if clear is None else [out.time(clear[0]), out.id(clear[1])],
        ]

    @classmethod
    def decode(cls, raw: list[Any], read: Reader) -> Trigger:
        start, keys, seen, blocked, latest, recent, since, clear = raw
        instance = cls(read.time(start), keys, [bool(s) for s in seen])
        instance.blocked = bool(blocked)
        if latest is not None:
            time = read.time(latest[0])
            recorded = read.recorded(time, latest[1])
            instance.latest = (time, recorded, read.id(latest[2]), bool(latest[3]))
        instance.recent, instance.since = read.maybe(recent), read.maybe(since)
        instance.clear = None if clear is None else (read.time(clear[0]), read.id(clear[1]))
        return instance


Instance = Expectation | Trigger
