"""The rules catalogue as typed, checked data.

Loading fails with a message naming the rule and the field when the catalogue refers to
an event type the contracts do not have, a field the event does not carry, or a value
outside the field's vocabulary: an analyst's typo must not silently disable a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from journey_platform.calendar import add_working_days
from journey_platform.contracts import Contracts

CATALOGUE = Path(__file__).with_name("catalogue.yaml")


class CatalogueError(ValueError):
    """The catalogue (or a deployment's override) does not make sense."""


class Stage(StrEnum):
    IDENTIFICATION = "identification"
    SUPPORT = "support"
    CRIMINAL_JUSTICE = "criminal_justice"
    PREVENTION = "prevention"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Match:
    """Events of these types whose fields have these values."""

    event_types: tuple[str, ...]
    where: Mapping[str, Any]

    def matches(self, event_type: str, data: Mapping[str, Any]) -> bool:
        return event_type in self.event_types and all(
            data.get(field) == value for field, value in self.where.items()
        )


@dataclass(frozen=True)
class Within:
    hours: int = 0
    days: int = 0
    working_days: int = 0

    def due(self, start: datetime, nation: str) -> datetime:
        due = start + timedelta(hours=self.hours, days=self.days)
        return add_working_days(due, self.working_days, nation)


@dataclass(frozen=True)
class Conditions:
    """What must hold, among the journey's earlier events, for an immediate rule to fire."""

    seen_before: tuple[Match, ...] = ()
    not_seen_before: tuple[Match, ...] = ()
    # A matching event within this long before, with none of `none_since` after it.
    seen_within_before: Match | None = None
    seen_within: Within | None = None
    none_since: tuple[Match, ...] = ()
    # The latest of `among` does not have these field values.
    latest_among: tuple[Match, ...] = ()
    latest_not_where: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    stage: Stage
    severity: Severity
    kind: str  # "expectation" or "immediate"
    rationale: str
    source: str
    # expectation
    after: Match | None = None
    expect: tuple[Match, ...] = ()
    within: Within | None = None
    unless: tuple[Match, ...] = ()
    # immediate
    raised_by: Match | None = None
    cleared_by: Match | None = None
    correlate: tuple[str, ...] = ()
    when: Conditions = Conditions()


def _match(raw: Mapping[str, Any], where: str, contracts: Contracts) -> Match:
    types = raw.get("event")
    event_types = tuple(types) if isinstance(types, list) else (types,)
    conditions = dict(raw.get("where", {}))
    for event_type in event_types:
        if not isinstance(event_type, str) or not contracts.knows(event_type):
            raise CatalogueError(f"{where}: unknown event type {event_type!r}")
        properties = contracts.schema(event_type, contracts.latest_major(event_type)).document[
            "properties"
        ]
        for field, value in conditions.items():
            if field not in properties:
                raise CatalogueError(f"{where}: {event_type} has no field {field!r}")
            allowed = _allowed_values(contracts, properties[field])
            if allowed is not None and value not in allowed:
                raise CatalogueError(f"{where}: {value!r} is not a value of {event_type}.{field}")
    return Match(event_types, conditions)


def _allowed_values(contracts: Contracts, schema: Mapping[str, Any]) -> list[Any] | None:
    if "$ref" in schema:
        schema = contracts.resolve(schema["$ref"])
    if "enum" in schema:
        return list(schema["enum"])
    if schema.get("type") == "boolean":
        return [True, False]
    return None


def _conditions(raw: Mapping[str, Any], where: str, contracts: Contracts) -> Conditions:
    known = {"seen_before", "not_seen_before", "seen_within_before", "latest_before_not"}
    if unknown := set(raw) - known:
        raise CatalogueError(f"{where}: unknown conditions {sorted(unknown)}")

    def matches(items: Any, at: str) -> tuple[Match, ...]:
        return tuple(_match(m, f"{where}.{at}", contracts) for m in items or ())

    recent = raw.get("seen_within_before") or {}
    latest = raw.get("latest_before_not") or {}
    if recent and "working_days" in recent.get("within", {}):
        raise CatalogueError(f"{where}.seen_within_before: use days or hours, not working_days")
    return Conditions(
        seen_before=matches(raw.get("seen_before"), "seen_before"),
        not_seen_before=matches(raw.get("not_seen_before"), "not_seen_before"),
        seen_within_before=(
            _match(recent["match"], f"{where}.seen_within_before", contracts) if recent else None
        ),
        seen_within=_within(recent["within"], f"{where}.seen_within_before") if recent else None,
        none_since=matches(recent.get("none_since"), "seen_within_before.none_since"),
        latest_among=matches(latest.get("among"), "latest_before_not"),
        latest_not_where=dict(latest["where"]) if latest else None,
    )


def _within(raw: Mapping[str, Any], where: str) -> Within:
    unknown = set(raw) - {"hours", "days", "working_days"}
    if unknown or not raw or any(not isinstance(v, int) or v <= 0 for v in raw.values()):
        raise CatalogueError(f"{where}: within takes positive hours, days or working_days")
    return Within(**raw)


def _rule(raw: Mapping[str, Any], contracts: Contracts) -> Rule:
    rule_id = raw.get("id", "?")
    where = f"rule {rule_id}"
    try:
        rule = Rule(
            id=rule_id,
            title=raw["title"],
            stage=Stage(raw["stage"]),
            severity=Severity(raw["severity"]),
            kind=raw["kind"],
            rationale=raw["rationale"],
            source=raw["source"],
        )
    except (KeyError, ValueError) as error:  # a missing field or an unknown stage/severity
        raise CatalogueError(f"{where}: {error}") from None
    if rule.kind == "expectation":
        return replace(
            rule,
            after=_match(raw["after"], f"{where}.after", contracts),
            expect=tuple(_match(m, f"{where}.expect", contracts) for m in raw["expect"]),
            within=_within(raw["within"], f"{where}.within"),
            unless=tuple(_match(m, f"{where}.unless", contracts) for m in raw.get("unless", [])),
        )
    if rule.kind == "immediate":
        raised_by = _match(raw["raised_by"], f"{where}.raised_by", contracts)
        cleared_by = (
            _match(raw["cleared_by"], f"{where}.cleared_by", contracts)
            if "cleared_by" in raw
            else None
        )
        correlate = tuple(raw.get("correlate", ()))
        for field in correlate:
            for match in (raised_by, cleared_by):
                for event_type in match.event_types if match else ():
                    document = contracts.schema(
                        event_type, contracts.latest_major(event_type)
                    ).document
                    if field not in document["properties"]:
                        raise CatalogueError(f"{where}: {event_type} has no field {field!r}")
        return replace(
            rule,
            raised_by=raised_by,
            cleared_by=cleared_by,
            correlate=correlate,
            when=_conditions(raw.get("when", {}), f"{where}.when", contracts),
        )
    raise CatalogueError(f"{where}: kind must be expectation or immediate")


def load(
    contracts: Contracts,
    *,
    path: Path = CATALOGUE,
    overrides: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Rule]:
    """The catalogue, with a deployment's `within` overrides applied by rule id."""
    document = yaml.safe_load(path.read_text())
    rules = [_rule(raw, contracts) for raw in document["rules"]]
    by_id = {rule.id: rule for rule in rules}
    if len(by_id) != len(rules):
        raise CatalogueError("rule ids must be unique")
    for rule_id, within in (overrides or {}).items():
        rule = by_id.get(rule_id)
        if rule is None or rule.kind != "expectation":
            raise CatalogueError(f"override for {rule_id!r}: no expectation rule has that id")
        by_id[rule_id] = replace(rule, within=_within(within, f"override {rule_id}"))
    return by_id
