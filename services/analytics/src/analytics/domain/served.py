"""The tables the API serves together, disclosure-controlled as one.

An analyst can put the funnel, every drop-off table and every wait side by side, and
subtract across them: a stage's flags are its rules' flags, every drop-off table has the
same total row, and a wait's journeys at risk and events are funnel steps. So one set of
cells and relations holds them all, suppression runs over it once, and each answer is
read from the result: a cell hidden in one table is hidden wherever it appears.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics.domain import dropoffs, funnel, survival
from analytics.domain.disclosure import Published, Relation
from analytics.domain.dropoffs import IN_PERIOD, Key, Tally
from analytics.domain.period import Period
from analytics.domain.structure import RuleStructure
from analytics.domain.survival import MEASURES, Fitted


@dataclass(frozen=True)
class Measured:
    """What the database says for a period, before disclosure control (read by
    analytics.adapters.served)."""

    steps: dict[str, int]
    tallies: dict[str, dict[str, Tally]]  # by dimension
    journeys_in_period: int
    rule_stages: dict[str, str]  # rule id -> stage, as the flags say
    waits: dict[str, Fitted]


@dataclass(frozen=True)
class Answers:
    funnel: dict[str, Any]
    dropoffs: dict[str, dict[str, Any]]
    waits: dict[str, dict[str, Any]]


def identical(a: Key, b: Key, cells: Mapping[Key, int]) -> list[Relation[Key]]:
    """`a` and `b` count the same journeys (when they agree): one is the other."""
    return [Relation(a, [b])] if cells.get(a) == cells.get(b) else []


def declare(
    measured: Measured, structure: RuleStructure
) -> tuple[dict[Key, int], list[Relation[Key]], set[Key]]:
    """Every cell of every table, what adds up to what across them, the structural zeros."""
    cells: dict[Key, int] = {
        **funnel.declare(measured.steps),
        IN_PERIOD: measured.journeys_in_period,
    }
    relations: list[Relation[Key]] = []
    structural: set[Key] = set()
    for by, tallies in measured.tallies.items():
        by_cells, by_relations, by_structural = dropoffs.declare(by, tallies, structure)
        cells |= by_cells
        relations += by_relations
        structural |= by_structural
    # Only where the flags bear it out (each rule in one stage): a false relation would
    # only over-protect, but a relation missed could leak.
    relations += [
        r
        for r in dropoffs.stage_relations(measured.rule_stages)
        if r.total in cells and cells[r.total] == sum(cells.get(p, 0) for p in r.parts)
    ]
    relations += identical(IN_PERIOD, funnel.key("referred"), cells)
    for name, fitted in measured.waits.items():
        chosen = MEASURES[name]
        wait_cells, wait_relations = survival.declare(chosen, fitted)
        cells |= wait_cells
        relations += wait_relations
        relations += identical(survival.key(chosen, "at_risk"), funnel.key(chosen.start), cells)
        if chosen.end in measured.steps:
            relations += identical(survival.key(chosen, "events"), funnel.key(chosen.end), cells)
    return cells, relations, structural


def publish(
    measured: Measured, *, structure: RuleStructure, period: Period, threshold: int
) -> Answers:
    """Every answer, from one disclosure control over all of them."""
    cells, relations, structural = declare(measured, structure)
    published = Published.of(cells, relations, threshold, structural)
    return Answers(
        funnel=funnel.render(published.shown, period=period, threshold=threshold),
        dropoffs={
            by: dropoffs.render(by, tallies, published, period=period, threshold=threshold)
            for by, tallies in measured.tallies.items()
        },
        waits={
            name: survival.render(
                MEASURES[name], fitted, published.shown, period=period, threshold=threshold
            )
            for name, fitted in measured.waits.items()
        },
    )
