"""Every table the API serves, side by side: nothing hidden comes back by subtraction.

An analyst holds the funnel, the drop-offs by rule, stage, region and exploitation type,
and the three waits for one period, and knows how they fit together: a row's flags are
its open plus its resolved flags, a stage's flags are its rules' flags, every drop-off
table has the same total row, a wait's journeys at risk and events are funnel steps, and
a rule that nothing resolves has no resolved flags. A published median's n band is a
bound too. The attacker here writes those facts down independently of the code under
test and works them with bounds, as far as they go; no hidden cell may end up with one
possible value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain import dropoffs
from analytics.domain.dropoffs import FlagFact
from analytics.domain.funnel import STEPS
from analytics.domain.period import Period
from analytics.domain.served import Answers, Measured, publish
from analytics.domain.structure import RuleStructure
from analytics.domain.survival import MEASURES, Fitted

# Four rules in two stages; re-referral, like the real one, is never resolved.
STAGES = {
    "reasonable-grounds-overdue": "identification",
    "negative-decision-not-reconsidered": "identification",
    "missing-episode": "support",
    "re-referral": "prevention",
}
STRUCTURE = RuleStructure(STAGES, frozenset(STAGES) - {"re-referral"})
REGIONS = ("london", "wales", "north_east")
TYPES = ("labour", "sexual", "criminal")
FLAG_COUNTS = ("raised", "open", "resolved")
Cell = tuple[Any, ...]


@dataclass(frozen=True)
class Journey:
    region: str
    types: frozenset[str]
    reached: int  # how many funnel steps it reached, in order (nested, as the funnel is)


@dataclass(frozen=True)
class Flag:
    journey: int
    rule: str
    resolved: bool


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[Journey], list[Flag], int]:
    journeys = draw(
        st.lists(
            st.builds(
                Journey,
                st.sampled_from(REGIONS),
                st.frozensets(st.sampled_from(TYPES), min_size=1, max_size=2),
                st.integers(1, len(STEPS)),
            ),
            min_size=1,
            max_size=60,
        )
    )
    flags = draw(
        st.lists(
            st.builds(
                Flag,
                st.integers(0, len(journeys) - 1),
                st.sampled_from(sorted(STAGES)),
                st.booleans(),
            ),
            max_size=80,
        )
    )
    flags = [Flag(f.journey, f.rule, f.resolved and f.rule != "re-referral") for f in flags]
    return journeys, flags, draw(st.integers(2, 12))


def measured(journeys: list[Journey], flags: list[Flag]) -> Measured:
    def facts(group_of: Any) -> list[FlagFact]:
        return [
            FlagFact(
                f"f{i}",
                f"j{f.journey}",
                group,
                "resolved" if f.resolved else "open",
                float(i % 7) if f.resolved else None,
            )
            for i, f in enumerate(flags)
            for group in group_of(f)
        ]

    by = {
        "rule": facts(lambda f: [f.rule]),
        "stage": facts(lambda f: [STAGES[f.rule]]),
        "region": facts(lambda f: [journeys[f.journey].region]),
        "exploitation_type": facts(lambda f: sorted(journeys[f.journey].types)),
    }
    steps = {
        step: sum(1 for j in journeys if j.reached > n) for n, (step, _, _) in enumerate(STEPS)
    }
    order = [step for step, _, _ in STEPS]
    waits = {}
    for name, m in MEASURES.items():
        start = steps[m.start]
        end = steps[m.end] if m.end in steps and order.index(m.end) > order.index(m.start) else 0
        waits[name] = Fitted(start, min(end, start), 3.0 if end * 2 >= start else None, [])
    return Measured(
        steps=steps,
        tallies={name: dropoffs.tabulate(f) for name, f in by.items()},
        journeys_in_period=len(journeys),
        rule_stages={rule: STAGES[rule] for rule in {f.rule for f in flags}},
        waits=waits,
    )


def published_cells(answers: Answers) -> dict[Cell, int | None]:
    cells: dict[Cell, int | None] = {
        ("step", s["step"]): s["count"] for s in answers.funnel["steps"]
    }
    for by, answer in answers.dropoffs.items():
        cells[("in_period", by)] = answer["journeys_in_period"]
        for row in [*answer["rows"], answer["total"]]:
            for count in (*FLAG_COUNTS, "journeys"):
                cells[(by, row["group"], count)] = row[count]
    for name, wait in answers.waits.items():
        for field in ("at_risk", "events", "censored"):
            cells[("wait", name, field)] = wait[field]
    return cells


def true_relations(answers: Answers, measured_: Measured) -> Iterator[tuple[Cell, list[Cell]]]:
    """What an analyst knows adds up: (total, parts); one part means equal."""
    for by, answer in answers.dropoffs.items():
        groups = [row["group"] for row in answer["rows"]]
        for group in [*groups, "all"]:
            yield (by, group, "raised"), [(by, group, "open"), (by, group, "resolved")]
        for count in (*FLAG_COUNTS, "journeys"):
            yield ("rule", "all", count), [(by, "all", count)]
            # A table with no rows says there were no flags at all: not about anyone, and
            # not a cell to protect, so the empty sum is left out.
            exclusive = by != "exploitation_type" and (count != "journeys" or by == "region")
            if exclusive and groups:
                yield (by, "all", count), [(by, g, count) for g in groups]
        yield ("in_period", "rule"), [("in_period", by)]
    yield ("in_period", "rule"), [("step", "referred")]
    for stage in set(STAGES.values()):
        rules = [r for r, s in STAGES.items() if s == stage and r in measured_.rule_stages]
        if rules:
            for count in FLAG_COUNTS:
                yield ("stage", stage, count), [("rule", r, count) for r in rules]
    for name, m in MEASURES.items():
        yield ("wait", name, "at_risk"), [("wait", name, "events"), ("wait", name, "censored")]
        yield ("wait", name, "at_risk"), [("step", m.start)]
        if m.end in measured_.steps and measured_.waits[name].events == measured_.steps[m.end]:
            yield ("wait", name, "events"), [("step", m.end)]


def attack(
    cells: Mapping[Cell, int | None],
    relations: list[tuple[Cell, list[Cell]]],
    floors: Mapping[Cell, tuple[int, int | None]],
) -> dict[Cell, tuple[int, float]]:
    """Bounds on every cell from the published ones, the relations and the floors."""
    inf = float("inf")
    bounds: dict[Cell, tuple[int, float]] = {}
    for k, v in cells.items():
        floor, ceiling = floors.get(k, (0, None))
        bounds[k] = (v, v) if v is not None else (floor, inf if ceiling is None else ceiling)
    for _ in range(50):
        before = dict(bounds)
        for total, parts in relations:
            members = [bounds[p] for p in parts]
            t_low, t_high = bounds[total]
            bounds[total] = (
                max(t_low, sum(m[0] for m in members)),
                min(t_high, sum(m[1] for m in members)),
            )
            for i, part in enumerate(parts):
                others_low = sum(m[0] for j, m in enumerate(members) if j != i)
                others_high = sum(m[1] for j, m in enumerate(members) if j != i)
                low, high = bounds[part]
                bounds[part] = (
                    int(max(low, t_low - others_high)) if others_high != inf else low,
                    min(high, t_high - others_low),
                )
        if bounds == before:
            break
    return bounds


def median_floors(answers: Answers) -> dict[Cell, tuple[int, int | None]]:
    floors: dict[Cell, tuple[int, int | None]] = {}
    for by, answer in answers.dropoffs.items():
        for row in [*answer["rows"], answer["total"]]:
            if row["median_days_to_resolution"] is not None:
                floors[(by, row["group"], "resolved")] = (row["median_n_low"], row["median_n_high"])
    return floors


@settings(max_examples=300, deadline=None)
@given(cohorts())
def test_nothing_hidden_can_be_recovered_across_the_tables_served_together(
    cohort: tuple[list[Journey], list[Flag], int],
) -> None:
    journeys, flags, threshold = cohort
    raw = measured(journeys, flags)
    answers = publish(raw, structure=STRUCTURE, period=Period(), threshold=threshold)
    cells = published_cells(answers)
    relations = list(true_relations(answers, raw))
    bounds = attack(cells, relations, median_floors(answers))
    recovered = {
        cell: bounds[cell][0]
        for cell, value in cells.items()
        if value is None and bounds[cell][0] == bounds[cell][1]
    }
    assert recovered == {}
    # Below the threshold, only zeros by construction are published: the structural
    # zeros and what follows from them (a total of them, a part of one).
    for answer in answers.dropoffs.values():
        for row in [*answer["rows"], answer["total"]]:
            for count in (*FLAG_COUNTS, "journeys"):
                value = row[count]
                assert value is None or value >= threshold or value == 0
