"""What the drop-off tables are by construction, read from the journey processor's rules
catalogue (`journey_processor/core/rules/catalogue.yaml`, its one home).

A rule that nothing resolves (an immediate rule with no clearing event, such as "adult
declined referral", raised by a Duty to Notify report) has no resolved flags, ever: its
resolved count is a structural zero, not a small number, and is published as 0. Every
expectation rule can resolve (the awaited event arrives late, or one that calls it off),
and so can an immediate rule with a `cleared_by` event. A retraction is not a resolution:
a retracted flag was never a drop-off and no table counts it.

Each rule belongs to one stage, so a stage's flags are the sum of its rules' flags: the
by-rule and by-stage tables, served together, are one table to disclosure control.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from journey_platform.contracts import Contracts
from journey_processor.core.rules.catalogue import Rule, load


@dataclass(frozen=True)
class RuleStructure:
    """Per rule id: its stage, and whether anything can resolve its flags."""

    stages: Mapping[str, str]
    resolvable: frozenset[str]

    @classmethod
    def of(cls, rules: Mapping[str, Rule]) -> RuleStructure:
        return cls(
            stages={rule_id: str(rule.stage) for rule_id, rule in rules.items()},
            resolvable=frozenset(
                rule_id
                for rule_id, rule in rules.items()
                if rule.kind == "expectation" or rule.cleared_by is not None
            ),
        )

    @classmethod
    def load(cls, contracts: Contracts) -> RuleStructure:
        """From the catalogue the processor runs (deployments tune `within`, never kinds)."""
        return cls.of(load(contracts))

    def never_resolved(self, by: str, group: str) -> bool:
        """Whether the flags of this group of a drop-off table can never be resolved."""
        if by == "rule":
            return group in self.stages and group not in self.resolvable
        if by == "stage":
            rules = [rule_id for rule_id, stage in self.stages.items() if stage == group]
            return bool(rules) and not any(rule_id in self.resolvable for rule_id in rules)
        return False


# Tests and tools that build tables without a catalogue: no structural zeros known.
UNKNOWN_STRUCTURE = RuleStructure(stages={}, resolvable=frozenset())
