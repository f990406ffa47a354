"""Drop-offs by one dimension: where journeys break down, and for whom.

Per group: flags raised (retracted flags are not drop-offs and never count), still open,
resolved, journeys flagged, and the median days from a flag falling due to its
resolution (resolved flags only). A total row and the number of journeys in the period
(for rates) come with it. Every count passes disclosure control, with secondary
suppression wherever the table's totals would let a suppressed cell be recovered; a
rule's resolved count is a structural zero where nothing can resolve it (see
analytics.domain.structure). A median over at least the threshold of resolved flags is shown
even where its resolved count is hidden, with its n as the band the published figures
allow (`median_n_low` to `median_n_high`), unless that would narrow a hidden count.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from analytics.domain.disclosure import Published, Relation, hidden_count, hidden_statistic
from analytics.domain.period import Period
from analytics.domain.structure import UNKNOWN_STRUCTURE, RuleStructure

PROFILE_DIMENSIONS = (
    "first_responder_type",
    "competent_authority",
    "region",
    "age_band",
    "nationality_group",
)
# A Literal, so that the API's OpenAPI lists the dimensions as an enum.
Dimension = Literal[
    "rule",
    "stage",
    "first_responder_type",
    "competent_authority",
    "region",
    "exploitation_type",
    "age_band",
    "nationality_group",
]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
# A flag falls in exactly one group of these, so the groups' flag counts add up to the total.
FLAG_EXCLUSIVE = frozenset(DIMENSIONS) - {"exploitation_type"}
# A journey falls in exactly one group of these (its profile has one value).
JOURNEY_EXCLUSIVE = frozenset(PROFILE_DIMENSIONS)
FLAG_COUNTS = ("raised", "open", "resolved")
COUNTS = (*FLAG_COUNTS, "journeys")
TOTAL = "all"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class FlagFact:
    """One flag (not retracted) in one group; a flag may sit in several groups of a
    dimension that is not exclusive (a journey with several exploitation types)."""

    flag_id: str
    journey_id: str
    group: str
    status: str  # open | resolved
    days_to_resolution: float | None


@dataclass(frozen=True)
class Tally:
    counts: dict[str, int]
    days: list[float]  # from due to resolution, one per resolved flag


# A cell of the drop-off tables: (dimension, group, count). The total row is the same
# flags whatever the dimension, so every table shares its cells (one key, one value).
Key = tuple[str, str, str]
IN_PERIOD: Key = ("*", "journeys_in_period", "journeys")


def key(by: str, group: str, count: str) -> Key:
    return ("*", TOTAL, count) if group == TOTAL else (by, group, count)


def label(code: str) -> str:
    """A readable label for a coded value: "missing-episode" -> "Missing episode"."""
    words = code.replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def _tally(facts: Iterable[FlagFact]) -> Tally:
    flags: dict[str, FlagFact] = {}
    for fact in facts:
        flags.setdefault(fact.flag_id, fact)
    days = [f.days_to_resolution for f in flags.values() if f.days_to_resolution is not None]
    return Tally(
        {
            "raised": len(flags),
            "open": sum(1 for f in flags.values() if f.status == "open"),
            "resolved": sum(1 for f in flags.values() if f.status != "open"),
            "journeys": len({f.journey_id for f in flags.values()}),
        },
        days,
    )


def tabulate(facts: Sequence[FlagFact]) -> dict[str, Tally]:
    """Each group's tally, and the total's (each flag once)."""
    grouped: dict[str, list[FlagFact]] = defaultdict(list)
    for fact in facts:
        grouped[fact.group].append(fact)
    return {**{g: _tally(f) for g, f in grouped.items()}, TOTAL: _tally(facts)}


def declare(
    by: str, tallies: Mapping[str, Tally], structure: RuleStructure
) -> tuple[dict[Key, int], list[Relation[Key]], set[Key]]:
    """The table's cells, what adds up to what, and its structural zeros."""
    groups = sorted(g for g in tallies if g != TOTAL)
    cells = {key(by, g, c): tallies[g].counts[c] for g in tallies for c in COUNTS}
    relations = [
        Relation(key(by, g, "raised"), [key(by, g, "open"), key(by, g, "resolved")])
        for g in tallies
    ]
    if by in FLAG_EXCLUSIVE:
        relations += [
            Relation(key(by, TOTAL, c), [key(by, g, c) for g in groups]) for c in FLAG_COUNTS
        ]
    if by in JOURNEY_EXCLUSIVE:
        relations.append(
            Relation(key(by, TOTAL, "journeys"), [key(by, g, "journeys") for g in groups])
        )
    structural = {key(by, g, "resolved") for g in groups if structure.never_resolved(by, g)}
    return cells, relations, structural


def stage_relations(rule_stages: Mapping[str, str]) -> list[Relation[Key]]:
    """A stage's flags are its rules' flags: the by-stage and by-rule tables add up."""
    rules_of: dict[str, list[str]] = defaultdict(list)
    for rule_id, stage in rule_stages.items():
        rules_of[stage].append(rule_id)
    return [
        Relation(key("stage", stage, c), [key("rule", r, c) for r in sorted(rules)])
        for stage, rules in sorted(rules_of.items())
        for c in FLAG_COUNTS
    ]


def render(
    by: str,
    tallies: Mapping[str, Tally],
    published: Published[Key],
    *,
    period: Period,
    threshold: int,
) -> dict[str, Any]:
    """The drop-offs JSON from the published cells (see `Published`)."""

    def row(group: str) -> dict[str, Any]:
        n_key = key(by, group, "resolved")
        band = published.band(n_key) if len(tallies[group].days) >= threshold else None
        median = round(statistics.median(tallies[group].days), 2) if band else None
        return {
            "group": group,
            "label": "All" if group == TOTAL else label(group),
            **{c: published.shown[key(by, group, c)] for c in COUNTS},
            "median_days_to_resolution": median,
            "median_n_low": band[0] if band else None,
            "median_n_high": band[1] if band else None,
        }

    rows = [row(g) for g in sorted(g for g in tallies if g != TOTAL)]
    # Suppressed rows last, in name order: ordering them by their true size would leak it.
    rows.sort(key=lambda r: (r["raised"] is None, -(r["raised"] or 0), r["group"]))
    return {
        "by": by,
        "period": period.json(),
        "threshold": threshold,
        "journeys_in_period": published.shown.get(IN_PERIOD),
        "rows": rows,
        "total": row(TOTAL),
        "labels": labels(threshold),
    }


def labels(threshold: int) -> dict[str, str]:
    """What each hidden field of a drop-off row says, and why it is hidden."""
    return {
        **{c: hidden_count(threshold, "flags") for c in FLAG_COUNTS},
        "journeys": hidden_count(threshold, "journeys"),
        "journeys_in_period": hidden_count(threshold, "journeys"),
        "median_days_to_resolution": hidden_statistic(threshold, "resolved flags"),
    }


def table(
    by: str,
    facts: Sequence[FlagFact],
    journeys_in_period: int,
    *,
    period: Period,
    threshold: int,
    structure: RuleStructure = UNKNOWN_STRUCTURE,
) -> dict[str, Any]:
    """One drop-off table on its own (disclosure-controlled here)."""
    tallies = tabulate(facts)
    cells, relations, structural = declare(by, tallies, structure)
    cells[IN_PERIOD] = journeys_in_period
    published = Published.of(cells, relations, threshold, structural)
    return render(by, tallies, published, period=period, threshold=threshold)
