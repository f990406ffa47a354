"""The catalogue indexed for the stream processor: which rules an event type concerns.

Every arriving event is folded only into the rule instances it can change, so the
processor looks rules up by event type instead of scanning the whole catalogue. A journey
holds on to an event only if a rule instance started later may need to fold it in (see
`held_fields`), and then only the fields such a fold reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from journey_processor.core.outcomes import OUTCOME_EVENT_TYPES
from journey_processor.core.rules.catalogue import Match, Rule


def matches_of(rule: Rule) -> list[Match]:
    """Every matcher a rule uses, whatever its role."""
    found: list[Match] = [*rule.expect, *rule.unless]
    for optional in (rule.after, rule.raised_by, rule.cleared_by):
        if optional is not None:
            found.append(optional)
    when = rule.when
    found += [*when.seen_before, *when.not_seen_before, *when.none_since, *when.latest_among]
    if when.seen_within_before is not None:
        found.append(when.seen_within_before)
    return found


def folded_matches(rule: Rule) -> list[Match]:
    """The matchers an instance of the rule folds other events with (not its starter)."""
    found: list[Match] = [*rule.expect, *rule.unless]
    if rule.cleared_by is not None:
        found.append(rule.cleared_by)
    when = rule.when
    found += [*when.seen_before, *when.not_seen_before, *when.none_since, *when.latest_among]
    if when.seen_within_before is not None:
        found.append(when.seen_within_before)
    return found


def _held_fields(rules: Iterable[Rule]) -> dict[str, tuple[str, ...]]:
    """Event type -> the fields kept when a journey holds such an event.

    Held: what a rule instance started later folds in, and the events that start
    expectations (they start again when the journey's nation, so its bank holidays, turns
    out different). Kept: the fields those matchers, correlations and conditions read.
    """
    fields: dict[str, set[str]] = {}
    for rule in rules:
        roles = folded_matches(rule) + ([rule.after] if rule.after is not None else [])
        for match in roles:
            for event_type in match.event_types:
                fields.setdefault(event_type, set()).update(match.where)
        for event_type in rule.cleared_by.event_types if rule.cleared_by else ():
            fields[event_type].update(rule.correlate)
        for match in rule.when.latest_among:
            for event_type in match.event_types:
                fields[event_type].update(rule.when.latest_not_where or {})
    return {event_type: tuple(sorted(kept)) for event_type, kept in fields.items()}


def _window(rule: Rule) -> float:
    within = rule.when.seen_within
    if within is None:
        return 0.0
    return timedelta(days=within.days, hours=within.hours).total_seconds()


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    # event type -> the rules whose instances such an event may start or change
    by_type: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    by_id: Mapping[str, Rule] = field(default_factory=dict)
    # Event types a rule or the outcome reads: a journey's outcome exists once one came.
    held_types: frozenset[str] = frozenset()
    # Event types a journey holds on to, with the fields it keeps of them.
    held_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # rule id -> the held event types a newly started instance folds over
    reads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # rule id -> how far back `seen_within_before` looks, in seconds
    windows: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> RuleBook:
        rules = tuple(rules)
        by_type: dict[str, list[Rule]] = {}
        for rule in rules:
            for match in matches_of(rule):
                for event_type in match.event_types:
                    concerned = by_type.setdefault(event_type, [])
                    if rule not in concerned:
                        concerned.append(rule)
        reads = {
            rule.id: tuple(dict.fromkeys(t for m in folded_matches(rule) for t in m.event_types))
            for rule in rules
        }
        return cls(
            rules,
            {t: tuple(r) for t, r in by_type.items()},
            {rule.id: rule for rule in rules},
            frozenset(by_type) | OUTCOME_EVENT_TYPES,
            _held_fields(rules),
            reads,
            {rule.id: _window(rule) for rule in rules},
        )

    def concerned_by(self, event_type: str) -> tuple[Rule, ...]:
        return self.by_type.get(event_type, ())
