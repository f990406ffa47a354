"""The catalogue indexed for the stream processor: which rules an event type concerns.

Every arriving event is folded only into the rule instances it can change, so the
processor looks rules up by event type instead of scanning the whole catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from journey.outcomes import OUTCOME_EVENT_TYPES, OUTCOME_FIELDS
from journey.rules.catalogue import Match, Rule


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


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    # event type -> the rules whose instances such an event may start or change
    by_type: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    # The data fields worth holding: those rules match on, correlate on, or outcomes use.
    # Everything else is dropped on arrival, which keeps the journey state small.
    kept_fields: frozenset[str] = frozenset()
    by_id: Mapping[str, Rule] = field(default_factory=dict)
    # Event types worth holding in a journey's state: those a rule or the outcome reads.
    held_types: frozenset[str] = frozenset()

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> RuleBook:
        rules = tuple(rules)
        by_type: dict[str, list[Rule]] = {}
        fields = set(OUTCOME_FIELDS)
        for rule in rules:
            fields.update(rule.correlate)
            if rule.when.latest_not_where:
                fields.update(rule.when.latest_not_where)
            for match in matches_of(rule):
                fields.update(match.where)
                for event_type in match.event_types:
                    concerned = by_type.setdefault(event_type, [])
                    if rule not in concerned:
                        concerned.append(rule)
        return cls(
            rules,
            {t: tuple(r) for t, r in by_type.items()},
            frozenset(fields),
            {rule.id: rule for rule in rules},
            frozenset(by_type) | OUTCOME_EVENT_TYPES,
        )

    def concerned_by(self, event_type: str) -> tuple[Rule, ...]:
        return self.by_type.get(event_type, ())
